"""The writers' index: the same owners as ``ingest.owner.find_owners`` and the same stored
contents as the store, however files arrive, after compaction and after a restart."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from ingest.owner import find_owners
from ingest.schema import rows_to_table, to_row, validate_event
from ingest.store import EventStore
from ingest.store_index import StoreIndex

T0 = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)


def _event(case: int, j: int, rng: random.Random) -> dict:
    province = rng.choice(["01", "79", None])
    return {
        "event_id": f"c{case}-{j}",
        "case_id": f"c{case}",
        "procedure_code": rng.choice(["1.001193", "2.000001"]),
        "activity": rng.choice(["receive", "appraise", "approve"]),
        "timestamp": (T0 + timedelta(days=rng.randrange(60), hours=j)).isoformat(),
        "lifecycle": rng.choice(["start", "complete"]),
        "org_unit": f"U{rng.randrange(3)}",
        "province_code": province,
        "commune_code": rng.choice(["26734", None]),
    }


def _mixed_store(
    store: EventStore, pseudonymizer, files: int = 12, index: StoreIndex | None = None
) -> None:
    """Dossiers whose events arrive over many files at arrival times out of file order,
    some with empty levels in their first event; ``index`` takes each file as it comes."""
    rng = random.Random(3)
    events = [_event(c, j, rng) for c in range(60) for j in range(rng.randrange(1, 6))]
    rng.shuffle(events)
    for n in range(files):
        at = T0 + timedelta(hours=rng.randrange(4))  # equal arrivals across files too
        rows = [validate_event(e, pseudonymizer, ingested_at=at) for e in events[n::files]]
        store.write(rows_to_table(rows), f"batch-{n}")
        if index is not None:
            index.refresh()


def test_the_index_gives_the_owners_the_store_gives(store: EventStore, pseudonymizer):
    index = StoreIndex(store)
    _mixed_store(store, pseudonymizer, index=index)  # taken file by file, out of order
    cases = [f"c{c}" for c in range(62)]  # two unknown: absent in both
    assert index.owners(cases) == find_owners(store, cases)
    store.compact(grace_seconds=0)
    index = StoreIndex(store)
    assert index.owners(cases) == find_owners(store, cases)


def test_a_restart_reads_nothing_again_and_new_files_are_taken(store: EventStore, pseudonymizer):
    _mixed_store(store, pseudonymizer)
    assert StoreIndex(store).refresh() == len(store.files())
    again = StoreIndex(store)  # another process, or the same after a restart
    assert again.refresh() == 0
    late = {**_event(99, 0, random.Random(1)), "province_code": "48"}
    store.write(rows_to_table([validate_event(late, pseudonymizer)]), "late")
    assert again.owners(["c99"])["c99"].province_code == "48"


def test_a_stored_identity_with_other_content_is_a_conflict(store: EventStore, pseudonymizer):
    event = validate_event(_event(1, 0, random.Random(2)), pseudonymizer)
    store.write(rows_to_table([event | {"source": "key:a"}]), "first")
    index = StoreIndex(store)
    same = event | {"source": "key:a", "ingested_at": T0 + timedelta(days=9)}
    other = same | {"activity": "refuse"}
    other_writer = other | {"source": "key:b"}
    assert index.conflicts(rows_to_table([same, other, other_writer])) == [False, True, False]


def test_the_gateways_stored_form_has_the_sinks_digest(store: EventStore, pseudonymizer):
    from ingest.identity import identities
    from ingest.schema import parse_event

    wire = _event(2, 1, random.Random(5)) | {"applicant_id": "079203001234", "attributes": {"a": 1}}
    sink_row = validate_event(wire, pseudonymizer) | {"source": "key:a"}
    gateway_row = to_row(parse_event(wire), pseudonymizer, T0, "key:a")
    assert identities(rows_to_table([sink_row])) == identities(rows_to_table([gateway_row]))
