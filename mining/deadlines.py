"""Per-dossier due dates and on-time status, in Vietnamese working days.

A dossier's due moment is the end of the n-th working day after its receipt day (n = the
catalog's ``deadline_working_days``; n = 0: the same day, or the next working day when
received after ``same_day_cutoff_hour``), unless the source gave a ``due_date`` attribute,
which wins. The clock stops while the dossier waits for the citizen's supplements
(``exclude_supplement_wait``): the time from each ``request_supplement`` to the citizen's
next ``submit_supplement`` is subtracted from the dossier's elapsed time.

Finished dossiers are ``early`` (effective end on a day before the due day), ``on_time``
(on the due day) or ``late``; more supplement requests than ``max_supplements_on_time``
make a dossier late whatever its dates (the national index rule). Open dossiers at
``as_of`` are ``overdue``, ``at_risk`` (elapsed share of the deadline above
``at_risk_share``) or ``within``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd

from dvcflow.settings import get_settings
from sample_logs.workdays import WorkCalendar

FINISHED_STATUSES = ("early", "on_time", "late")
OPEN_STATUSES = ("within", "at_risk", "overdue")
SUPPLEMENT_REQUEST = "request_supplement"
SUPPLEMENT_SUBMIT = "submit_supplement"


@dataclass(frozen=True)
class DeadlineRules:
    """The uncertain rules of DOMAIN.md; defaults come from settings."""

    max_supplements_on_time: int = 1
    exclude_supplement_wait: bool = True
    at_risk_share: float = 0.8
    same_day_cutoff_hour: int = 15

    @classmethod
    def from_settings(cls) -> DeadlineRules:
        s = get_settings()
        return cls(
            max_supplements_on_time=s.max_supplements_on_time,
            exclude_supplement_wait=s.exclude_supplement_wait,
            at_risk_share=s.at_risk_share,
            same_day_cutoff_hour=s.same_day_cutoff_hour,
        )


def due_days(
    received_local: pd.Series,
    deadline_days: np.ndarray | int,
    cutoff_hour: int,
    calendar: WorkCalendar,
) -> np.ndarray:
    """Due day (local date) per receipt moment, as ``WorkCalendar.add_working_days`` does:
    the receipt day (rolled to a working day) plus n working days; n = 0 moves to the next
    working day when received after the cut-off hour."""
    days = received_local.dt.tz_localize(None).to_numpy().astype("datetime64[D]")
    n = np.broadcast_to(np.asarray(deadline_days, dtype=np.int64), days.shape)
    receipt = calendar.roll_forward(days)
    late = (receipt == days) & (received_local.dt.hour.to_numpy() >= cutoff_hour)
    return calendar.offset_days(receipt, np.where(n > 0, n, late.astype(np.int64)))


def build_deadlines(
    con: duckdb.DuckDBPyConnection,
    deadline_working_days: int | Mapping[str, int] | None,
    rules: DeadlineRules | None = None,
    as_of: datetime | None = None,
) -> bool:
    """Create temp table ``deadlines`` (one row per dossier of ``cases``).

    Columns: case_id, received_at, due_at, supplement_requests, supplement_wait_s,
    finished, finished_at, elapsed_share, status (NULL when no due date is known).
    ``deadline_working_days`` is the catalog's deadline, or one per procedure code (None
    or a missing code: no catalog entry, so only a ``due_date`` attribute gives a due date);
    ``as_of`` (default: the log's last event) is "now" for open dossiers.
    Returns whether any dossier has a due date.
    """
    rules = rules or DeadlineRules.from_settings()
    tz = ZoneInfo(get_settings().timezone)
    if as_of is None:
        as_of = con.execute("SELECT max(timestamp) FROM log").fetchone()[0]
    _build_supplement_waits(con, as_of)
    df = con.execute(
        """
        SELECT c.case_id, c.procedure_code, c.first_ts AS received_at,
               c.last_ts AS finished_at, c.finished,
               c.due_attr, coalesce(w.requests, 0) AS supplement_requests,
               coalesce(w.wait_s, 0.0) AS supplement_wait_s
        FROM cases c LEFT JOIN _supplement_waits w USING (case_id)
        """
    ).df()
    received = pd.to_datetime(df["received_at"], utc=True).dt.tz_convert(tz)
    due_at = pd.Series(pd.NaT, index=df.index, dtype=f"datetime64[ns, {tz.key}]")
    if isinstance(deadline_working_days, Mapping):
        n = df["procedure_code"].map(dict(deadline_working_days))
    else:
        n = pd.Series(deadline_working_days, index=df.index, dtype="float64")
    known = n.notna().to_numpy()
    cal = WorkCalendar(cutoff_hour=rules.same_day_cutoff_hour)
    if known.any():
        day = due_days(
            received[known], n[known].to_numpy().astype(np.int64), rules.same_day_cutoff_hour, cal
        )
        # due moment = end of the due day, local time
        end_of_day = pd.to_datetime(day + np.timedelta64(86399, "s")).tz_localize(tz)
        due_at[known] = end_of_day
    given = pd.to_datetime(df["due_attr"], utc=True).dt.tz_convert(tz)
    due_at = given.where(given.notna(), due_at)

    wait = pd.to_timedelta(df["supplement_wait_s"], unit="s")
    if not rules.exclude_supplement_wait:
        wait = wait * 0
    finished = df["finished"].astype(bool)
    end = pd.to_datetime(df["finished_at"], utc=True).dt.tz_convert(tz)
    now = pd.Timestamp(as_of).tz_convert(tz) if as_of is not None else end.max()
    effective_end = end.where(finished, now) - wait
    share = pd.Series(np.nan, index=df.index)
    has = due_at.notna().to_numpy()
    if has.any():  # elapsed share of the deadline, both in working days

        def local(x: pd.Series) -> np.ndarray:
            return x[has].dt.tz_localize(None).to_numpy().astype("datetime64[us]")

        span = cal.working_days_between_arrays(local(received), local(due_at))
        elapsed = cal.working_days_between_arrays(local(received), local(effective_end))
        share[has] = np.where(span > 0, elapsed / np.where(span > 0, span, 1), np.nan)

    status = np.full(len(df), None, dtype=object)
    has_due = due_at.notna().to_numpy()
    fin = finished.to_numpy()
    too_many = (df["supplement_requests"] > rules.max_supplements_on_time).to_numpy()
    late = (effective_end > due_at).to_numpy() | too_many
    end_day = effective_end.dt.tz_localize(None).dt.normalize()
    due_day = due_at.dt.tz_localize(None).dt.normalize()
    early = (end_day < due_day).to_numpy()
    status[has_due & fin] = np.where(
        late[has_due & fin], "late", np.where(early[has_due & fin], "early", "on_time")
    )
    open_ = has_due & ~fin
    risk = (share > rules.at_risk_share).to_numpy()
    status[open_] = np.where(late[open_], "overdue", np.where(risk[open_], "at_risk", "within"))

    out = pd.DataFrame(
        {
            "case_id": df["case_id"],
            "received_at": received,
            "due_at": due_at,
            "supplement_requests": df["supplement_requests"].astype("int64"),
            "supplement_wait_s": df["supplement_wait_s"].astype(float),
            "finished": finished,
            "finished_at": end.where(finished),
            "elapsed_share": share,
            "status": pd.Series(status, dtype="object"),
        }
    )
    con.register("_deadlines_df", out)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE deadlines AS
           SELECT case_id::VARCHAR AS case_id, received_at::TIMESTAMPTZ AS received_at,
                  due_at::TIMESTAMPTZ AS due_at, supplement_requests::BIGINT AS supplement_requests,
                  supplement_wait_s::DOUBLE AS supplement_wait_s, finished::BOOLEAN AS finished,
                  finished_at::TIMESTAMPTZ AS finished_at, elapsed_share::DOUBLE AS elapsed_share,
                  status::VARCHAR AS status
           FROM _deadlines_df"""
    )
    con.unregister("_deadlines_df")
    return bool(has_due.any())


def _build_supplement_waits(con: duckdb.DuckDBPyConnection, as_of: datetime | None) -> None:
    """Per dossier: supplement requests and the time spent waiting for the citizen.

    Each ``request_supplement`` waits until the start of the next ``submit_supplement``
    (or until ``as_of`` when the citizen has not answered yet).
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _supplement_waits AS
        WITH s AS (
            SELECT case_id, activity, start_ts, end_ts,
                   lead(activity) OVER w AS next_activity, lead(start_ts) OVER w AS next_start
            FROM steps WHERE activity IN ($req, $sub)
            WINDOW w AS (PARTITION BY case_id ORDER BY seq)
        )
        SELECT case_id, count(*) AS requests,
               sum(epoch(greatest(
                   CASE WHEN next_activity = $sub THEN next_start ELSE $as_of::TIMESTAMPTZ END
                   - coalesce(end_ts, start_ts), INTERVAL 0 SECOND))) AS wait_s
        FROM s WHERE activity = $req GROUP BY case_id
        """,
        {"req": SUPPLEMENT_REQUEST, "sub": SUPPLEMENT_SUBMIT, "as_of": as_of},
    )


def sla_summary(con: duckdb.DuckDBPyConnection) -> dict:
    """Counts and rates over ``deadlines``: on-time rate of finished dossiers, late rate
    = (late finished + overdue open) / dossiers with a due date (DOMAIN.md)."""
    rows = con.execute(
        "SELECT status, count(*) FROM deadlines WHERE status IS NOT NULL GROUP BY status"
    ).fetchall()
    counts = {s: 0 for s in FINISHED_STATUSES + OPEN_STATUSES}
    counts.update({s: int(n) for s, n in rows})
    finished = sum(counts[s] for s in FINISHED_STATUSES)
    total = finished + sum(counts[s] for s in OPEN_STATUSES)
    without = con.execute("SELECT count(*) FROM deadlines WHERE status IS NULL").fetchone()[0]
    wait = con.execute(
        "SELECT avg(supplement_wait_s) FILTER (WHERE supplement_requests > 0), "
        "avg((supplement_requests > 0)::INT) FROM deadlines"
    ).fetchone()
    return {
        "counts": counts,
        "with_due_date": total,
        "without_due_date": int(without),
        "on_time_rate": (counts["early"] + counts["on_time"]) / finished if finished else None,
        "late_rate": (counts["late"] + counts["overdue"]) / total if total else None,
        "supplement_share": wait[1],
        "mean_supplement_wait_s": wait[0],
    }
