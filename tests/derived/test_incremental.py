"""The derived layer kept up batch by batch equals the layer rebuilt from the raw events,
row for row, and equals today's mining tables for the same events: with events arriving
out of order across batches, after a compaction, after a redelivered batch, and past the
segment merge."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from dvcflow.errors import DvcflowError
from dvcflow.settings import get_settings
from ingest.schema import conform_table
from ingest.store import EventStore
from mining.derived import update
from mining.derived.update import derive, is_fresh
from sample_logs.generator import generate
from tests.derived.helpers import MINING_CASE_COLUMNS, layer_rows, mining_rows
from tests.mining.conftest import event, write_rows

pytestmark = pytest.mark.xdist_group("generated")


@pytest.fixture(scope="module")
def generated() -> pa.Table:
    return generate(["1.004193", "1.009974", "1.004222"], cases=600, seed=5, out=None).table


def shuffled_batches(table: pa.Table, n: int, seed: int = 1) -> list[pa.Table]:
    """``table``'s rows dealt at random into ``n`` batches: a dossier's events arrive in
    several batches, later ones often timestamped before steps already derived."""
    order = np.random.default_rng(seed).permutation(table.num_rows)
    return [table.take(part) for part in np.array_split(order, n)]


def rebuilt(store: EventStore, tmp_path) -> tuple[list, list]:
    """The layer rebuilt from the same raw events, in another data dir."""
    other = EventStore(tmp_path / "rebuilt")
    for i, f in enumerate(store.files()):
        other.write(conform_table(pa.parquet.read_table(f)), f"copy-{i}")
    derive(other, rebuild=True)
    return layer_rows(other)


def test_batches_out_of_order_equal_rebuild_and_mining(generated, tmp_path):
    store = EventStore(tmp_path / "data")
    for i, batch in enumerate(shuffled_batches(generated, 4)):
        store.write(conform_table(batch), f"batch-{i}")
        report = derive(store)
        assert report.rebuilt == (i == 0)
    assert report.dossiers < len(set(generated["case_id"].to_pylist()))  # only those touched
    incremental = layer_rows(store)
    assert incremental == rebuilt(store, tmp_path)
    cases, steps = mining_rows(store)
    assert layer_rows(store, MINING_CASE_COLUMNS) == (cases, steps)


def test_compaction_and_redelivery_leave_the_layer_equal_to_a_rebuild(generated, tmp_path):
    store = EventStore(tmp_path / "data")
    batches = shuffled_batches(generated, 3, seed=2)
    for i, batch in enumerate(batches):
        store.write(conform_table(batch), f"batch-{i}")
    derive(store)
    store.compact(grace_seconds=0)
    store.write(conform_table(batches[1]), "batch-1")  # a batch delivered again after a crash
    assert not is_fresh(store)
    derive(store)
    assert is_fresh(store)
    assert layer_rows(store) == rebuilt(store, tmp_path)
    assert layer_rows(store, MINING_CASE_COLUMNS) == mining_rows(store)


def test_segments_past_the_limit_are_merged_into_the_same_rows(generated, tmp_path, monkeypatch):
    monkeypatch.setattr(update, "MAX_SEGMENTS", 3)
    store = EventStore(tmp_path / "data")
    store.write(conform_table(generated), "all")
    derive(store)
    cases = generated["case_id"].to_pylist()
    for i in range(5):  # small batches: a late step for a few dossiers each
        late = generated.filter(pa.compute.is_in(generated["case_id"], pa.array(cases[i::200])))
        late = late.slice(0, 3)
        ids = pa.array([f"late-{i}-{k}" for k in range(3)])
        late = late.set_column(late.schema.get_field_index("event_id"), "event_id", ids)
        store.write(conform_table(late), f"late-{i}")
        report = derive(store)
    assert 1 < report.segments <= 3
    assert layer_rows(store) == rebuilt(store, tmp_path)


def test_a_recompute_as_big_as_the_layer_replaces_it(generated, tmp_path):
    store = EventStore(tmp_path / "data")
    for i, batch in enumerate(shuffled_batches(generated, 2, seed=4)):
        store.write(conform_table(batch), f"batch-{i}")
    derive(store)
    store.compact(grace_seconds=0)  # every dossier's file is new: all are recomputed
    assert derive(store).segments == 1
    assert layer_rows(store) == rebuilt(store, tmp_path)


T0 = datetime(2025, 9, 8, 8)  # a Monday


def test_a_late_step_timestamped_before_derived_ones_reorders_its_dossier(tmp_path):
    store = EventStore(tmp_path / "data")
    write_rows(store, [
        event("A", "submit", T0),
        event("A", "appraise", T0 + timedelta(hours=5)),
        event("A", "approve", T0 + timedelta(days=1), outcome="approved"),
        event("B", "submit", T0),
    ], "first")  # fmt: skip
    derive(store)
    write_rows(store, [event("A", "receive", T0 + timedelta(hours=1))], "late")
    report = derive(store)
    assert report.dossiers == 1  # B untouched
    con_cases, con_steps = layer_rows(store)
    trace = {row[0]: row[12] for row in con_cases}
    assert trace["A"] == ["submit", "receive", "appraise", "approve"]
    waits = {(r[0], r[1]): r[13] for r in con_steps}
    assert waits[("A", "appraise")] == pytest.approx(4 * 3600)  # since receive, not submit
    assert layer_rows(store, MINING_CASE_COLUMNS) == mining_rows(store)


def test_layer_made_under_other_calendar_settings_asks_for_a_rebuild(tmp_path, monkeypatch):
    store = write_rows(EventStore(tmp_path / "data"), [event("A", "submit", T0)])
    derive(store)
    monkeypatch.setenv("DVCFLOW_EXTRA_HOLIDAYS", '["2025-09-09"]')
    get_settings.cache_clear()
    try:
        with pytest.raises(DvcflowError, match="derive --rebuild"):
            derive(store)
        assert derive(store, rebuild=True).rebuilt
    finally:
        monkeypatch.delenv("DVCFLOW_EXTRA_HOLIDAYS")
        get_settings.cache_clear()


def test_a_dossier_whose_events_name_two_procedures_is_read_whole(tmp_path):
    store = EventStore(tmp_path / "data")
    write_rows(store, [
        event("A", "submit", T0, procedure="1.004193"),
        event("A", "appraise", T0 + timedelta(days=40), procedure="2.001610"),
        event("B", "submit", T0, procedure="1.004193"),
    ], "first")  # fmt: skip
    derive(store)
    # in a third partition: neither procedure's months alone hold all of A's events
    late = event("A", "receive", T0 + timedelta(hours=1), procedure="2.001610")
    write_rows(store, [late], "late")
    assert derive(store).dossiers == 1
    assert layer_rows(store) == rebuilt(store, tmp_path)
    assert layer_rows(store, MINING_CASE_COLUMNS) == mining_rows(store)
