"""The pages rendered in-process: each opens filled with its figures (one round trip), the
numbers it shows are mining's for the same filters, and a selected step is kept by name."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from typing import Any

import pytest

from dashboard.app import url_filters
from dashboard.pages import PAGES, bottlenecks, reform
from dashboard.service import Service
from dvcflow.settings import Settings
from ingest.store import EventStore
from mining.filters import LogFilter
from mining.reform import impact
from tests.dashboard.conftest import fill_store, generated_store, hand_made_events

CASES = 120
PROC = "1.001193"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    return fill_store(tmp_path_factory.mktemp("pages") / "data", CASES)


@pytest.fixture(scope="module")
def svc(store: EventStore) -> Service:
    return Service(Settings(data_dir=store.data_dir, web_warm_cache=False)).for_dashboard()


def values(svc: Service, procedure: str | None = PROC) -> tuple:
    return (procedure, None, None, None, None, None, svc.version())


def walk(component: Any):
    """Every component under ``component`` (children only, depth first)."""
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "_type"):
            yield from walk(child)


def by_id(component: Any, wanted: str) -> Any:
    found = [c for c in walk(component) if getattr(c, "id", None) == wanted]
    assert found, f"no #{wanted} on the page"
    return found[0]


def text(component: Any) -> str:
    return " ".join(str(c.children) for c in walk(component) if isinstance(c.children, str))


@pytest.mark.parametrize("name", [n for n in PAGES if n != "case"])
def test_every_page_opens_filled_without_an_error(svc, name):
    page = PAGES[name].render(svc, values(svc), "en")
    errors = [c for c in walk(page) if "notice-err" in (getattr(c, "className", "") or "")]
    assert not errors, text(errors[0])
    expected = {
        "overview": "card-cases",
        "explorer": "ex-cytoscape",
        "bottlenecks": "bn-steps",
        "reform": "rf-candidates",
        "compare": "cmp-table",
        "warning": "wn-card-open",
    }[name]
    by_id(page, expected)


def test_overview_opens_with_the_count_of_the_filtered_dossiers(svc):
    events = hand_made_events(CASES)
    want = len({e["case_id"] for e in events if e["procedure_code"] == PROC})
    page = PAGES["overview"].render(svc, values(svc), "vi")
    shown = text(by_id(page, "card-cases-value"))
    assert int(shown.replace(".", "")) == want  # Vietnamese thousands: "1.234"


def test_case_page_opens_on_the_dossier_of_the_link(svc):
    page = PAGES["case"].render(svc, values(svc), "en", "?id=C0001")
    rows = by_id(page, "case-events").data
    events = [e for e in hand_made_events(CASES) if e["case_id"] == "C0001"]
    assert [r["activity__code"] for r in rows] == [e["activity"] for e in events]


def test_a_picked_step_stays_selected_by_name_wherever_it_ranks(svc):
    waits = svc.section(LogFilter(procedure=PROC), "bottlenecks")["waits"]
    assert len(waits) >= 3
    for rank in (len(waits) - 1, 1):
        picked = waits[rank]["activity"]
        body = bottlenecks.body(svc, *values(svc), picked, "en")
        table = by_id(body, "bn-steps")
        assert table.selected_rows == [rank]
        assert table.data[rank]["activity__code"] == picked
    gone = bottlenecks.body(svc, *values(svc), "no such step", "en")
    assert by_id(gone, "bn-steps").selected_rows == []


def test_tables_keep_state_per_filters_not_per_store_version(svc):
    first = by_id(bottlenecks.body(svc, *values(svc), None, "en"), "bn-steps")
    later = values(svc)[:-1] + ("another store version",)
    again = by_id(bottlenecks.body(svc, *later, None, "en"), "bn-steps")
    other = by_id(bottlenecks.body(svc, *values(svc, "2.000001"), None, "en"), "bn-steps")
    assert first.persistence == again.persistence != other.persistence
    assert "sort_by" in first.persisted_props


def test_impact_rows_are_minings_before_and_after(svc, store):
    received = sorted(
        e["timestamp"][:10]
        for e in hand_made_events(CASES)
        if e["procedure_code"] == PROC and e["activity"] == "submit"
    )
    when = date.fromisoformat(received[len(received) // 2]) + timedelta(days=1)
    want = impact(store, LogFilter(procedure=PROC), when)
    rows = reform.impact_rows(want, "en")
    assert [r["key"] for r in rows] == list(want["measures"])
    supported = 0
    for row in rows:
        m = want["measures"][row["key"]]
        if not m["supported"]:
            continue
        supported += 1
        scale, tol = (100, 0.06) if m["statistic"] == "share" else (1, 0.006)
        for name in ("before", "after", "difference"):
            got = float(re.findall(r"-?[\d.]+", row[name])[0])
            assert got == pytest.approx(scale * m[name], abs=tol), (row["key"], name)
        if m["p_holm"] is None:  # no test possible (e.g. a share of 0 on both sides)
            assert row["p_holm"] == "–"
        else:
            assert float(row["p_holm"]) == pytest.approx(m["p_holm"], abs=6e-5)
    assert supported >= 2


def test_a_shared_link_names_its_filters():
    assert url_filters("?procedure=1.001193&province=79") == ("1.001193", "79", None, None, None)
    assert url_filters("?procedure=&province=") == (None,) * 5
    assert url_filters("?id=C0001") is None
    assert url_filters(None) is None


def test_no_step_change_where_every_step_runs_throughout(svc):
    assert svc.step_changes(LogFilter(procedure=PROC)) == []
    assert svc.step_changes(LogFilter()) == []  # a change belongs to one procedure


def test_the_planted_reform_is_offered_as_a_step_change(tmp_path):
    import duckdb

    from sample_logs.generator.profiles import Planted

    planted = Planted()
    store = generated_store(tmp_path / "data", 400)
    settings = Settings(data_dir=store.data_dir, web_warm_cache=False)
    found = Service(settings).step_changes(LogFilter(procedure=planted.reform_procedure))
    stopped = {c["activity"]: c["date"] for c in found if c["change"] == "stopped"}
    assert planted.reform_step in stopped
    # Independently: the day after the last local received date of a dossier with the step.
    files = [str(f) for f in store.files()]
    last = duckdb.sql(
        "WITH ev AS (SELECT * FROM read_parquet($files, union_by_name => true) "
        "WHERE procedure_code = $proc), "
        "received AS (SELECT case_id, min(timestamp) AS t FROM ev GROUP BY case_id) "
        "SELECT max(timezone($tz, t))::DATE FROM received "
        "WHERE case_id IN (SELECT case_id FROM ev WHERE activity = $step)",
        params={
            "files": files,
            "proc": planted.reform_procedure,
            "tz": settings.timezone,
            "step": planted.reform_step,
        },
    ).fetchone()[0]
    assert stopped[planted.reform_step] == last + timedelta(days=1)
    assert planted.reform_date - timedelta(days=30) < last < planted.reform_date


class _OnePass(threading.Event):
    """A stop event that ends ``Service.warm`` when its first pass waits for new data."""

    def wait(self, timeout: float | None = None) -> bool:
        self.set()
        return True


def test_warming_computes_each_procedures_busiest_provinces(store: EventStore, monkeypatch):
    svc = Service(Settings(data_dir=store.data_dir, web_warm_cache=False, web_warm_provinces=1))
    computed: list[tuple] = []
    real_get = svc._cache.get

    def counting_get(key, version, compute, stale_seconds=0.0):
        def counted():
            computed.append(key)
            return compute()

        return real_get(key, version, counted, stale_seconds)

    monkeypatch.setattr(svc._cache, "get", counting_get)
    svc.warm(_OnePass())

    # Independently, from the events written: dossiers per (procedure, province).
    dossiers: dict[str, dict[str, set[str]]] = {}
    for e in hand_made_events(CASES):
        if e.get("province_code"):
            by = dossiers.setdefault(e["procedure_code"], {})
            by.setdefault(e["province_code"], set()).add(e["case_id"])
    assert any(len(by) > 1 for by in dossiers.values())  # else the limit is not exercised
    for procedure, by in dossiers.items():
        ranked = sorted(by, key=lambda p: (-len(by[p]), p))
        for rank, province in enumerate(ranked):
            flt = LogFilter(procedure=procedure, province=province)
            key = ("analysis", flt.key(), ())
            assert (key in computed) == (rank < 1), (procedure, province, rank)
            if rank < 1:
                before = len(computed)
                assert svc.section(flt, "cases")["count"] == len(by[province])
                index = ("reform.service_index", flt.key(), (("by", "commune"),))
                assert index in computed
                assert ("reform.candidates", flt.key(), ()) in computed  # reform page
                assert len(computed) == before  # served from the warmed cache


def test_figures_are_what_go_figure_writes():
    """The pages write their figures as dicts (no validation cost on each redraw): the same
    JSON as ``plotly.graph_objects`` writes, template included."""
    import plotly.graph_objects as go

    from dashboard.pages import compare, overview

    series = [{"period": f"2025-{m:02d}", "open": m * 3 % 7} for m in range(1, 13)]
    want = go.Figure(
        go.Scatter(
            x=[p["period"] for p in series],
            y=[p["open"] for p in series],
            fill="tozeroy",
            name="wip",
        )
    ).update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=260)
    assert overview.trend_figure(series, "wip") == want.to_plotly_json()
    rows = [
        {"province": p, "on_time": 0.5, "online_submission": 0.25, "full_online": None}
        for p in ("01", "79")
    ]
    want = go.Figure(
        [
            go.Bar(x=["01", "79"], y=[r[m] for r in rows], name=m)
            for m in ("on_time", "online_submission", "full_online")
        ]
    ).update_layout(
        barmode="group",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=320,
        yaxis={"tickformat": ".0%"},
        legend={"orientation": "h"},
    )
    assert compare.chart(rows, "province") == want.to_plotly_json()


def test_stream_card_says_rebalancing_and_shows_no_lag_while_partitions_have_no_owner(
    tmp_path,
):
    """Health files as a sink writes them: one sink owns 2 of 4 partitions, one waits."""
    import time

    import orjson

    from dashboard.pages import overview

    folder = tmp_path / "stream"
    folder.mkdir()
    base = {"role": "sink", "host": "elsewhere", "pid": 1, "updated_at": time.time(),
            "topic_partitions": 4, "consumed": 10, "written": 10, "dlq": 0}  # fmt: skip
    docs = {
        "a": {**base, "state": "running", "partitions": [0, 1], "lag": 3},
        "b": {**base, "state": "rebalancing", "partitions": [], "lag": None},
    }
    for name, doc in docs.items():
        (folder / f"sink-{name}.json").write_bytes(orjson.dumps(doc))
    svc = Service(Settings(data_dir=tmp_path, web_warm_cache=False))
    for lang, label in (("vi", "Đang chia lại phân vùng"), ("en", "Rebalancing")):
        shown = overview.stream(svc, lang)
        assert text(by_id(shown, "stream-status")).endswith(label)
        assert text(by_id(shown, "stream-lag")).endswith("–")
    docs["b"].update(state="running", partitions=[2, 3], lag=4)
    (folder / "sink-b.json").write_bytes(orjson.dumps(docs["b"]))
    shown = overview.stream(svc, "en")
    assert text(by_id(shown, "stream-status")).endswith("Running")
    assert text(by_id(shown, "stream-lag")).endswith(" 7")
