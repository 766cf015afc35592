"""Bad filters give one clear sentence (no traceback), through the API and the CLI."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest
from typer.testing import CliRunner

from dvcflow.cli import app
from dvcflow.errors import FilterError
from mining.filters import LogFilter
from mining.log import load_log
from tests.mining.conftest import event, write_rows


@pytest.fixture
def small(store):
    rows = []
    for i, (prov, ch) in enumerate([("79", "online"), ("79", "counter"), ("01", "online")]):
        case = f"K{i}"
        t = datetime(2025, 7, 1 + i, 9, 0)
        rows += [
            event(case, "submit", t, province=prov, channel=ch),
            event(case, "receive", t.replace(hour=10), province=prov, org_unit=f"C{prov}"),
            event(case, "return_result", t.replace(hour=15), province=prov, outcome="approved"),
        ]
    return write_rows(store, rows)


def run(store, *args: str):
    return CliRunner().invoke(app, ["--data-dir", str(store.data_dir), "analyze", *args])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--procedure", "9.999999"], "--procedure 9.999999: no such procedure"),
        (["--procedure", "2.001610", "--province", "48"], "no dossier matches the filter"),
        (["--from", "2025-08-01", "--to", "2025-07-01"], "--from 2025-08-01 and --to 2025-07-01"),
        (["--channel", "fax"], "--channel fax: not one of"),
    ],
)
def test_bad_filter_is_one_line_without_traceback(small, args, needle):
    result = run(small, *args)
    assert result.exit_code == 2
    text = result.output
    assert needle in text
    assert "Traceback" not in text
    assert len([line for line in text.splitlines() if line.strip()]) <= 2  # may wrap once


def test_empty_store_is_named(tmp_path):
    from ingest.store import EventStore

    with pytest.raises(FilterError, match="is empty"):
        load_log(EventStore(tmp_path / "nothing"), LogFilter())


def test_whole_dossier_filters(small):
    def ids(**kw):
        con = load_log(small, LogFilter(**kw))
        return sorted(r[0] for r in con.execute("SELECT case_id FROM cases").fetchall())

    assert ids(province="79") == ["K0", "K1"]
    assert ids(channel="online") == ["K0", "K2"]
    # a location keeps a dossier by its owner (its first registration), not by any event
    assert ids(org_unit="C00001") == ["K0", "K1", "K2"]
    with pytest.raises(FilterError):
        ids(org_unit="C01")  # K2 passed through C01 but was received elsewhere
    # dates select by receipt (first event); the dossier keeps all its events
    from datetime import date

    assert ids(date_from=date(2025, 7, 2), date_to=date(2025, 7, 2)) == ["K1"]
    con = load_log(small, LogFilter(date_from=date(2025, 7, 2), date_to=date(2025, 7, 2)))
    assert con.execute("SELECT count(*) FROM log").fetchone()[0] == 3


def test_json_document_has_the_issue_keys(small):
    result = run(small, "--procedure", "2.001610", "--json")
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout)
    for key in ("procedure", "cases", "events", "dfg", "bottlenecks", "sla", "rework"):
        assert key in doc
    assert {"variants", "conformance"} <= set(doc)
    assert doc["events"] == 9 and doc["cases"]["count"] == 3
    assert doc["procedure"]["code"] == "2.001610"


def test_export_bpmn_and_pnml_hold_the_discovered_activities(small, tmp_path):
    import pm4py

    bpmn, pnml = tmp_path / "m.bpmn", tmp_path / "m.pnml"
    result = run(small, "--export-bpmn", str(bpmn), "--export-pnml", str(pnml), "--top", "3")
    assert result.exit_code == 0, result.output
    net, _, _ = pm4py.read_pnml(str(pnml))
    labels = {t.label for t in net.transitions if t.label}
    assert labels == {"submit", "receive", "return_result"}
    tasks = {n.get_name() for n in pm4py.read_bpmn(str(bpmn)).get_nodes() if n.get_name()}
    assert labels <= tasks


def test_filter_errors_are_structured_not_worded_for_a_front_end(small):
    """Mining says which field, which value and why; the option names are the CLI's."""
    with pytest.raises(FilterError) as caught:
        load_log(small, LogFilter(procedure="9.999999"))
    err = caught.value
    assert (err.field, err.value) == ("procedure", "9.999999")
    assert "no such procedure" in err.reason and "2.001610" in err.reason  # what it has
    assert str(small.data_dir) not in str(err) and "--" not in str(err)
    assert err.worded({"procedure": "--procedure"}).startswith("--procedure 9.999999: ")
    from datetime import date

    with pytest.raises(FilterError) as caught:
        LogFilter(date_from=date(2025, 8, 1), date_to=date(2025, 7, 1))
    err = caught.value
    assert (err.field, err.value, err.also) == (
        "date_from",
        date(2025, 8, 1),
        ("date_to", date(2025, 7, 1)),
    )
    assert err.worded({"date_from": "from", "date_to": "to"}, sep="=").startswith(
        "from=2025-08-01 and to=2025-07-01: "
    )
