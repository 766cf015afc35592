"""One dossier's timeline (``Service.case``, ``GET /api/v1/cases/{id}``, the case page): events
in the order mining counts them, and the due date and working days of the procedure's own
deadlines, not a second computation of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from dashboard.service import Service
from dvcflow.settings import Settings
from ingest.pseudonym import Pseudonymizer
from ingest.schema import rows_to_table, validate_event
from ingest.store import EventStore
from mining.analysis import AnalysisOptions, analyze_loaded
from mining.filters import LogFilter
from mining.log import load_log
from sample_logs.catalog import get_procedure
from sample_logs.workdays import default_calendar
from tests.conftest import TEST_KEY
from tests.dashboard.conftest import fill_store

PROC = "1.001193"  # in the catalog, with its legal limit; the hand-made events give no due date


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> EventStore:
    return fill_store(tmp_path_factory.mktemp("case") / "data", 120)


@pytest.fixture(scope="module")
def svc(store) -> Service:
    return Service(Settings(data_dir=store.data_dir, web_warm_cache=False))


@pytest.fixture(scope="module")
def deadlines(store) -> dict[str, tuple]:
    """The procedure's analysis's own ``deadlines`` rows, by dossier."""
    con = load_log(store, LogFilter(procedure=PROC))
    analyze_loaded(con, AnalysisOptions(discover=False, conformance=False))
    rows = con.execute(
        "SELECT case_id, due_at, status, working_days_used, elapsed_share FROM deadlines"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_the_due_date_and_working_days_are_the_analysis_own(svc, deadlines):
    assert len(deadlines) > 20
    for case_id, (due, status, used, share) in sorted(deadlines.items())[:25]:
        d = svc.case(case_id).deadline
        assert (d.due_at, d.status) == (due, status), case_id
        assert d.working_days_used == pytest.approx(used, abs=1e-3)
        assert d.elapsed_share == pytest.approx(share, abs=1e-4)


def test_the_due_date_is_the_catalog_limit_in_working_days(svc, deadlines):
    """Without a due date from the source: the end of the n-th working day after receipt."""
    limit = get_procedure(PROC).deadline_working_days
    calendar = default_calendar()
    for case_id in sorted(deadlines)[:10]:
        found = svc.case(case_id)
        received = found.events[0].timestamp
        assert found.deadline.deadline_working_days == limit
        assert found.deadline.due_at == calendar.add_working_days(received, limit)
        assert not found.deadline.due_from_source


def test_events_at_the_same_moment_keep_the_source_order(tmp_path):
    """Two events at one timestamp: the one the source sent first comes first (as mining
    orders them), whatever their event ids spell."""
    t0 = datetime(2025, 9, 3, 2, 0, tzinfo=UTC)
    steps = [("z-1", "submit", t0), ("y-2", "receive", t0 + timedelta(hours=2)),
             ("b-3", "appraise", t0 + timedelta(hours=5)),
             ("a-4", "approve", t0 + timedelta(hours=5)),
             ("c-5", "return_result", t0 + timedelta(hours=9))]  # fmt: skip
    pseudo = Pseudonymizer(TEST_KEY.encode())
    rows = [
        validate_event(
            {
                "event_id": eid,
                "case_id": "T-1",
                "procedure_code": PROC,
                "activity": activity,
                "timestamp": at.isoformat(),
                "org_unit": "C26734",
                "province_code": "79",
                "commune_code": "26734",
                "outcome": "approved" if activity == "return_result" else None,
            },
            pseudo,
        )
        for eid, activity, at in steps
    ]
    table = rows_to_table(rows)
    table = table.set_column(
        table.schema.get_field_index("source_order"),
        "source_order",
        pa.array(range(len(rows)), pa.int64()),
    )
    store = EventStore(tmp_path / "data")
    store.write(table, "ties")
    found = Service(Settings(data_dir=store.data_dir, web_warm_cache=False)).case("T-1")
    assert [e.activity for e in found.events] == [a for _, a, _ in steps]
    assert found.deadline.finished and found.deadline.status in ("early", "on_time")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_procedure_without_catalog_entry_has_no_due_date_and_still_draws(svc, lang):
    """A procedure the catalog does not know: its events by activity name, no due line, the
    cards say there is no legal limit (never an error box)."""
    from dashboard.pages.case import show

    case_id = "C0000"  # hand-made: procedure 2.000001, not in the catalog
    found = svc.case(case_id)
    assert found.procedure_code == "2.000001" and found.events
    d = found.deadline
    assert (d.due_at, d.status, d.deadline_working_days) == (None, None, None)
    page = str(show(svc, 0, case_id, None, lang))
    assert "notice-err" not in page and "case-deadline" in page
    assert ("Thủ tục không có thời hạn" if lang == "vi" else "No legal limit") in page
