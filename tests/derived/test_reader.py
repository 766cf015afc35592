"""The dashboard's procedure list read from the derived layer equals the list read from the
raw events (whole store and owner-scoped), and falls back to the raw events the moment a
batch lands that the layer has not seen."""

from __future__ import annotations

import pytest

from dashboard.service import Service
from dvcflow.settings import Settings
from ingest.schema import conform_table
from ingest.store import EventStore
from mining.derived import derive
from mining.derived.read import procedure_summary
from mining.filters import LogFilter
from sample_logs.generator import generate

pytestmark = pytest.mark.xdist_group("generated")


def listing(store: EventStore, scope: LogFilter | None) -> list[dict]:
    """A cold service's procedure list (no figure cache carried over)."""
    return Service(Settings(data_dir=store.data_dir, web_warm_cache=False)).procedures(scope)


def test_procedure_list_from_the_layer_equals_the_raw_events(tmp_path):
    table = generate(["1.004193", "1.009974"], cases=800, seed=9, out=None).table
    half = table.num_rows // 2
    store = EventStore(tmp_path / "data")
    store.write(conform_table(table.slice(0, half)), "first")
    province = table["province_code"][0].as_py()
    commune = table["commune_code"][0].as_py()
    scopes = [None, LogFilter(province=province), LogFilter(province=province, commune=commune)]
    raw = [listing(store, s) for s in scopes]

    derive(store)
    assert procedure_summary(store) is not None  # the layer is what the list reads now
    assert [listing(store, s) for s in scopes] == raw
    assert raw[1] != raw[0] and raw[1][0]["cases"] > 0  # the scope does narrow

    store.write(conform_table(table.slice(half)), "second")  # not derived yet
    assert procedure_summary(store) is None
    grown = [listing(store, s) for s in scopes]
    assert grown != raw
    derive(store)
    assert [listing(store, s) for s in scopes] == grown
