"""The sink's batch decoder keeps exactly the contract's rules (``validate_event``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dvcflow.settings import Settings
from ingest.batch import decode_batch, decode_batch_reference
from ingest.pseudonym import Pseudonymizer
from tests.conftest import TEST_KEY

PS = Pseudonymizer(TEST_KEY.encode())
SETTINGS = Settings(max_attributes=4, max_attributes_bytes=120)
AT = datetime(2025, 8, 1, 3, 0, tzinfo=UTC)

BASE = {
    "event_id": "e1",
    "case_id": "c1",
    "procedure_code": "1.001193",
    "activity": "receive",
    "timestamp": "2025-07-01T08:15:00+07:00",
    "org_unit": "C26734",
    "province_code": "79",
    "applicant_id": "079203001234",
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
moments = st.builds(
    lambda d, minutes: d.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(-14 * 60 + 1, 14 * 60 - 1),
)
field_values = st.one_of(
    moments,
    scalars,
    st.lists(scalars, max_size=2),
    st.dictionaries(st.text(max_size=8), scalars, max_size=6),
    st.sampled_from(
        [
            "2025-07-01T08:15:00",
            "2025-07-01T08:15:00Z",
            "2025-13-01T08:15:00+07:00",
            " padded ",
            "",
            "x" * 200,
            "start",
            "online",
            "fax",
            "officer",
        ]
    ),
)
mutations = st.dictionaries(
    st.sampled_from(sorted(BASE) + ["lifecycle", "channel", "actor_role", "attributes", "extra"]),
    st.one_of(field_values, st.just("<drop>")),
    max_size=4,
)


def _encode(mutation: dict) -> bytes:
    event = dict(BASE)
    for key, value in mutation.items():
        if value == "<drop>":
            event.pop(key, None)
        else:
            event[key] = value
    return orjson.dumps(event)


def _same(values: list[bytes | None]) -> None:
    fast, fast_rejects = decode_batch(values, PS, SETTINGS, AT)
    slow, slow_rejects = decode_batch_reference(values, PS, SETTINGS, AT)
    assert fast_rejects == slow_rejects
    assert fast.schema == slow.schema
    assert fast.to_pylist() == slow.to_pylist()


@settings(max_examples=300, deadline=None)
@given(st.lists(mutations, min_size=1, max_size=8))
def test_fast_decoder_agrees_with_validate_event(batch: list[dict]) -> None:
    _same([_encode(m) for m in batch])


def test_malformed_bytes_and_cloudevents_agree() -> None:
    cloud = orjson.dumps(
        {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": BASE}
    )
    values = [b"", None, b"{", b"\xff", b"[]", b"NaN", b'{"big": 1e999}', cloud, _encode({})]
    _same(values)
    table, rejects = decode_batch(values, PS, SETTINGS, AT)
    assert [i for i, _, _ in rejects] == list(range(7))
    assert table.num_rows == 2
    assert table["applicant_ref"].to_pylist() == [PS.ref(BASE["applicant_id"])] * 2
    assert "079203001234" not in str(table.to_pylist())


def test_empty_batch_gives_empty_store_table() -> None:
    table, rejects = decode_batch([], PS, SETTINGS, AT)
    assert isinstance(table, pa.Table) and table.num_rows == 0 and rejects == []


def test_edge_values_the_column_check_must_not_settle_alone_agree() -> None:
    """Explicit nulls for defaulted enums, unknown fields, instants outside pandas' range,
    a CloudEvent between plain events (message order must survive the two paths)."""
    cloud = orjson.dumps(
        {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": BASE}
    )
    values = [
        _encode({"lifecycle": None}),
        _encode({"channel": None}),
        _encode({"extra": 1}),
        _encode({"event_id": "far", "timestamp": "9999-12-31T23:59:59+00:00"}),
        _encode({"event_id": "early", "timestamp": "0001-01-01T08:00:00+07:00"}),
        cloud,
        _encode({"event_id": "after", "attributes": {" k ": " v "}}),
    ]
    _same(values)
    table, rejects = decode_batch(values, PS, SETTINGS, AT)
    assert [i for i, _, _ in rejects] == [0, 1, 2, 3, 4]  # far and early: outside the window
    assert rejects[3][2] == [{"field": "timestamp", "reason": rejects[3][2][0]["reason"]}]
    assert "outside the accepted window" in rejects[4][1]
    assert table["event_id"].to_pylist() == [BASE["event_id"], "after"]


def test_one_malformed_message_amid_plain_ones_is_isolated() -> None:
    """The whole-batch parse fails on one bad value; only that message is refused."""
    good = [_encode({"event_id": f"e{i}"}) for i in range(6)]
    values = [*good[:3], b'{"event_id": "x",', *good[3:], b""]
    _same(values)
    table, rejects = decode_batch(values, PS, SETTINGS, AT)
    assert [i for i, _, _ in rejects] == [3, 7]
    assert rejects[0][2][0]["reason"].startswith("bad JSON")
    assert table["event_id"].to_pylist() == [f"e{i}" for i in range(6)]


def test_timestamps_arrow_parses_agree_with_pydantic_at_the_edges() -> None:
    """Shapes Arrow reads in one call, and the ones it must leave to pydantic."""
    stamps = [
        "2025-07-01T08:15:00+07:00",
        "2025-07-01T08:15:00.5-03:30",
        "2025-07-01T08:15:00.123456Z",
        "2024-02-29T23:59:59+23:59",
        "2025-02-30T08:15:00+07:00",  # no such day: the whole Arrow call fails
        "2025-07-01T08:15:00",  # naive
        "2025-07-01 08:15:00+07:00",  # space instead of T: pydantic's to read
        "2025-07-01T08:15:00.1234567+07:00",
        "2025-07-01T24:00:00+07:00",
        "2025-07-01T08:15:00+24:00",
        "0999-12-31T23:00:00-01:00",
        "2025-07-01",
        "1751357700",
        " 2025-07-01T08:15:00+07:00",
    ]
    values = [_encode({"event_id": f"t{i}", "timestamp": s}) for i, s in enumerate(stamps)]
    _same(values)
    _same([v for i, v in enumerate(values) if i != 4])  # without the failing day
    _same(values[:4])
    _same([_encode({"lifecycle": None}), *values[:2], _encode({"channel": None})])


def test_attributes_written_column_wise_agree_at_the_edges() -> None:
    """The one-call column of attributes must fall back wherever pydantic would strip,
    refuse or cap, and keep every other row byte for byte."""
    from ingest.importers.contract import WHITESPACE

    clean = [
        {"fee": 50_000, "digitised": True},
        {"path": "a\\tb", "x": None},
        {"tên": "Nguyễn Văn Ấn", "điểm": 1.5},
        {},
        None,
    ]
    padded = [{f"{c}k": 1} for c in WHITESPACE] + [{"k": f"v{c}"} for c in WHITESPACE]
    odd = [
        {"k": [1, 2]},
        {"k": {"n": 1}},
        dict.fromkeys("abcde", 1),  # above max_attributes=4
        {"k": "x" * 200},  # above max_attributes_bytes=120
        {"a": 'ends with a quote and space" '},
        {"note": 'say "hi" now'},
        "not an object",
    ]
    for extra in [[], *([row] for row in padded + odd)]:
        rows = [{"event_id": f"e{i}", "attributes": a} for i, a in enumerate(clean + extra)]
        _same([_encode(r) for r in rows])
