"""``narrow_log``: a province, commune, channel or date pick answered from a procedure's
loaded log equals a fresh ``load_log`` of the store for that filter, figure for figure."""

from __future__ import annotations

import math
from datetime import date

import pytest

from dvcflow.errors import FilterError
from ingest.schema import conform_table
from ingest.store import EventStore
from mining.analysis import AnalysisOptions, analyze_loaded
from mining.filters import LogFilter
from mining.log import load_log, narrow_log
from sample_logs.generator import generate

PROCEDURE = "1.004193"
OPTIONS = AnalysisOptions(discover=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> EventStore:
    result = generate([PROCEDURE, "1.001193"], cases=1500, seed=5, out=None)
    store = EventStore(tmp_path_factory.mktemp("narrow") / "data")
    store.write(conform_table(result.table), "generated")
    return store


def same(a, b) -> bool:
    """Equal, floats to 1e-9 (aggregation order may differ)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def narrower_filters(store: EventStore) -> list[LogFilter]:
    con = load_log(store, LogFilter(procedure=PROCEDURE))
    province, commune, first = con.execute(
        "SELECT province_code, commune_code, min(first_ts)::DATE FROM cases "
        "GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    con.close()
    return [
        LogFilter(procedure=PROCEDURE, province=province),
        LogFilter(procedure=PROCEDURE, province=province, commune=commune),
        LogFilter(procedure=PROCEDURE, channel="online"),
        LogFilter(procedure=PROCEDURE, date_from=first, date_to=date(first.year, 12, 31)),
    ]


def test_every_figure_equals_a_fresh_load(store):
    parent = load_log(store, LogFilter(procedure=PROCEDURE))
    for flt in narrower_filters(store):
        fresh = analyze_loaded(load_log(store, flt), OPTIONS)
        narrowed_con = narrow_log(parent, flt)
        narrowed = analyze_loaded(narrowed_con, OPTIONS)
        assert fresh["cases"]["count"] < analyze_loaded(parent, OPTIONS)["cases"]["count"]
        assert same(narrowed, fresh), flt.describe()
        # the wide columns come back through the narrowed views too
        wide = "SELECT count(*), count(DISTINCT event_id) FROM log"
        assert (
            narrowed_con.execute(wide).fetchone() == load_log(store, flt).execute(wide).fetchone()
        )


def test_a_filter_that_matches_nothing_says_so(store):
    parent = load_log(store, LogFilter(procedure=PROCEDURE))
    with pytest.raises(FilterError, match="no dossier matches"):
        narrow_log(parent, LogFilter(procedure=PROCEDURE, province="no-such-province"))
