"""Due dates and on-time status on a hand-made log with a public holiday inside the deadline,
checked against a plain-Python computation written from the rules, not from the code."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from mining.analysis import AnalysisOptions, analyze
from mining.deadlines import DeadlineRules, build_deadlines
from mining.filters import LogFilter
from mining.log import load_log
from tests.mining.conftest import VN, event, write_rows

# 2.001610 (business registration): 3 working days. National Day 2025: Mon 1 + Tue 2 Sept.
DEADLINE = 3
HOLIDAYS = {date(2025, 9, 1), date(2025, 9, 2)}
AS_OF = datetime(2025, 9, 5, 12, 0, tzinfo=VN)
STEPS = ["submit", "receive", "pay_fee", "check_business_name", "appraise", "approve"]


def working(d: date) -> bool:
    return d.weekday() < 5 and d not in HOLIDAYS


def expected_due(received: datetime, n: int) -> datetime:
    day = received.date()
    while not working(day):
        day += timedelta(days=1)
    for _ in range(n):
        day += timedelta(days=1)
        while not working(day):
            day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=VN)


def working_time(a: datetime, b: datetime) -> float:
    """Working days elapsed from a to b: each working day's overlap with [a, b], in days."""
    total, day = 0.0, a.date()
    while day <= b.date():
        if working(day):
            lo = max(a, datetime(day.year, day.month, day.day, tzinfo=VN))
            hi = min(b, datetime(day.year, day.month, day.day, tzinfo=VN) + timedelta(days=1))
            total += max((hi - lo).total_seconds(), 0) / 86400
        day += timedelta(days=1)
    return total


def dossier(case, received, finished=None, supplements=(), due_date=None):
    """A dossier through the statutory steps; processing ends at ``finished`` and the result
    is picked up two days later; supplements = [(requested, answered)]."""
    rows = [
        event(
            case,
            "submit",
            received,
            channel="online",
            attributes={"due_date": due_date} if due_date else None,
        ),
        event(case, "receive", received + timedelta(minutes=30)),
    ]
    for req, ans in supplements:
        rows += [event(case, "request_supplement", req), event(case, "submit_supplement", ans)]
    if finished:
        t0 = max([received + timedelta(hours=1)] + [a for _, a in supplements])
        for i, step in enumerate(STEPS[2:-1]):
            rows.append(event(case, step, min(t0 + timedelta(minutes=i + 1), finished)))
        rows.append(event(case, STEPS[-1], finished))
        rows.append(event(case, "return_result", finished + timedelta(days=2), outcome="approved"))
    return rows


FRI = datetime(2025, 8, 29, 10, 0)
CASES = {
    "A": dict(received=FRI, finished=datetime(2025, 9, 5, 16, 0)),  # on the due day
    "B": dict(received=FRI, finished=datetime(2025, 9, 4, 9, 0)),
    "C": dict(received=FRI, finished=datetime(2025, 9, 8, 9, 0)),
    "D": dict(  # 5 calendar days (1 working day) waiting for the citizen are not counted
        received=FRI,
        finished=datetime(2025, 9, 8, 10, 0),
        supplements=[(datetime(2025, 8, 29, 14, 0), datetime(2025, 9, 3, 14, 0))],
    ),
    "E": dict(  # two supplement requests: late by the national-index rule
        received=FRI,
        finished=datetime(2025, 9, 3, 9, 0),
        supplements=[
            (datetime(2025, 8, 29, 11, 0), datetime(2025, 8, 29, 12, 0)),
            (datetime(2025, 8, 29, 13, 0), datetime(2025, 8, 29, 14, 0)),
        ],
    ),
    "F": dict(received=datetime(2025, 8, 29, 16, 0)),  # open
    "G": dict(received=datetime(2025, 9, 4, 9, 0)),  # open
    "H": dict(received=datetime(2025, 8, 27, 9, 0)),  # open
    "I": dict(  # the source's own due date wins over the catalog
        received=datetime(2025, 8, 28, 9, 0),
        finished=datetime(2025, 9, 2, 10, 0),
        due_date="2025-09-01T17:00:00",
    ),
}


def expected_status(spec: dict, rules: DeadlineRules) -> str:
    """The rules in working time: the citizen's supplement wait and days off cost nothing."""
    received = spec["received"].replace(tzinfo=VN)
    if spec.get("due_date"):
        due = datetime.fromisoformat(spec["due_date"]).replace(tzinfo=VN)
    else:
        due = expected_due(received, DEADLINE)
    sups = [(r.replace(tzinfo=VN), a.replace(tzinfo=VN)) for r, a in spec.get("supplements", ())]
    wait = sum(working_time(r, a) for r, a in sups)
    end = spec["finished"].replace(tzinfo=VN) if spec.get("finished") else AS_OF
    used, allowed = working_time(received, end) - wait, working_time(received, due)
    if spec.get("finished"):
        if len(sups) > rules.max_supplements_on_time or used > allowed:
            return "late"
        # the working day on which processing (less the wait) ended, counted from receipt
        day_end = working_time(received.replace(hour=0, minute=0), end) - wait
        day_due = working_time(received.replace(hour=0, minute=0), due)
        return "early" if int(day_end) < int(day_due) else "on_time"
    if used > allowed:
        return "overdue"
    return "at_risk" if used / allowed > rules.at_risk_share else "within"


@pytest.fixture
def loaded(store):
    rows = [r for case, spec in CASES.items() for r in dossier(case, **spec)]
    write_rows(store, rows)
    return store


def test_status_per_dossier_matches_hand_computation(loaded):
    rules = DeadlineRules(max_supplements_on_time=1, at_risk_share=0.8)
    con = load_log(loaded, LogFilter(procedure="2.001610"))
    assert build_deadlines(con, DEADLINE, rules, as_of=AS_OF)
    got = dict(con.execute("SELECT case_id, status FROM deadlines").fetchall())
    want = {case: expected_status(spec, rules) for case, spec in CASES.items()}
    assert got == want
    # the holiday is what makes A on time: without it, its due day would be 3 September
    assert want["A"] == "on_time"
    dues = dict(con.execute("SELECT case_id, due_at FROM deadlines").fetchall())
    assert dues["A"] == expected_due(FRI.replace(tzinfo=VN), DEADLINE)
    assert dues["A"].date() == date(2025, 9, 5)


def test_on_time_rate_of_full_analysis_equals_hand_computation(loaded):
    rules = DeadlineRules.from_settings()
    result = analyze(loaded, LogFilter(procedure="2.001610"), AnalysisOptions(as_of=AS_OF))
    statuses = [expected_status(spec, rules) for spec in CASES.values()]
    finished = [s for s in statuses if s in ("early", "on_time", "late")]
    rate = sum(s != "late" for s in finished) / len(finished)
    assert result["sla"]["on_time_rate"] == pytest.approx(rate)
    assert result["sla"]["counts"]["overdue"] == statuses.count("overdue")
    assert result["procedure"]["deadline_working_days"] == DEADLINE


def test_supplement_wait_is_counted_only_when_the_setting_says_so(loaded):
    con = load_log(loaded, LogFilter(procedure="2.001610"))
    build_deadlines(con, DEADLINE, DeadlineRules(exclude_supplement_wait=False), as_of=AS_OF)
    status = con.execute("SELECT status FROM deadlines WHERE case_id = 'D'").fetchone()[0]
    assert status == "late"  # 8 Sept is after the 5 Sept due day once the wait counts


def test_no_catalog_entry_means_no_due_date(store):
    write_rows(store, dossier("X", FRI, datetime(2025, 9, 1, 9, 0)))
    con = load_log(store, LogFilter())
    assert not build_deadlines(con, None, as_of=AS_OF)
    assert con.execute("SELECT status FROM deadlines").fetchone()[0] is None


def test_a_due_date_arriving_in_a_later_batch_is_read(store):
    """Mining skips the wide ``attributes`` column while no event names a due date (a store
    fact); a batch that brings one makes a new store version, whose facts say to read it."""
    write_rows(store, dossier("X", FRI, datetime(2025, 9, 8, 9, 0)))
    con = load_log(store, LogFilter())
    assert not store.facts().due_dates
    assert con.execute("SELECT count(due_attr) FROM cases").fetchone()[0] == 0
    given = "2025-09-10T17:00:00"
    write_rows(store, dossier("Y", FRI, datetime(2025, 9, 8, 9, 0), due_date=given), "later")
    con = load_log(store, LogFilter())
    assert store.facts().due_dates
    assert build_deadlines(con, None, as_of=AS_OF)  # only the source's due date gives one
    dues = dict(con.execute("SELECT case_id, due_at FROM deadlines").fetchall())
    assert dues["X"] is None
    assert dues["Y"] == datetime.fromisoformat(given).replace(tzinfo=VN)
