"""Per-dossier due dates and on-time status, in Vietnamese working days.

A dossier's due moment is the end of the n-th working day after its receipt day (n = the
catalog's ``deadline_working_days``; n = 0: the same day, or the next working day when
received after ``same_day_cutoff_hour``), unless the source gave a ``due_date`` attribute,
which wins. Processing ends with the step before the result is returned (the citizen's
pick-up does not count). The clock stops while the dossier waits for the citizen's
supplements (``exclude_supplement_wait``): the working time from each
``request_supplement`` to the citizen's next ``submit_supplement`` is not counted.

Finished dossiers are ``early`` (processing ended a working day before the due day),
``on_time`` (on the due day) or ``late``; more supplement requests than
``max_supplements_on_time`` make a dossier late whatever its dates (the national index
rule). Open dossiers at ``as_of`` are ``overdue``, ``at_risk`` (elapsed share of the
deadline above ``at_risk_share``) or ``within``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
RESULT_ACTIVITIES = ("return_result",)  # catalog steps of kind "result", by convention


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
    result_activities: Sequence[str] = RESULT_ACTIVITIES,
) -> bool:
    """Create temp table ``deadlines`` (one row per dossier of ``cases``).

    Columns: case_id, received_at, due_at, processed_at (end of processing: the step before
    the first result step, else the last event), supplement_requests, supplement_wait_s,
    supplement_wait_days (working days), finished, elapsed_share, status (NULL when no due
    date is known). ``deadline_working_days`` is the catalog's deadline, or one per
    procedure code (None or a missing code: no catalog entry, so only a ``due_date``
    attribute gives a due date); ``as_of`` (default: the log's last event) is "now" for open
    dossiers. All comparisons run in working time (``WorkCalendar``), so waiting for the
    citizen over a weekend costs nothing extra. Returns whether any dossier has a due date.
    """
    rules = rules or DeadlineRules.from_settings()
    tz = ZoneInfo(get_settings().timezone)
    if as_of is None:
        as_of = con.execute("SELECT max(timestamp) FROM log").fetchone()[0]
    df = con.execute(
        """
        WITH r AS (
            SELECT case_id, min(seq) FILTER (WHERE activity IN (SELECT unnest($results)))
                       AS result_seq
            FROM steps GROUP BY case_id
        ), p AS (
            SELECT s.case_id, max(coalesce(s.end_ts, s.start_ts)) AS processed_at
            FROM steps s JOIN r USING (case_id)
            WHERE r.result_seq IS NOT NULL AND s.seq < r.result_seq GROUP BY s.case_id
        )
        SELECT c.case_id, c.procedure_code, c.first_ts AS received_at, c.finished, c.due_attr,
               coalesce(p.processed_at, c.last_ts) AS processed_at
        FROM cases c LEFT JOIN p USING (case_id)
        """,
        {"results": list(result_activities)},
    ).df()
    cal = WorkCalendar(cutoff_hour=rules.same_day_cutoff_hour)
    waits = _supplement_waits(con, as_of, cal, tz)
    df = df.merge(waits, on="case_id", how="left")
    df[["requests", "wait_s", "wait_days"]] = df[["requests", "wait_s", "wait_days"]].fillna(0)

    received = pd.to_datetime(df["received_at"], utc=True).dt.tz_convert(tz)
    due_at = pd.Series(pd.NaT, index=df.index, dtype=f"datetime64[ns, {tz.key}]")
    if isinstance(deadline_working_days, Mapping):
        n = df["procedure_code"].map(dict(deadline_working_days))
    else:
        n = pd.Series(deadline_working_days, index=df.index, dtype="float64")
    known = n.notna().to_numpy()
    if known.any():
        day = due_days(
            received[known], n[known].to_numpy().astype(np.int64), rules.same_day_cutoff_hour, cal
        )
        # due moment = end of the due day, local time
        due_at[known] = pd.to_datetime(day + np.timedelta64(86399, "s")).tz_localize(tz)
    given = pd.to_datetime(df["due_attr"], utc=True).dt.tz_convert(tz)
    due_at = given.where(given.notna(), due_at)

    finished = df["finished"].astype(bool).to_numpy()
    processed = pd.to_datetime(df["processed_at"], utc=True).dt.tz_convert(tz)
    now = pd.Timestamp(as_of).tz_convert(tz)
    end = processed.where(finished, now)
    wait_days = df["wait_days"].to_numpy() if rules.exclude_supplement_wait else 0.0

    status = np.full(len(df), None, dtype=object)
    share = np.full(len(df), np.nan)
    has = due_at.notna().to_numpy()
    if has.any():
        # positions on the working-time axis: whole numbers fall on working-day boundaries
        origin = np.datetime64(f"{received.dt.year.min() - 1}-01-01", "us")

        def pos(x: pd.Series) -> np.ndarray:
            t = x[has].dt.tz_localize(None).to_numpy().astype("datetime64[us]")
            return cal.working_days_between_arrays(np.full(len(t), origin), t)

        t_recv, t_due = pos(received), pos(due_at)
        t_end = pos(end) - (wait_days[has] if np.ndim(wait_days) else 0.0)
        span = t_due - t_recv
        share[has] = np.where(span > 0, (t_end - t_recv) / np.where(span > 0, span, 1), np.nan)
        too_many = df["requests"].to_numpy()[has] > rules.max_supplements_on_time
        late = (t_end > t_due) | too_many
        early = np.floor(t_end) < np.floor(t_due)
        risk = share[has] > rules.at_risk_share
        fin = finished[has]
        status[has] = np.where(
            fin,
            np.where(late, "late", np.where(early, "early", "on_time")),
            np.where(late, "overdue", np.where(risk, "at_risk", "within")),
        )

    out = pd.DataFrame(
        {
            "case_id": df["case_id"],
            "received_at": received,
            "due_at": due_at,
            "processed_at": processed.where(finished),
            "supplement_requests": df["requests"].astype("int64"),
            "supplement_wait_s": df["wait_s"].astype(float),
            "supplement_wait_days": df["wait_days"].astype(float),
            "finished": finished,
            "elapsed_share": share,
            "status": pd.Series(status, dtype="object"),
        }
    )
    con.register("_deadlines_df", out)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE deadlines AS
           SELECT case_id::VARCHAR AS case_id, received_at::TIMESTAMPTZ AS received_at,
                  due_at::TIMESTAMPTZ AS due_at, processed_at::TIMESTAMPTZ AS processed_at,
                  supplement_requests::BIGINT AS supplement_requests,
                  supplement_wait_s::DOUBLE AS supplement_wait_s,
                  supplement_wait_days::DOUBLE AS supplement_wait_days,
                  finished::BOOLEAN AS finished, elapsed_share::DOUBLE AS elapsed_share,
                  status::VARCHAR AS status
           FROM _deadlines_df"""
    )
    con.unregister("_deadlines_df")
    return bool(has.any())


def _supplement_waits(
    con: duckdb.DuckDBPyConnection, as_of: datetime, cal: WorkCalendar, tz: ZoneInfo
) -> pd.DataFrame:
    """Per dossier: supplement requests and the time spent waiting for the citizen
    (seconds and working days).

    Each ``request_supplement`` waits until the start of the next ``submit_supplement``
    (or until ``as_of`` when the citizen has not answered yet).
    """
    iv = con.execute(
        """
        WITH s AS (
            SELECT case_id, activity, start_ts, end_ts,
                   lead(activity) OVER w AS next_activity, lead(start_ts) OVER w AS next_start
            FROM steps WHERE activity IN ($req, $sub)
            WINDOW w AS (PARTITION BY case_id ORDER BY seq)
        )
        SELECT case_id, coalesce(end_ts, start_ts) AS a,
               greatest(CASE WHEN next_activity = $sub THEN next_start
                             ELSE $as_of::TIMESTAMPTZ END, coalesce(end_ts, start_ts)) AS b
        FROM s WHERE activity = $req
        """,
        {"req": SUPPLEMENT_REQUEST, "sub": SUPPLEMENT_SUBMIT, "as_of": as_of},
    ).df()
    if iv.empty:
        return pd.DataFrame(columns=["case_id", "requests", "wait_s", "wait_days"])

    def local(col: str) -> np.ndarray:
        t = pd.to_datetime(iv[col], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
        return t.to_numpy().astype("datetime64[us]")

    a, b = local("a"), local("b")
    iv["wait_s"] = (b - a).astype("timedelta64[us]").astype(np.int64) / 1e6
    iv["wait_days"] = cal.working_days_between_arrays(a, b)
    iv["requests"] = 1
    return iv.groupby("case_id", as_index=False)[["requests", "wait_s", "wait_days"]].sum()


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
