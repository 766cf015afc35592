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
import pyarrow as pa

from dvcflow.settings import Settings, or_environment
from sample_logs.workdays import WorkCalendar, default_calendar

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
    def from_settings(cls, settings: Settings | None = None) -> DeadlineRules:
        s = or_environment(settings)
        return cls(
            max_supplements_on_time=s.max_supplements_on_time,
            exclude_supplement_wait=s.exclude_supplement_wait,
            at_risk_share=s.at_risk_share,
            same_day_cutoff_hour=s.same_day_cutoff_hour,
        )


def due_days(
    received_local: np.ndarray,
    deadline_days: np.ndarray | int,
    cutoff_hour: int,
    calendar: WorkCalendar,
) -> np.ndarray:
    """Due day (local date) per receipt moment (local naive ``datetime64``), as
    ``WorkCalendar.add_working_days`` does: the receipt day (rolled to a working day) plus n
    working days; n = 0 moves to the next working day when received after the cut-off hour."""
    moments = np.asarray(received_local, dtype="datetime64[us]")
    days = moments.astype("datetime64[D]")
    hours = (moments - days.astype("datetime64[us]")).astype(np.int64) // 3_600_000_000
    n = np.broadcast_to(np.asarray(deadline_days, dtype=np.int64), days.shape)
    receipt = calendar.roll_forward(days)
    late = (receipt == days) & (hours >= cutoff_hour)
    return calendar.offset_days(receipt, np.where(n > 0, n, late.astype(np.int64)))


def _local(table: pa.Table, column: str) -> np.ndarray:
    """A local naive timestamp column as ``datetime64[us]`` (NULL -> NaT)."""
    return table[column].to_numpy(zero_copy_only=False).astype("datetime64[us]")


def _local_naive(moment: datetime, tz: ZoneInfo) -> np.datetime64:
    """``moment`` as a local naive instant (naive values are taken as already local)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz).replace(tzinfo=None)
    return np.datetime64(moment, "us")


def build_deadlines(
    con: duckdb.DuckDBPyConnection,
    deadline_working_days: int | Mapping[str, int] | None,
    rules: DeadlineRules | None = None,
    as_of: datetime | None = None,
    result_activities: Sequence[str] = RESULT_ACTIVITIES,
    settings: Settings | None = None,
) -> bool:
    """Create temp table ``deadlines`` (one row per dossier of ``cases``).

    Columns: case_id, received_at, due_at, processed_at (end of processing: the step before
    the first result step, else the last event), supplement_requests, supplement_wait_s,
    supplement_wait_days (working days), finished, elapsed_share, working_days_used (receipt
    to the end of processing, or ``as_of`` while open, the supplement wait excluded when the
    rules say so: what ``elapsed_share`` divides by the time allowed), status (NULL when no
    due date is known). ``deadline_working_days`` is the catalog's deadline, or one per
    procedure code (None or a missing code: no catalog entry, so only a ``due_date``
    attribute gives a due date); ``as_of`` (default: the log's last event) is "now" for open
    dossiers. ``rules`` default to ``settings``' (the calendar and time zone are always
    theirs). All comparisons run in working time (``WorkCalendar``), so waiting for the
    citizen over a weekend costs nothing extra. Returns whether any dossier has a due date.

    Times cross between DuckDB and numpy as local naive instants (``timezone(tz, ts)``):
    pandas' time-zone conversions cost more than the whole calculation.
    """
    settings = or_environment(settings)
    rules = rules or DeadlineRules.from_settings(settings)
    tz_name = settings.timezone
    tz = ZoneInfo(tz_name)
    if as_of is None:
        as_of = con.execute("SELECT max(last_ts) FROM cases").fetchone()[0]
    cal = WorkCalendar(cutoff_hour=rules.same_day_cutoff_hour, settings=settings)
    now = _local_naive(as_of, tz)
    _register_supplement_waits(con, now, cal, tz_name)
    t = con.execute(
        """
        WITH r AS (   -- the first result step of each dossier that has one
            SELECT case_id, min(seq) AS result_seq
            FROM steps WHERE activity IN (SELECT unnest($results)) GROUP BY case_id
        ), p AS (
            SELECT s.case_id, max(coalesce(s.end_ts, s.start_ts)) AS processed_at
            FROM steps s JOIN r USING (case_id)
            WHERE s.seq < r.result_seq GROUP BY s.case_id
        ), w AS (
            SELECT case_id, count(*) AS requests, sum(wait_s) AS wait_s,
                   sum(wait_days) AS wait_days
            FROM _dvc_waits GROUP BY case_id
        )
        SELECT c.case_id, c.procedure_code,
               timezone($tz, c.first_ts::TIMESTAMPTZ) AS received,
               c.finished::BOOLEAN AS finished,
               timezone($tz, c.due_attr::TIMESTAMPTZ) AS due_attr,
               timezone($tz, coalesce(p.processed_at, c.last_ts)::TIMESTAMPTZ) AS processed,
               coalesce(w.requests, 0)::BIGINT AS requests,
               coalesce(w.wait_s, 0)::DOUBLE AS wait_s,
               coalesce(w.wait_days, 0)::DOUBLE AS wait_days
        FROM cases c LEFT JOIN p USING (case_id) LEFT JOIN w USING (case_id)
        """,
        {"results": list(result_activities), "tz": tz_name},
    ).to_arrow_table()
    con.unregister("_dvc_waits")

    received = _local(t, "received")
    due = np.full(len(received), np.datetime64("NaT"), dtype="datetime64[us]")
    if isinstance(deadline_working_days, Mapping):
        codes, inverse = np.unique(
            t["procedure_code"].to_numpy(zero_copy_only=False).astype(str), return_inverse=True
        )
        per_code = [deadline_working_days.get(c) for c in codes]
        n = np.array([np.nan if d is None else d for d in per_code], dtype=float)[inverse]
    else:
        days = np.nan if deadline_working_days is None else float(deadline_working_days)
        n = np.full(len(received), days)
    known = ~np.isnan(n)
    if known.any():
        day = due_days(received[known], n[known].astype(np.int64), rules.same_day_cutoff_hour, cal)
        # due moment = end of the due day, local time
        due[known] = day.astype("datetime64[us]") + np.timedelta64(86399, "s")
    given = _local(t, "due_attr")
    due = np.where(np.isnat(given), due, given)

    finished = t["finished"].to_numpy(zero_copy_only=False).astype(bool)
    processed = _local(t, "processed")
    end = np.where(finished, processed, now)
    requests = t["requests"].to_numpy()
    wait_days = t["wait_days"].to_numpy()

    status = np.full(len(received), None, dtype=object)
    share = np.full(len(received), np.nan)
    used = np.full(len(received), np.nan)
    has = ~np.isnat(due)
    if has.any():
        # positions on the working-time axis: whole numbers fall on working-day boundaries
        first_year = int(received.min().astype("datetime64[Y]").astype(int)) + 1970
        origin = np.datetime64(f"{first_year - 1}-01-01", "us")

        def pos(x: np.ndarray) -> np.ndarray:
            return cal.working_days_between_arrays(np.full(len(x), origin), x)

        t_recv, t_due = pos(received[has]), pos(due[has])
        t_end = pos(end[has]) - (wait_days[has] if rules.exclude_supplement_wait else 0.0)
        span = t_due - t_recv
        used[has] = t_end - t_recv
        share[has] = np.where(span > 0, (t_end - t_recv) / np.where(span > 0, span, 1), np.nan)
        too_many = requests[has] > rules.max_supplements_on_time
        late = (t_end > t_due) | too_many
        early = np.floor(t_end) < np.floor(t_due)
        risk = share[has] > rules.at_risk_share
        status[has] = np.where(
            finished[has],
            np.where(late, "late", np.where(early, "early", "on_time")),
            np.where(late, "overdue", np.where(risk, "at_risk", "within")),
        )

    out = pa.table(
        {
            "case_id": t["case_id"],
            "received": pa.array(received, from_pandas=True),
            "due": pa.array(due, from_pandas=True),
            "processed": pa.array(
                np.where(finished, processed, np.datetime64("NaT")), from_pandas=True
            ),
            "requests": t["requests"],
            "wait_s": t["wait_s"],
            "wait_days": t["wait_days"],
            "finished": pa.array(finished),
            "share": pa.array(share, from_pandas=True),
            "used": pa.array(used, from_pandas=True),
            "status": pa.array(status, type=pa.string()),
        }
    )
    con.register("_dvc_deadlines", out)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE deadlines AS
           SELECT case_id::VARCHAR AS case_id, timezone($tz, received) AS received_at,
                  timezone($tz, due) AS due_at, timezone($tz, processed) AS processed_at,
                  requests AS supplement_requests, wait_s AS supplement_wait_s,
                  wait_days AS supplement_wait_days, finished, share AS elapsed_share,
                  used AS working_days_used, status
           FROM _dvc_deadlines""",
        {"tz": tz_name},
    )
    con.unregister("_dvc_deadlines")
    return bool(has.any())


def _register_supplement_waits(
    con: duckdb.DuckDBPyConnection,
    now: np.datetime64,
    cal: WorkCalendar,
    tz_name: str,
) -> None:
    """View ``_dvc_waits``: one row per supplement request, with the time spent waiting for
    the citizen (seconds and working days).

    Each ``request_supplement`` waits until the start of the next ``submit_supplement``
    (or until ``now``, local, when the citizen has not answered yet).
    """
    iv = con.execute(
        """
        WITH s AS (
            SELECT case_id, activity, start_ts, end_ts,
                   lead(activity) OVER w AS next_activity, lead(start_ts) OVER w AS next_start
            FROM steps WHERE activity IN ($req, $sub)
            WINDOW w AS (PARTITION BY case_id ORDER BY seq)
        )
        SELECT case_id, timezone($tz, coalesce(end_ts, start_ts)::TIMESTAMPTZ) AS a,
               timezone($tz, CASE WHEN next_activity = $sub THEN next_start::TIMESTAMPTZ END)
                   AS answered
        FROM s WHERE activity = $req
        """,
        {"req": SUPPLEMENT_REQUEST, "sub": SUPPLEMENT_SUBMIT, "tz": tz_name},
    ).to_arrow_table()
    a = _local(iv, "a")
    answered = _local(iv, "answered")
    b = np.maximum(np.where(np.isnat(answered), now, answered), a)
    waits = pa.table(
        {
            "case_id": iv["case_id"],
            "a": pa.array(a, from_pandas=True),
            "b": pa.array(b, from_pandas=True),
            "wait_s": (b - a).astype("timedelta64[us]").astype(np.int64) / 1e6,
            "wait_days": cal.working_days_between_arrays(a, b),
        }
    )
    con.register("_dvc_waits", waits)


def supplement_pauses(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime,
    calendar: WorkCalendar | None = None,
    settings: Settings | None = None,
) -> list[tuple[datetime, datetime, float]]:
    """Each wait for the citizen's supplements of the dossiers in ``con`` (``steps``), as
    ``build_deadlines`` stops the clock for it: (local start, local end, working days), in
    the deployment's time zone; an unanswered request waits until ``as_of``."""
    settings = or_environment(settings)
    tz_name = settings.timezone
    cal = calendar or default_calendar(settings)
    _register_supplement_waits(con, _local_naive(as_of, ZoneInfo(tz_name)), cal, tz_name)
    try:
        rows = con.execute("SELECT a, b, wait_days FROM _dvc_waits ORDER BY a").fetchall()
    finally:
        con.unregister("_dvc_waits")
    tz = ZoneInfo(tz_name)
    return [(a.replace(tzinfo=tz), b.replace(tzinfo=tz), float(d)) for a, b, d in rows]


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
