"""The Vietnamese working-day calendar that statutory deadlines are counted in.

Weekends and public holidays (Tết included, from the ``holidays`` package's ``VN``) do not
count; ``settings.extra_holidays`` adds the yearly swapped days off and
``settings.extra_workdays`` the Saturdays worked in exchange. Scalar helpers serve single
dossiers; the array helpers do the same maths on whole columns with numpy.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import numpy as np

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings, or_environment

_DAY_US = 86_400_000_000


@cache
def _vietnam_holidays() -> type[holidays.HolidayBase]:
    """The ``holidays`` class for Vietnam, loaded from its own module file.

    ``holidays.country_holidays("VN")`` imports ``holidays.countries``, whose ``__init__``
    imports every country (~0.3 s per process); ``vietnam.py`` needs only the calendars and
    groups modules. Falls back to the registry when the package layout differs.
    """
    path = Path(holidays.__file__).parent / "countries" / "vietnam.py"
    spec = importlib.util.spec_from_file_location("dvcflow_holidays_vn", path)
    if spec is None or spec.loader is None:
        return holidays.country_holidays("VN").__class__
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        return module.Vietnam
    except (ImportError, AttributeError, OSError):
        return holidays.country_holidays("VN").__class__


def _parse_days(values: Iterable[str | date], setting: str) -> set[date]:
    out: set[date] = set()
    for value in values:
        if isinstance(value, date):
            out.add(value)
            continue
        try:
            out.add(date.fromisoformat(str(value).strip()))
        except ValueError:
            raise DvcflowError(
                f"setting {setting}: {value!r} is not a date in YYYY-MM-DD form."
            ) from None
    return out


class WorkCalendar:
    """Vietnam's working days: Monday-Friday minus public holidays, plus declared workdays.

    ``extra_holidays`` / ``extra_workdays`` / ``cutoff_hour`` / ``timezone`` default to
    ``settings`` (``DVCFLOW_EXTRA_HOLIDAYS``, ``DVCFLOW_EXTRA_WORKDAYS``,
    ``DVCFLOW_SAME_DAY_CUTOFF_HOUR``, ``DVCFLOW_TIMEZONE``); without ``settings``, the
    environment's (``or_environment``, for notebooks).
    """

    def __init__(
        self,
        extra_holidays: Iterable[str | date] | None = None,
        extra_workdays: Iterable[str | date] | None = None,
        cutoff_hour: int | None = None,
        timezone: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        settings = or_environment(settings)
        self.extra_holidays = _parse_days(
            settings.extra_holidays if extra_holidays is None else extra_holidays,
            "extra_holidays",
        )
        self.extra_workdays = _parse_days(
            settings.extra_workdays if extra_workdays is None else extra_workdays,
            "extra_workdays",
        )
        self.cutoff_hour = settings.same_day_cutoff_hour if cutoff_hour is None else cutoff_hour
        self.tz = ZoneInfo(timezone or settings.timezone)
        self._years: tuple[int, int] | None = None
        self._public: set[date] = set()
        self._workdays = np.array([], dtype="datetime64[D]")

    # --- the day table --------------------------------------------------------------------
    def _ensure(self, first_year: int, last_year: int) -> None:
        """Build (or widen) the sorted table of working days covering these years."""
        if self._years and self._years[0] <= first_year and last_year <= self._years[1]:
            return
        if self._years:
            first_year = min(first_year, self._years[0])
            last_year = max(last_year, self._years[1])
        years = range(first_year - 1, last_year + 2)  # a margin for offsets across New Year
        self._public = set(_vietnam_holidays()(years=years).keys())
        days = np.arange(
            np.datetime64(f"{years[0]}-01-01"), np.datetime64(f"{years[-1] + 1}-01-01")
        )
        off = np.array(sorted(self._public | self.extra_holidays), dtype="datetime64[D]")
        work = np.is_busday(days, holidays=off)
        if self.extra_workdays:
            extra = np.array(sorted(self.extra_workdays), dtype="datetime64[D]")
            work |= np.isin(days, extra)
        self._workdays = days[work]
        self._years = (years[0], years[-1])

    def _ensure_dates(self, *days: np.ndarray | date) -> None:
        years = [np.asarray(d, dtype="datetime64[D]").astype("datetime64[Y]") for d in days]
        years = [y for y in years if y.size]
        if not years:
            self._ensure(1970, 1970)  # empty columns: any table will do
            return
        lo = int(min(y.min() for y in years).astype(int)) + 1970
        hi = int(max(y.max() for y in years).astype(int)) + 1970
        self._ensure(lo, hi)

    # --- scalar helpers -------------------------------------------------------------------
    def is_working_day(self, day: date | datetime) -> bool:
        d = day.date() if isinstance(day, datetime) else day
        if d in self.extra_workdays:
            return True
        if d in self.extra_holidays or d.weekday() >= 5:
            return False
        self._ensure(d.year, d.year)
        return d not in self._public

    def next_working_day(self, day: date, *, include_self: bool = True) -> date:
        d = day if include_self else day + timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def local(self, moment: datetime) -> datetime:
        """``moment`` in local time (naive values are taken as already local)."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.tz)
        return moment.astimezone(self.tz)

    def receipt_day(self, received: datetime) -> date:
        """The working day a dossier counts as received (outside working days: the next)."""
        return self.next_working_day(self.local(received).date())

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Due moment: end of the n-th working day after the receipt day, local time.

        n = 0 is the same day, or the next working day when received after the cut-off hour.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        received = self.local(start)
        day = self.receipt_day(received)
        late = day == received.date() and received.hour >= self.cutoff_hour
        steps = n if n > 0 else (1 if late else 0)
        for _ in range(steps):
            day = self.next_working_day(day, include_self=False)
        return datetime.combine(day, time(23, 59, 59), tzinfo=self.tz)

    def working_days_between(self, a: datetime, b: datetime) -> float:
        """Elapsed time from a to b in working days (non-working days cost nothing)."""
        out = self.working_days_between_arrays(
            np.array([_local_naive64(self.local(a))]), np.array([_local_naive64(self.local(b))])
        )
        return float(out[0])

    # --- vectorised helpers ---------------------------------------------------------------
    def holidays_array(self, start_year: int, end_year: int) -> np.ndarray:
        """Days off that fall on weekdays, for ``numpy.busday_offset/busday_count``.

        Extra workdays on weekends cannot be expressed this way; use ``offset_days`` /
        ``working_days_between_arrays`` when they matter.
        """
        self._ensure(start_year, end_year)
        off = {d for d in self._public | self.extra_holidays if start_year <= d.year <= end_year}
        return np.array(sorted(off), dtype="datetime64[D]")

    def workdays_array(self, start_year: int, end_year: int) -> np.ndarray:
        """All working days of these years, sorted (datetime64[D])."""
        self._ensure(start_year, end_year)
        lo = np.datetime64(f"{start_year}-01-01")
        hi = np.datetime64(f"{end_year + 1}-01-01")
        wd = self._workdays
        return wd[(wd >= lo) & (wd < hi)]

    def roll_forward(self, days: np.ndarray) -> np.ndarray:
        """Each day, or the first working day after it when it is a day off."""
        days = np.asarray(days, dtype="datetime64[D]")
        self._ensure_dates(days)
        idx = np.searchsorted(self._workdays, days, side="left")
        return self._workdays[idx]

    def offset_days(self, days: np.ndarray, n: np.ndarray | int) -> np.ndarray:
        """The n-th working day after each day (rolled forward first when a day off)."""
        days = np.asarray(days, dtype="datetime64[D]")
        n = np.asarray(n, dtype=np.int64)
        self._ensure_dates(days, days + n.max(initial=0) * 2 + 30)
        idx = np.searchsorted(self._workdays, days, side="left") + n
        return self._workdays[idx]

    def working_days_between_arrays(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Vectorised ``working_days_between`` on local naive datetime64 columns."""
        a = np.asarray(a, dtype="datetime64[us]")
        b = np.asarray(b, dtype="datetime64[us]")
        sign = np.where(b < a, -1.0, 1.0)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        self._ensure_dates(lo.astype("datetime64[D]"), hi.astype("datetime64[D]"))
        return sign * (self._work_time(hi) - self._work_time(lo))

    def _work_time(self, t: np.ndarray) -> np.ndarray:
        """Working days elapsed from the table's start until each instant t."""
        day = t.astype("datetime64[D]")
        before = np.searchsorted(self._workdays, day, side="left")
        idx = np.minimum(before, len(self._workdays) - 1)
        is_work = self._workdays[idx] == day
        frac = (t - day.astype("datetime64[us]")).astype(np.int64) / _DAY_US
        return before + np.where(is_work, frac, 0.0)


def _local_naive64(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.replace(tzinfo=None), "us")


_calendars: dict[tuple, WorkCalendar] = {}


def default_calendar(settings: Settings | None = None) -> WorkCalendar:
    """The calendar of ``settings`` (without: the environment's, for notebooks), built once
    per distinct calendar settings."""
    settings = or_environment(settings)
    key = (
        tuple(map(str, settings.extra_holidays)),
        tuple(map(str, settings.extra_workdays)),
        settings.same_day_cutoff_hour,
        settings.timezone,
    )
    cal = _calendars.get(key)
    if cal is None:
        cal = _calendars.setdefault(key, WorkCalendar(settings=settings))
    return cal
