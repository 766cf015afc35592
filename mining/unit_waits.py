"""The wait at one step, in working days, per commune of a province (or per province), with
the province's and the nation's medians: "which communes are slowest at this step?".

Waits are counted in Vietnamese working days (``sample_logs.workdays``: weekends and holidays
cost nothing), the unit of the legal time limits officials work against; hours stay as a
detail. A wait is ``steps.wait_s``'s interval (from the previous step's end to this step's
start); ``after`` narrows it to one handoff (the wait after that particular step).
"""

from __future__ import annotations

import duckdb
import numpy as np
from pydantic import BaseModel

from mining.filters import LogFilter
from mining.log import case_ids
from sample_logs.workdays import WorkCalendar, default_calendar


class UnitWait(BaseModel):
    unit: str  # a commune code (by="commune") or a province code (by="province")
    dossiers: int
    waits: int
    median_working_days: float
    p90_working_days: float
    median_hours: float


class UnitWaits(BaseModel):
    step: str
    after: str | None  # the step before, when the wait is one handoff
    by: str  # "commune" | "province"
    province: str | None  # the province whose communes are listed (by="commune")
    units: list[UnitWait]  # slowest first; only dossiers of the reader's filter (its scope)
    province_median_working_days: float | None  # reference: every dossier of the province
    national_median_working_days: float | None  # reference: every dossier of the nation


class StepWorkingDays(BaseModel):
    step: str
    after: str | None
    from_unit: str | None = None  # set on the per-handoff rows (one unit to another)
    to_unit: str | None = None
    waits: int
    median_working_days: float
    p90_working_days: float


def _waits(con: duckdb.DuckDBPyConnection, step: str | None, after: str | None):
    """Per wait instance: province, commune, case, local start/end, hours."""
    where = ["s.prev_end_ts IS NOT NULL", "s.start_ts IS NOT NULL"]
    params: dict = {}
    if step is not None:
        where.append("s.activity = $step")
        params["step"] = step
    if after is not None:
        where.append("s.prev_activity = $after")
        params["after"] = after
    return con.sql(
        f"""SELECT c.province_code, c.commune_code, s.case_id, s.activity, s.prev_activity,
                   s.prev_org_unit, s.org_unit,
                   timezone(current_setting('TimeZone'), s.prev_end_ts) AS a,
                   timezone(current_setting('TimeZone'), greatest(s.start_ts, s.prev_end_ts))
                       AS b,
                   s.wait_s / 3600.0 AS hours
            FROM steps s JOIN cases c USING (case_id)
            WHERE {" AND ".join(where)}""",
        params=params,
    ).df()


def _working_days(frame, calendar: WorkCalendar) -> np.ndarray:
    if frame.empty:
        return np.zeros(0)
    a = frame["a"].to_numpy(dtype="datetime64[us]")
    b = frame["b"].to_numpy(dtype="datetime64[us]")
    return np.maximum(calendar.working_days_between_arrays(a, b), 0.0)


def _median(values: np.ndarray) -> float | None:
    return round(float(np.median(values)), 3) if len(values) else None


def unit_waits(
    con: duckdb.DuckDBPyConnection,
    step: str,
    rows: LogFilter | None = None,
    *,
    after: str | None = None,
    calendar: WorkCalendar | None = None,
) -> UnitWaits:
    """The wait before ``step`` per unit, slowest median first, with two references: the
    median of the whole of ``con`` (the nation) and of the rows' province.

    ``con`` is a loaded log of the nation (``load_log`` with the reader's dates and channel,
    no location). The per-unit rows list only the dossiers ``rows`` keeps (the reader's
    filter, already narrowed to its scope): per commune when it names a province or a
    commune, per province otherwise. The references are single medians; nothing else of the
    dossiers outside ``rows`` leaves this function."""
    calendar = calendar or default_calendar()
    rows = rows or LogFilter()
    frame = _waits(con, step, after)
    frame["wd"] = _working_days(frame, calendar)
    national = _median(frame["wd"].to_numpy())
    located = rows.province or rows.commune or rows.org_unit
    mine = frame[frame["case_id"].isin(set(case_ids(con, rows)))] if located else frame
    province = rows.province
    if province is None and (rows.commune or rows.org_unit):
        found = mine["province_code"].dropna().unique()
        province = str(found[0]) if len(found) == 1 else None
    by = "commune" if rows.province or rows.commune else "province"
    units = [_unit(unit, part) for unit, part in mine.groupby(f"{by}_code", sort=False)]
    units.sort(key=lambda u: (-u.median_working_days, u.unit))
    in_province = frame[frame["province_code"] == province] if province else None
    return UnitWaits(
        step=step,
        after=after,
        by=by,
        province=province,
        units=units,
        province_median_working_days=(
            _median(in_province["wd"].to_numpy()) if in_province is not None else None
        ),
        national_median_working_days=national,
    )


def _unit(unit: object, part) -> UnitWait:
    wd = part["wd"].to_numpy()
    return UnitWait(
        unit=str(unit),
        dossiers=int(part["case_id"].nunique()),
        waits=len(part),
        median_working_days=round(float(np.median(wd)), 3),
        p90_working_days=round(float(np.quantile(wd, 0.9)), 3),
        median_hours=round(float(part["hours"].median()), 2),
    )


def step_working_days(
    con: duckdb.DuckDBPyConnection, calendar: WorkCalendar | None = None
) -> list[StepWorkingDays]:
    """The wait before every step (``after`` None), after every previous step, and per
    handoff between two units, in working days: what the bottlenecks page shows beside the
    calendar hours of ``step_waits`` and ``handoffs``."""
    calendar = calendar or default_calendar()
    frame = _waits(con, None, None)
    frame["wd"] = _working_days(frame, calendar)
    out = [_summary(str(s), None, part) for s, part in frame.groupby("activity")]
    out += [
        _summary(str(s), str(a), part)
        for (s, a), part in frame.groupby(["activity", "prev_activity"])
    ]
    handoff = frame[frame["prev_org_unit"] != frame["org_unit"]]
    out += [
        _summary(str(s), str(a), part, (str(f), str(u)))
        for (s, a, f, u), part in handoff.groupby(
            ["activity", "prev_activity", "prev_org_unit", "org_unit"]
        )
    ]
    return out


def _summary(step: str, after: str | None, part, units: tuple | None = None) -> StepWorkingDays:
    wd = part["wd"].to_numpy()
    return StepWorkingDays(
        step=step,
        after=after,
        from_unit=units[0] if units else None,
        to_unit=units[1] if units else None,
        waits=len(wd),
        median_working_days=round(float(np.median(wd)), 3),
        p90_working_days=round(float(np.quantile(wd, 0.9)), 3),
    )
