"""A loaded log as the early warning reads it: events, what is known of each dossier at
receipt, and (kept apart) how each finished dossier ended.

The split is what makes the features leak-proof by construction: ``prefix_features`` gets
``events`` and ``dossiers`` only, never ``outcomes`` (finish time, late or not), which only
the training labels and the evaluation read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from dvcflow.settings import get_settings
from mining.deadlines import DeadlineRules, build_deadlines
from sample_logs.workdays import WorkCalendar

DAY_US = 86_400_000_000


class TimeAxis:
    """Positions of local instants on a time axis, in days: working days of the Vietnamese
    calendar (a working day counts 24 h, days off nothing, as ``WorkCalendar``) or plain
    calendar days (a log without Vietnamese deadlines, e.g. BPIC 2015)."""

    def __init__(
        self,
        working: bool,
        first: np.datetime64,
        last: np.datetime64,
        calendar: WorkCalendar | None = None,
    ) -> None:
        self.working = working
        y0 = int(np.datetime64(first, "Y").astype(int)) + 1970 - 1
        y1 = int(np.datetime64(last, "Y").astype(int)) + 1970 + 3
        self.origin = np.datetime64(f"{y0}-01-01", "D")
        cal = calendar or WorkCalendar()
        self.workdays = cal.workdays_array(y0, y1) if working else None
        self.holidays = cal.holidays_array(y0, y1)

    def pos(self, t: np.ndarray) -> np.ndarray:
        """Days from the axis origin to each instant (NaN for NaT)."""
        t = np.asarray(t, dtype="datetime64[us]")
        nat = np.isnat(t)
        safe = np.where(nat, self.origin.astype("datetime64[us]"), t)
        day = safe.astype("datetime64[D]")
        frac = (safe - day.astype("datetime64[us]")).astype(np.int64) / DAY_US
        if not self.working:
            out = (day - self.origin).astype(np.int64) + frac
        else:
            before = np.searchsorted(self.workdays, day, side="left")
            idx = np.minimum(before, len(self.workdays) - 1)
            out = before + np.where(self.workdays[idx] == day, frac, 0.0)
        return np.where(nat, np.nan, out.astype(float))

    def moment(self, p: np.ndarray) -> np.ndarray:
        """The instant at each position (the inverse of ``pos``; NaT for NaN)."""
        p = np.asarray(p, dtype=float)
        nan = np.isnan(p)
        q = np.where(nan, 0.0, np.maximum(p, 0.0))
        whole = np.floor(q).astype(np.int64)
        frac_us = ((q - whole) * DAY_US).astype(np.int64).astype("timedelta64[us]")
        if self.working:
            whole = np.minimum(whole, len(self.workdays) - 1)
            day = self.workdays[whole]
        else:
            day = self.origin + whole.astype("timedelta64[D]")
        out = day.astype("datetime64[us]") + frac_us
        return np.where(nan, np.datetime64("NaT", "us"), out)


@dataclass
class Timeline:
    """``events`` (case_id, activity, ts, lifecycle, org_unit, closes, pos) sorted by dossier
    and order; ``dossiers`` (indexed by case_id: procedure, province, commune, channel,
    received, due, received_pos, due_pos) known at receipt; ``outcomes`` (case_id: finished,
    end, end_pos, late) known only at the end; ``now`` the moment the log stops."""

    events: pd.DataFrame
    dossiers: pd.DataFrame
    outcomes: pd.DataFrame
    axis: TimeAxis
    now: np.datetime64


def read_timeline(
    con: duckdb.DuckDBPyConnection,
    deadline_days: int | dict[str, int] | None,
    *,
    rules: DeadlineRules | None = None,
    as_of: datetime | None = None,
    term_days: float | None = None,
    working: bool = True,
) -> Timeline:
    """The ``Timeline`` of a ``mining.log.load_log`` connection (cut with ``cut_log`` for a
    replay). Due dates and late/on-time come from ``mining.deadlines`` (catalog deadline or
    the source's ``due_date``); ``term_days`` (calendar days from receipt) stands in for
    dossiers without one, e.g. the 8-week legal term of a foreign permit log."""
    tz = get_settings().timezone
    build_deadlines(con, deadline_days, rules, as_of=as_of)
    events = con.execute(
        """SELECT case_id, activity, timezone($tz, timestamp) AS ts, lifecycle, org_unit,
                  outcome IS NOT NULL AS closes
           FROM log_base ORDER BY case_id, ord""",
        {"tz": tz},
    ).df()
    cases = con.execute(
        """SELECT c.case_id, c.procedure_code AS procedure, c.province_code AS province,
                  c.commune_code AS commune, c.org_unit AS receiving_unit, c.channel,
                  timezone($tz, c.first_ts) AS received, timezone($tz, d.due_at) AS due,
                  c.finished, timezone($tz, coalesce(d.processed_at, c.last_ts)) AS end_at,
                  d.status
           FROM cases c LEFT JOIN deadlines d USING (case_id) ORDER BY c.case_id""",
        {"tz": tz},
    ).df()
    last = con.execute("SELECT timezone($tz, max(timestamp)) FROM log_base", {"tz": tz}).fetchone()
    now = (
        np.datetime64(as_of.astimezone(_zone(tz)).replace(tzinfo=None), "us")
        if as_of
        else (np.datetime64(last[0], "us"))
    )
    received = cases["received"].to_numpy("datetime64[us]")
    due = cases["due"].to_numpy("datetime64[us]")
    if term_days is not None:
        term = received + np.timedelta64(int(term_days * DAY_US), "us")
        due = np.where(np.isnat(due), term, due)
    axis = TimeAxis(
        working, received.min(), max(now, np.nanmax(due) if (~np.isnat(due)).any() else now)
    )
    events["ts"] = events["ts"].to_numpy("datetime64[us]")
    events["pos"] = axis.pos(events["ts"].to_numpy())
    dossiers = pd.DataFrame(
        {
            "procedure": cases["procedure"].astype(str).to_numpy(),
            "province": cases["province"].astype(object).to_numpy(),
            "commune": cases["commune"].astype(object).to_numpy(),
            "channel": cases["channel"].astype(object).to_numpy(),
            "received": received,
            "due": due,
            "received_pos": axis.pos(received),
            "due_pos": axis.pos(due),
        },
        index=pd.Index(cases["case_id"].astype(str), name="case_id"),
    )
    end = cases["end_at"].to_numpy("datetime64[us]")
    finished = cases["finished"].to_numpy(bool)
    status = cases["status"].to_numpy(object)
    late = np.where(status == "late", 1.0, np.where(pd.isna(status), np.nan, 0.0))
    by_term = np.isnan(late) & finished & ~np.isnat(due)
    late = np.where(by_term, (end > due).astype(float), late)
    late = np.where(finished, late, np.nan)
    outcomes = pd.DataFrame(
        {"finished": finished, "end": end, "end_pos": axis.pos(end), "late": late},
        index=dossiers.index,
    )
    return Timeline(events=events, dossiers=dossiers, outcomes=outcomes, axis=axis, now=now)


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def add_case_attributes(tl: Timeline, store, procedure: str | None, names: list[str]) -> None:
    """Trace attributes set when a dossier starts (``names``, from the store's
    ``case_attributes``) as ``dossiers`` columns ``attr:<name>``: numbers when the values
    are numbers, text otherwise. Only attributes known at receipt belong here (BPIC 2015's
    ``Responsible_actor``, say; never ``last_phase`` or ``endDate``, which tell the end)."""
    if not names:
        return
    con = store.connect()
    try:
        rows = con.execute(
            "SELECT case_id, attributes FROM case_attributes"
            + (" WHERE procedure_code = $p" if procedure else ""),
            {"p": procedure} if procedure else {},
        ).df()
    finally:
        con.close()
    parsed = pd.DataFrame(
        [json.loads(a) if a else {} for a in rows["attributes"]],
        index=rows["case_id"].astype(str),
    )
    parsed = parsed[~parsed.index.duplicated(keep="last")]
    for name in names:
        col = parsed[name] if name in parsed else pd.Series(dtype=object)
        col = col.reindex(tl.dossiers.index)
        num = pd.to_numeric(col, errors="coerce")
        numeric = col.notna().any() and num.notna().sum() == col.notna().sum()
        tl.dossiers[f"attr:{name}"] = num if numeric else col.astype(object)
