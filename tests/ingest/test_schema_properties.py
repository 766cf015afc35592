"""Property tests of the event contract (``ingest/schema.py``).

Valid events survive validate -> store -> read unchanged; an event broken in one field is
rejected naming that field; no raw applicant id ever reaches the store's files.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.pseudonym import Pseudonymizer
from ingest.schema import EventError, parse_event, rows_to_table, validate_event
from ingest.store import EventStore
from tests.conftest import TEST_KEY

PSEUDO = Pseudonymizer(TEST_KEY.encode())
# Each example writes a store (fsynced files): few examples, few partitions per example.
SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

word = (
    st.text(
        alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
ident = st.from_regex(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,30}$", fullmatch=True)
zones = st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-5))])
applicant = st.from_regex(r"^0[0-9]{11}$", fullmatch=True)
scalar = st.one_of(
    st.booleans(), st.integers(-(10**9), 10**9), st.floats(-1e9, 1e9, allow_nan=False), word
)

valid_event = st.fixed_dictionaries(
    {
        "event_id": ident,
        "case_id": ident,
        "procedure_code": st.sampled_from(["1.001193", "2.002154"]),
        "activity": word,
        "timestamp": st.datetimes(datetime(2025, 6, 2), datetime(2025, 9, 28), timezones=zones),
        "org_unit": ident,
    },
    optional={
        "lifecycle": st.sampled_from(["start", "complete"]),
        "province_code": st.from_regex(r"^[0-9]{2}$", fullmatch=True),
        "commune_code": st.from_regex(r"^[0-9]{5}$", fullmatch=True),
        "channel": st.sampled_from(["online", "counter", "postal", "internal", "system"]),
        "actor_role": st.sampled_from(["citizen", "officer", "system"]),
        "resource": ident,
        "applicant_id": applicant,
        "outcome": st.sampled_from(["approved", "rejected", "returned", "withdrawn"]),
        "attributes": st.dictionaries(ident, scalar, min_size=1, max_size=5),
    },
)


def stored(events: list[dict]) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(Path(tmp))
        rows = [validate_event(e, PSEUDO) for e in events]
        store.write(rows_to_table(rows), "batch")
        return store.read_table().to_pylist()


@SETTINGS
@given(events=st.lists(valid_event, min_size=1, max_size=6, unique_by=lambda e: e["event_id"]))
def test_valid_events_round_trip_through_the_store(events):
    by_id = {r["event_id"]: r for r in stored(events)}
    assert set(by_id) == {e["event_id"] for e in events}
    for e in events:
        r = by_id[e["event_id"]]
        for name in ("case_id", "procedure_code", "activity", "org_unit", "province_code",
                     "commune_code", "actor_role", "resource", "outcome"):  # fmt: skip
            assert r[name] == e.get(name)
        assert r["timestamp"] == e["timestamp"]  # the same instant, stored in UTC
        assert r["lifecycle"] == e.get("lifecycle", "complete")
        assert r["channel"] == e.get("channel", "internal")
        assert r["applicant_ref"] == PSEUDO.ref(e.get("applicant_id"))
        got = orjson.loads(r["attributes"]) if r["attributes"] else None
        assert got == e.get("attributes")


BREAKERS = {
    "event_id": ["", "x" * 129, 7, None],
    "case_id": ["   ", "y" * 129, None],
    "procedure_code": ["bad code", "-1", "z" * 65, None],
    "activity": ["", "a" * 201, None],
    "timestamp": ["2025-07-01T08:00:00", "yesterday", None],
    "lifecycle": ["schedule", "", None],
    "org_unit": ["", None, 3],
    "province_code": ["9" * 33],
    "channel": ["fax", None],
    "actor_role": ["robot"],
    "resource": ["r" * 129],
    "applicant_id": ["1" * 257],
    "outcome": ["o" * 65],
    "attributes": [{"k": [1, 2]}, {"k": {"nested": 1}}, "text", {f"k{i}": i for i in range(65)}],
}


@settings(max_examples=80, deadline=None)
@given(
    event=valid_event,
    field=st.sampled_from(sorted(BREAKERS)),
    pick=st.integers(0, 10),
)
def test_an_event_broken_in_one_field_is_rejected_naming_it(event, field, pick):
    bad_value = BREAKERS[field][pick % len(BREAKERS[field])]
    broken = {**event, field: bad_value}
    try:
        parse_event(broken)
    except EventError as exc:
        assert {e["field"].split(".")[0] for e in exc.errors} == {field}
        assert all(e["reason"] for e in exc.errors)
    else:
        raise AssertionError(f"{field}={bad_value!r} was accepted")


def test_unknown_field_and_non_object_are_rejected():
    base = {"event_id": "e", "case_id": "c", "procedure_code": "1.001193", "activity": "a",
            "timestamp": "2025-07-01T08:00:00+07:00", "org_unit": "o"}  # fmt: skip
    for raw, field in (({**base, "citizen_name": "X"}, "citizen_name"), ([base], "event")):
        try:
            parse_event(raw)
        except EventError as exc:
            assert [e["field"] for e in exc.errors] == [field]
        else:
            raise AssertionError(f"{raw!r} was accepted")


@SETTINGS
@given(
    events=st.lists(
        st.tuples(valid_event, applicant).map(lambda t: {**t[0], "applicant_id": t[1]}),
        min_size=1,
        max_size=8,
        unique_by=lambda e: e["event_id"],
    )
)
def test_no_raw_applicant_id_reaches_the_store_files(events):
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(Path(tmp))
        store.write(rows_to_table(validate_event(e, PSEUDO) for e in events), "batch")
        files = store.files()
        blob = b"".join(p.read_bytes() for p in files)
        # decoded too: compression would hide a raw id from a plain byte search
        cells = " ".join(
            str(v) for p in files for row in pq.read_table(p).to_pylist() for v in row.values()
        )
        for e in events:
            raw = e["applicant_id"]
            assert raw.encode() not in blob
            assert raw not in cells
            assert PSEUDO.ref(raw) in cells
