"""The streaming verbs as a user runs them: `dvcflow broker`, `replay`, `keys add`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from confluent_kafka.admin import AdminClient
from typer.testing import CliRunner

from dvcflow.access import hash_token
from dvcflow.cli import app

pytestmark = pytest.mark.e2e
EXE = str(Path(sys.executable).with_name("dvcflow"))


def test_broker_verb_starts_embedded_broker_with_topics(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DVCFLOW_KAFKA_BOOTSTRAP"}
    env["DVCFLOW_DATA_DIR"] = str(tmp_path)
    proc = subprocess.Popen(
        [EXE, "broker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        bootstrap = ""
        deadline = time.monotonic() + 60
        while not bootstrap.startswith("127.0.0.1:"):
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
            bootstrap = proc.stdout.readline().strip()
        topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
        assert len(topics["dvc.events"].partitions) == 6
        assert "dvc.events.dlq" in topics
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_replay_of_missing_file_is_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DVCFLOW_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "DVCFLOW_DATA_DIR": str(tmp_path),
    }
    r = subprocess.run(
        [EXE, "replay", str(tmp_path / "nope.csv"), "--max"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "nope.csv" in r.stderr


def test_keys_add_prints_token_once_and_stores_its_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys.json"
    monkeypatch.setenv("DVCFLOW_API_KEYS_FILE", str(keys))
    result = CliRunner().invoke(app, ["keys", "add", "hcm", "--province", "79", "--province", "74"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    entries = orjson.loads(keys.read_bytes())
    assert entries == [
        {
            "name": "hcm",
            "token_sha256": hash_token(token),
            "role": "integrator",
            "provinces": ["79", "74"],
            "communes": None,
            "org_units": None,
        }
    ]
    again = CliRunner().invoke(app, ["keys", "add", "hcm"])
    assert again.exit_code == 2 and "already has a key named 'hcm'" in again.output


def test_sink_names_a_missing_topic(broker, tmp_path: Path) -> None:  # noqa: ANN001
    env = {
        **os.environ,
        "DVCFLOW_KAFKA_BOOTSTRAP": broker.bootstrap,
        "DVCFLOW_TOPIC_EVENTS": "no-such-topic",
        "DVCFLOW_DATA_DIR": str(tmp_path),
    }
    r = subprocess.run([EXE, "sink"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "no-such-topic (DVCFLOW_TOPIC_EVENTS)" in r.stderr
