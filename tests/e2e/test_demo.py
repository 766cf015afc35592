"""`dvcflow demo` end to end (without the web): history imported, the rest streamed through
the embedded broker and the sink; the store ends with exactly the sample's events."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ingest.store import EventStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_logs" / "data" / "events.parquet"

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("demo")]


def test_demo_streams_the_sample_into_the_store(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVCFLOW_")}
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "dvcflow.cli", "--data-dir", str(data), "demo", "--no-web"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "embedded Kafka-compatible broker" in done.stdout

    source = pq.read_table(SAMPLE)
    stored = EventStore(data).read_table()
    assert stored.num_rows == source.num_rows
    assert set(stored["event_id"].to_pylist()) == set(source["event_id"].to_pylist())
    # part of it really went through Kafka: the sink names its files after topic offsets
    assert any(f.name.startswith("dvc.events-") for f in EventStore(data).files())
    # the demo made its own key under the data dir, and no raw applicant id was stored
    assert (data / ".pseudonym_key").exists()
    raw_ids = set(pc.drop_null(source["applicant_id"]).to_pylist())
    refs = set(pc.drop_null(stored["applicant_ref"]).to_pylist())
    assert raw_ids and refs and not raw_ids & refs
    blob = b"".join(f.read_bytes() for f in EventStore(data).files())
    assert all(i.encode() not in blob for i in list(raw_ids)[:200])
