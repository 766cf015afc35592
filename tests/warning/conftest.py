"""A generated store for the early-warning tests: the planted slow handoff (1.004193,
province 31) and supplement loop (1.009974), a year of dossiers with the pre-Tết rush."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from ingest.pseudonym import Pseudonymizer
from ingest.schema import conform_table
from ingest.store import EventStore
from sample_logs.generator import generate
from tests.conftest import TEST_KEY

PROCEDURES = "1.004193,1.009974"


def generated(data_dir: Path, procedures: str, cases: int, seed: int) -> EventStore:
    """A store holding ``cases`` generated dossiers of ``procedures``."""
    table = generate(procedures, cases, seed, None).table
    pseudo = Pseudonymizer(TEST_KEY.encode())
    refs = pa.array([pseudo.ref(a) for a in table["applicant_id"].to_pylist()], pa.string())
    table = table.drop_columns(["applicant_id"]).append_column("applicant_ref", refs)
    now = pa.array([datetime.now(UTC)] * table.num_rows, pa.timestamp("us", "UTC"))
    table = table.append_column("ingested_at", now)
    store = EventStore(data_dir)
    store.write(conform_table(table), "generated")
    return store


@pytest.fixture(scope="session")
def warn_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    return generated(tmp_path_factory.mktemp("warn") / "data", PROCEDURES, 3000, seed=7)
