"""Step changes seen in the data: steps a procedure stopped or started doing, and when.

They are candidate reform dates for the impact comparison (``mining.reform.impact``): a
reform team rarely knows the exact day a step was dropped, but the dossiers show it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ingest.store import EventStore
from mining.filters import LogFilter

_SQL = """
WITH ev AS ({events}),
received AS (SELECT case_id, (min(timestamp) AT TIME ZONE $tz)::DATE AS day
             FROM ev GROUP BY case_id),
per AS (SELECT activity, count(*) AS n, min(day) AS first_day, max(day) AS last_day
        FROM (SELECT DISTINCT case_id, activity FROM ev) JOIN received USING (case_id)
        GROUP BY activity)
SELECT per.*,
       (SELECT count(*) FROM received r WHERE r.day <= per.last_day) AS up_to_last,
       (SELECT count(*) FROM received r WHERE r.day > per.last_day) AS after_last,
       (SELECT count(*) FROM received r WHERE r.day >= per.first_day) AS from_first,
       (SELECT count(*) FROM received r WHERE r.day < per.first_day) AS before_first,
       (SELECT min(day) FROM received) AS store_first,
       (SELECT max(day) FROM received) AS store_last
FROM per
"""


def step_changes(
    store: EventStore, flt: LogFilter, timezone: str, margin_days: int = 30
) -> list[dict[str, Any]]:
    """Steps of ``flt.procedure`` that stopped or started being done, with the date.

    By the dossiers' local received date (their first event, as the impact cuts them): a step
    no dossier received after day D went through "stopped" on D + 1, when the store goes on at
    least ``margin_days`` after; one first seen in dossiers received on D "started" on D.
    Empty without a procedure: a change belongs to one procedure.
    """
    if not flt.procedure:
        return []
    where = ["procedure_code = $procedure"]
    params: dict[str, Any] = {"procedure": flt.procedure, "tz": timezone}
    for column, value in (("province_code", flt.province), ("commune_code", flt.commune)):
        if value:
            where.append(f"{column} = ${column}")
            params[column] = value
    events = store.scan_sql(" AND ".join(where), procedures=[flt.procedure])
    con = store.connect()
    rows = con.sql(_SQL.format(events=events), params=params).to_arrow_table().to_pylist()
    margin = timedelta(days=margin_days)
    found: list[dict[str, Any]] = []
    for r in rows:
        # A rare step can go unseen for weeks by chance: only a gap that chance explains
        # less than 1 time in 100 (share of dossiers with the step, q: (1 - q) ** dossiers
        # in the gap) counts as a change.
        gone = (1 - r["n"] / r["up_to_last"]) ** r["after_last"]
        new = (1 - r["n"] / r["from_first"]) ** r["before_first"]
        if r["last_day"] + margin < r["store_last"] and gone < 0.01:
            found.append(_change(r["activity"], "stopped", r["last_day"] + timedelta(days=1)))
        elif r["first_day"] - margin > r["store_first"] and new < 0.01:
            found.append(_change(r["activity"], "started", r["first_day"]))
    return sorted(found, key=lambda c: (c["date"], c["activity"]))


def _change(activity: str, change: str, day: date) -> dict[str, Any]:
    return {"activity": activity, "change": change, "date": day}
