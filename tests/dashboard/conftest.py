"""A small store for the web tests: the generator's output when it exists, else a hand-made
log of the dossier conventions in docs/internals.md."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from ingest.pseudonym import Pseudonymizer
from ingest.schema import conform_table, rows_to_table, validate_event
from ingest.store import EventStore
from tests.conftest import TEST_KEY

PATHS = [
    ["submit", "receive", "check_residence", "appraise", "approve", "return_result"],
    ["submit", "receive", "appraise", "approve", "return_result"],
    [
        "submit",
        "receive",
        "request_supplement",
        "submit_supplement",
        "appraise",
        "approve",
        "return_result",
    ],
]
UNITS = {"79": ["26734", "26737"], "01": ["00004"]}


def hand_made_events(cases: int = 120, seed: int = 3) -> list[dict]:
    """Dossiers of two procedures over three communes, with waits that differ by province."""
    rng = random.Random(seed)
    events = []
    start = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)
    for i in range(cases):
        province = "79" if i % 3 else "01"
        commune = UNITS[province][i % len(UNITS[province])]
        procedure = "1.001193" if i % 2 else "2.000001"
        path = PATHS[i % 3]
        channel = "online" if i % 4 else "counter"
        ts = start + timedelta(days=i % 60, hours=rng.randint(0, 5))
        for j, activity in enumerate(path):
            ts += timedelta(hours=rng.randint(1, 30) * (3 if province == "01" else 1))
            events.append(
                {
                    "event_id": f"e{i}-{j}",
                    "case_id": f"C{i:04d}",
                    "procedure_code": procedure,
                    "activity": activity,
                    "timestamp": ts.isoformat(),
                    "org_unit": f"C{commune}" if j < 3 else f"P{province}.SO",
                    "province_code": province,
                    "commune_code": commune,
                    "channel": channel if j == 0 else "internal",
                    "actor_role": "citizen" if activity.startswith("submit") else "officer",
                    "resource": f"officer-{rng.randint(1, 4)}",
                    "applicant_id": f"0792030{i:05d}",
                    "outcome": "approved" if activity == "return_result" else None,
                }
            )
    return events


def generated_store(data_dir: Path, cases: int = 400, seed: int = 1) -> EventStore:
    """A store holding ``cases`` dossiers of the synthetic generator (hand-made if absent)."""
    try:
        from sample_logs.generator import generate
    except ImportError:
        return fill_store(data_dir, cases)
    table = generate("all", cases, seed, None).table
    pseudo = Pseudonymizer(TEST_KEY.encode())
    refs = pa.array([pseudo.ref(a) for a in table["applicant_id"].to_pylist()], pa.string())
    table = table.drop_columns(["applicant_id"]).append_column("applicant_ref", refs)
    table = table.append_column(
        "ingested_at", pa.array([datetime.now(UTC)] * table.num_rows, pa.timestamp("us", "UTC"))
    )
    store = EventStore(data_dir)
    store.write(conform_table(table), "generated")
    return store


def fill_store(data_dir: Path, cases: int = 120) -> EventStore:
    store = EventStore(data_dir)
    pseudo = Pseudonymizer(TEST_KEY.encode())
    rows = [validate_event(e, pseudo) for e in hand_made_events(cases)]
    store.write(rows_to_table(rows), "seed")
    return store


@pytest.fixture(scope="module")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    return fill_store(tmp_path_factory.mktemp("web") / "data")
