"""The working-day calendar on dates checked by hand against the 2025-2026 calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from dvcflow.errors import DvcflowError
from dvcflow.settings import get_settings
from sample_logs.workdays import WorkCalendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar(extra_holidays=(), extra_workdays=(), cutoff_hour=15)


def due(cal: WorkCalendar, received: str, n: int) -> date:
    moment = cal.add_working_days(datetime.fromisoformat(received).replace(tzinfo=VN), n)
    assert (moment.hour, moment.minute, moment.tzinfo) == (23, 59, VN)
    return moment.date()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2026-02-16", False),  # Tết 2026: 16-20 February
        ("2026-02-17", False),
        ("2026-02-20", False),
        ("2026-02-23", True),
        ("2026-02-13", True),
        ("2025-09-01", False),  # National Day 2025: 1-2 September
        ("2025-09-02", False),
        ("2025-09-03", True),
        ("2026-04-30", False),
        ("2026-05-01", False),
        ("2026-05-04", True),
        ("2026-01-01", False),
        ("2026-01-03", False),  # a Saturday
        ("2026-01-05", True),
    ],
)
def test_working_days(cal: WorkCalendar, day: str, working: bool) -> None:
    assert cal.is_working_day(date.fromisoformat(day)) is working


def test_deadlines_across_tet_and_holidays(cal: WorkCalendar) -> None:
    # Thu 12 Feb 2026 + 3: Fri 13 (1), Tết + weekend, Mon 23 (2), Tue 24 (3).
    assert due(cal, "2026-02-12T09:00", 3) == date(2026, 2, 24)
    # 10 working days from Mon 9 Feb: 10,11,12,13, 23,24,25,26,27, 2 March.
    assert due(cal, "2026-02-09T10:00", 10) == date(2026, 3, 2)
    # Tue 28 Apr + 2: Wed 29 (1), 30/4 and 1/5 off, weekend, Mon 4 May (2).
    assert due(cal, "2026-04-28T10:00", 2) == date(2026, 5, 4)
    # Fri 29 Aug 2025 + 2: 1-2 Sep off -> Wed 3 (1), Thu 4 (2).
    assert due(cal, "2025-08-29T08:00", 2) == date(2025, 9, 4)


def test_same_day_cutoff(cal: WorkCalendar) -> None:
    assert due(cal, "2026-01-05T14:59", 0) == date(2026, 1, 5)
    assert due(cal, "2026-01-05T15:30", 0) == date(2026, 1, 6)
    assert due(cal, "2026-02-13T16:00", 0) == date(2026, 2, 23)  # after 15:00 before Tết
    # Received online on a Saturday: counts from Monday, the cut-off does not push further.
    assert due(cal, "2026-01-10T20:00", 0) == date(2026, 1, 12)
    # An aware UTC time is converted first: 09:00 UTC is 16:00 in Hà Nội.
    utc = datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo("UTC"))
    assert cal.add_working_days(utc, 0).date() == date(2026, 1, 6)


def test_extra_holidays_and_workdays() -> None:
    cal = WorkCalendar(extra_holidays=["2026-01-02"], extra_workdays=["2026-01-10"])
    assert not cal.is_working_day(date(2026, 1, 2))
    assert cal.is_working_day(date(2026, 1, 10))
    # Wed 31 Dec + 2: 1 Jan off, 2 Jan declared off, weekend, Mon 5 (1), Tue 6 (2).
    assert cal.add_working_days(datetime(2025, 12, 31, 9), 2).date() == date(2026, 1, 6)
    days = np.array(["2026-01-09"], dtype="datetime64[D]")
    assert cal.offset_days(days, 1)[0] == np.datetime64("2026-01-10")


def test_settings_feed_the_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVCFLOW_EXTRA_HOLIDAYS", '["2026-01-02"]')
    monkeypatch.setenv("DVCFLOW_SAME_DAY_CUTOFF_HOUR", "11")
    get_settings.cache_clear()
    try:
        cal = WorkCalendar()
        assert not cal.is_working_day(date(2026, 1, 2)) and cal.cutoff_hour == 11
        monkeypatch.setenv("DVCFLOW_EXTRA_WORKDAYS", '["10/01/2026"]')
        get_settings.cache_clear()
        with pytest.raises(DvcflowError, match="setting extra_workdays: '10/01/2026'"):
            WorkCalendar()
    finally:
        get_settings.cache_clear()


def test_working_time_between(cal: WorkCalendar) -> None:
    fri = datetime(2026, 1, 2, 16, 0, tzinfo=VN)  # 2 Jan 2026 is a Friday and a working day
    mon = datetime(2026, 1, 5, 8, 0, tzinfo=VN)
    assert cal.working_days_between(fri, mon) == pytest.approx(8 / 24 + 8 / 24)
    before_tet = datetime(2026, 2, 13, 12, 0, tzinfo=VN)
    after_tet = datetime(2026, 2, 23, 12, 0, tzinfo=VN)
    assert cal.working_days_between(before_tet, after_tet) == pytest.approx(1.0)
    assert cal.working_days_between(after_tet, before_tet) == pytest.approx(-1.0)


def test_vectorised_helpers_agree_with_the_scalar_ones(cal: WorkCalendar) -> None:
    rng = np.random.default_rng(3)
    start = np.datetime64("2025-06-01")
    days = start + rng.integers(0, 500, 300).astype("timedelta64[D]")
    n = rng.integers(0, 25, 300)
    vector = cal.offset_days(days, n)
    hols = cal.holidays_array(2025, 2027)
    numpy_way = np.busday_offset(days, n, roll="forward", holidays=hols)
    for d, k, v, nw in zip(days.tolist(), n.tolist(), vector, numpy_way, strict=True):
        scalar = cal.next_working_day(d)
        for _ in range(k):
            scalar = cal.next_working_day(scalar + timedelta(days=1))
        assert v == np.datetime64(scalar) == nw
    assert np.datetime64("2026-02-17") in hols and np.datetime64("2026-02-14") not in hols


def test_empty_columns(cal: WorkCalendar) -> None:
    empty = np.array([], dtype="datetime64[us]")
    assert cal.working_days_between_arrays(empty, empty).shape == (0,)
    assert cal.offset_days(empty.astype("datetime64[D]"), 3).shape == (0,)
    assert cal.roll_forward(empty.astype("datetime64[D]")).shape == (0,)
