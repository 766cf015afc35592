"""The vectorised contract check (importers' fast path) against pydantic's ``validate_event``.

Both must accept the same rows, store them the same way, and reject the others naming the
same fields, on generated rows (valid, borderline and broken) and on real files.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.importers import ImportOptions, import_file, read_events
from ingest.importers.contract import FIELD_ORDER, WHITESPACE, check_attributes, check_frame
from ingest.importers.mapping import attribute_dicts, to_wire
from ingest.importers.source import SourceFrame
from ingest.pseudonym import Pseudonymizer
from ingest.schema import EventError, rows_to_table, validate_event
from ingest.store import EventStore
from tests.conftest import TEST_KEY, real_log

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PSEUDO = Pseudonymizer(TEST_KEY.encode())

pad = st.sampled_from(["", " ", "\t", "\u3000", "\x1c", "\n "])


def text(max_size: int) -> st.SearchStrategy[str]:
    core = st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=max_size
    )
    return st.builds(lambda a, b, c: a + b + c, pad, core, pad)


def field_value(max_len: int) -> st.SearchStrategy:
    return st.one_of(
        st.none(),
        text(max_len + 2),
        st.text(alphabet="ab", min_size=max_len - 1, max_size=max_len + 1),
        st.integers(-5, 5),
    )


procedure = st.one_of(
    st.from_regex(r"^[0-9A-Za-z][0-9A-Za-z._\-]{0,70}$", fullmatch=True),
    field_value(64),
    st.sampled_from(["1.001193", " 1.001193 ", "-bad", "a b", "ä1"]),
)
zones = st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-3))])
stamp = st.one_of(
    st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=zones),
    st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1)),  # naive: rejected
    st.none(),
)
scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False),
    text(30),
)  # fmt: skip
attributes = st.one_of(
    st.none(),
    st.dictionaries(text(8), scalar, max_size=6),
    st.dictionaries(text(4), st.one_of(scalar, st.lists(st.integers(), max_size=2)), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=6), st.just("x"), min_size=5, max_size=8),
    st.dictionaries(st.text(min_size=1, max_size=3), st.text(min_size=30, max_size=60),
                    min_size=1, max_size=4),
    st.just("not an object"),
)  # fmt: skip


def enum(values: list[str]) -> st.SearchStrategy:
    return st.one_of(st.none(), st.sampled_from(values), st.sampled_from([" start", "x", ""]))


row = st.fixed_dictionaries(
    {
        "event_id": field_value(128),
        "case_id": field_value(128),
        "procedure_code": procedure,
        "activity": field_value(200),
        "timestamp": stamp,
        "lifecycle": enum(["start", "complete"]),
        "org_unit": field_value(128),
        "province_code": field_value(32),
        "commune_code": field_value(32),
        "channel": enum(["online", "counter", "postal", "internal", "system"]),
        "actor_role": enum(["citizen", "officer", "system"]),
        "resource": field_value(128),
        "applicant_id": field_value(256),
        "outcome": field_value(64),
        "attributes": attributes,
    }
)


def wire(r: dict) -> dict:
    """A wire-format dict: absent fields are left out, as importers and producers do."""
    return {k: v for k, v in r.items() if v is not None}


def pydantic_path(rows: list[dict], max_keys: int, max_bytes: int):
    accepted, rejected = [], {}
    for i, r in enumerate(rows):
        try:
            accepted.append(
                validate_event(
                    wire(r), PSEUDO, ingested_at=NOW, max_attributes=max_keys,
                    max_attributes_bytes=max_bytes,
                )
            )  # fmt: skip
        except EventError as exc:
            rejected[i] = {e["field"].split(".")[0] for e in exc.errors}
    return accepted, rejected


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=12))
def test_fast_path_accepts_and_rejects_like_pydantic(rows):
    max_keys, max_bytes = 4, 120
    accepted, rejected = pydantic_path(rows, max_keys, max_bytes)
    frame = pd.DataFrame(rows, columns=list(FIELD_ORDER), dtype=object)
    table, errors = check_frame(
        frame, PSEUDO, ingested_at=NOW, max_attributes=max_keys, max_attributes_bytes=max_bytes
    )
    assert {i: {e["field"] for e in errs} for i, errs in errors.items()} == rejected
    assert table.to_pylist() == rows_to_table(accepted).to_pylist()


@settings(max_examples=60, deadline=None)
@given(
    cells=st.lists(
        st.tuples(text(12), st.one_of(st.none(), st.floats(), st.integers(-9, 9), text(5))),
        min_size=1,
        max_size=8,
    ),
    as_text=st.booleans(),
)
def test_importer_attributes_are_clean_by_construction(cells, as_text):
    """The fast path only checks the caps when the mapper built the attributes: hold the
    mapper to the invariant that makes that safe."""
    n = len(cells)
    source = pd.DataFrame(
        {
            "case:concept:name": [f"c{i % 3}" for i in range(n)],
            "concept:name": ["a"] * n,
            "time:timestamp": ["2025-07-01T08:00:00+07:00"] * n,
            " Note\u3000": [c[1] if not as_text else (None if c[1] is None else str(c[1]))
                            for c in cells],
            "label": [c[0] for c in cells],
        }
    )  # fmt: skip
    src = SourceFrame(frame=source, label=lambda i: f"row {i + 1}", text_cells=as_text)
    out = to_wire(src, Path("t.csv"), ImportOptions(), None)
    assert out.clean_attributes
    for value in out.attribute_values():
        clean, reason = check_attributes(value)
        assert reason is None and clean == value
        assert all(k.strip(WHITESPACE) == k for k in (value or {}))
    # the column-wise JSON is, byte for byte, orjson's text of the row-by-row dicts
    columns = [" Note\u3000", "label"]
    keys = [c.strip(WHITESPACE) for c in columns]
    rows = attribute_dicts(src, columns, keys, None, None, n)
    if out.attribute_counts is not None:
        expected = [orjson.dumps(r).decode() if r else None for r in rows]
        assert out.frame["attributes"].tolist() == expected
        assert out.attribute_counts.tolist() == [len(r or {}) for r in rows]


def _both_paths_on_file(path: Path, store: EventStore, options: ImportOptions):
    report = import_file(path, store, options, pseudonymizer=PSEUDO)
    ok_ids, bad = set(), 0
    for chunk in read_events(path, options, report=None if not report.rejected else None):
        for event in chunk:
            try:
                ok_ids.add(validate_event(event, PSEUDO)["event_id"])
            except EventError:
                bad += 1
    return report, ok_ids, bad


def test_both_paths_agree_on_a_real_log(store: EventStore):
    path = real_log("receipt.csv")
    report, ok_ids, bad = _both_paths_on_file(path, store, ImportOptions())
    stored = set(store.read_table()["event_id"].to_pylist())
    assert stored == ok_ids and bad == report.rejected and len(stored) == report.written


def test_both_paths_agree_on_a_file_with_contract_errors(tmp_path: Path, store: EventStore):
    long_activity = "x" * 201
    csv = tmp_path / "mixed.csv"
    csv.write_text(
        "case_id,activity,timestamp,channel,procedure_code,org_unit\n"
        "c1,receive,2025-07-01T08:00:00+07:00,online,1.001193,C1\n"
        f"c1,{long_activity},2025-07-01T09:00:00+07:00,online,1.001193,C1\n"
        "c2,receive,2025-07-01T08:00:00+07:00,fax,1.001193,C1\n"
        "c2,approve,2025-07-02T08:00:00+07:00,,bad code,C1\n"
        "c3,receive,2025-07-02T08:00:00+07:00,counter,1.001193,C1\n"
    )
    report = import_file(csv, store, ImportOptions(), pseudonymizer=PSEUDO)
    per_row = []
    for chunk in read_events(csv, ImportOptions()):
        for event in chunk:
            try:
                validate_event(event, PSEUDO)
                per_row.append(None)
            except EventError as exc:
                per_row.append(exc.errors[0]["field"])
    assert report.rejected == sum(f is not None for f in per_row) > 0
    assert [e.field for e in report.errors] == [f for f in per_row if f is not None]
    assert report.written == store.read_table().num_rows == per_row.count(None)


@pytest.mark.parametrize("name", ["portal_dossiers.json"])
def test_both_paths_agree_on_portal_fixture(name: str, store: EventStore):
    path = FIXTURES / name
    report, ok_ids, bad = _both_paths_on_file(path, store, ImportOptions())
    assert bad == report.rejected == 0
    assert set(store.read_table()["event_id"].to_pylist()) == ok_ids
