"""One generated log per session (two procedures: the planted removable step and the
planted reform), imported into a store through the real importer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.importers import import_file
from ingest.store import EventStore
from sample_logs.generator.api import generate

PROCEDURES = "1.004222,1.002804"


@dataclass(frozen=True)
class Generated:
    store: EventStore
    events: Path  # the generator's Parquet file (wire format, raw)
    truth: dict


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    root = tmp_path_factory.mktemp("reform")
    result = generate(PROCEDURES, cases=2000, seed=11, out=root / "gen")
    store = EventStore(root / "data")
    report = import_file(result.paths["parquet"], store)
    assert report.rejected == 0, report.errors[:3]
    return Generated(store=store, events=result.paths["parquet"], truth=result.ground_truth)


@pytest.fixture(scope="session")
def generated_all(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """Every catalog procedure (the planted slow handoff among them), through the importer."""
    root = tmp_path_factory.mktemp("reform-all")
    result = generate("all", cases=4000, seed=23, out=root / "gen")
    store = EventStore(root / "data")
    report = import_file(result.paths["parquet"], store)
    assert report.rejected == 0, report.errors[:3]
    return Generated(store=store, events=result.paths["parquet"], truth=result.ground_truth)
