"""Stream health tells the truth in a rebalance and after a crash (``ingest.health``)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson

from ingest.health import is_live, read_stream_health
from ingest.sink import SinkStats


def _sink(folder: Path, name: str, **doc: Any) -> None:
    base = {"role": "sink", "host": "other-host", "pid": 1, "updated_at": time.time(),
            "state": "running", "topic_partitions": 4, "partitions": [], "consumed": 0,
            "written": 0, "dlq": 0, "lag": 0, "in_per_s": 0.0, "out_per_s": 0.0}  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"sink-{name}.json").write_bytes(orjson.dumps({**base, **doc}))


def test_a_sink_owning_no_partition_reports_rebalancing_not_lag_zero() -> None:
    stats = SinkStats(topic_partitions=4)
    assert stats.state == "rebalancing" and stats.lag is None
    stats.partitions = [2]
    assert stats.state == "running"


def test_health_is_rebalancing_while_a_partition_has_no_live_owner(tmp_path: Path) -> None:
    folder = tmp_path / "stream"
    _sink(folder, "a", partitions=[0, 1], lag=7)
    _sink(folder, "b", state="rebalancing", partitions=[], lag=None)  # joined, waits
    h = read_stream_health(tmp_path)
    assert (h["status"], h["consumer_lag"], h["sinks_rebalancing"]) == ("rebalancing", None, 1)

    _sink(folder, "b", partitions=[2, 3], lag=5)  # the group settled
    h = read_stream_health(tmp_path)
    assert (h["status"], h["consumer_lag"], h["sinks_rebalancing"]) == ("ok", 12, 0)

    _sink(folder, "c", state="rebalancing", partitions=[], lag=None)  # a spare third sink
    assert read_stream_health(tmp_path)["status"] == "ok"  # every partition has an owner


def test_a_killed_sink_is_not_live_and_counts_only_what_it_committed(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "stream"
    dead = subprocess.Popen(["true"])
    dead.wait()
    here = socket.gethostname()
    # killed while holding a written but uncommitted batch: it counted its commits only
    _sink(folder, "killed", host=here, pid=dead.pid, consumed=1500, written=1000,
          partitions=[0, 1, 2, 3], lag=0)  # fmt: skip
    assert not is_live(orjson.loads((folder / "sink-killed.json").read_bytes()))
    h = read_stream_health(tmp_path)
    assert (h["status"], h["sinks_live"], h["consumer_lag"]) == ("stopped", 0, None)

    # its successor rewrote and committed the redelivered 500, then stopped cleanly
    _sink(folder, "next", host=here, pid=dead.pid + 10**7, state="stopped", consumed=2000,
          written=2000, partitions=[])  # fmt: skip
    h = read_stream_health(tmp_path)
    assert h["status"] == "stopped" and h["events_written"] == 3000  # not 3500
    assert h["events_consumed"] == 0  # reads (redeliveries included) are those of live sinks
