"""Kafka client settings pass SASL/TLS through; health files add up across processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr

from dvcflow.settings import Settings
from ingest.health import HealthFile, RateMeter, local_process_alive, read_stream_health
from ingest.kafka_config import KafkaConfigError, client_config, consumer_config


def test_sasl_and_tls_are_passed_through() -> None:
    settings = Settings(
        kafka_bootstrap="k1:9093,k2:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="dvc",
        kafka_sasl_password=SecretStr("s3cret"),
        kafka_ssl_ca_location="/etc/ca.pem",
    )
    assert client_config(settings) == {
        "bootstrap.servers": "k1:9093,k2:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "dvc",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/etc/ca.pem",
    }
    consumer = consumer_config(settings)
    assert consumer["enable.auto.commit"] is False and consumer["sasl.password"] == "s3cret"


def test_missing_bootstrap_and_half_sasl_name_the_setting() -> None:
    with pytest.raises(KafkaConfigError, match="DVCFLOW_KAFKA_BOOTSTRAP"):
        client_config(Settings(kafka_bootstrap=None))
    with pytest.raises(KafkaConfigError, match="DVCFLOW_KAFKA_SECURITY_PROTOCOL"):
        client_config(Settings(kafka_bootstrap="k:1", kafka_sasl_mechanism="PLAIN"))


def test_rate_meter_measures_a_window() -> None:
    meter = RateMeter(window=10)
    assert meter.rate(0, now=100.0) == 0.0
    assert meter.rate(500, now=105.0) == pytest.approx(100.0)
    assert meter.rate(2500, now=115.0) == pytest.approx(200.0)  # the first sample aged out


def test_health_adds_live_processes_and_keeps_counts_of_stopped(tmp_path: Path) -> None:
    assert read_stream_health(tmp_path)["status"] == "none"
    folder = tmp_path / "stream"
    folder.mkdir()
    now = time.time()
    docs = {
        "sink-a-1.json": {"role": "sink", "updated_at": now, "consumed": 10, "written": 8,
                          "dlq": 2, "lag": 5, "in_per_s": 3.0, "out_per_s": 2.0,
                          "last_write_at": now - 4, "state": "running",
                          "partitions": [0, 1], "topic_partitions": 2},
        "sink-b-2.json": {"role": "sink", "updated_at": now - 600, "consumed": 100,
                          "written": 100, "dlq": 1, "lag": 999, "in_per_s": 50.0,
                          "out_per_s": 50.0, "last_write_at": now - 600},
        "gateway-a-3.json": {"role": "gateway", "updated_at": now, "accepted": 7,
                             "rejected": 1, "in_per_s": 1.5},
    }  # fmt: skip
    for name, doc in docs.items():
        (folder / name).write_bytes(orjson.dumps(doc))
    (folder / ".sink-c-4.json.tmp").write_text("{half")
    h = read_stream_health(tmp_path)
    assert h["status"] == "ok" and h["sinks_live"] == 1
    # committed counts of every sink add up; what was read (redelivered ones too) only live
    assert (h["events_consumed"], h["events_written"], h["dlq_count"]) == (10, 108, 3)
    assert h["consumer_lag"] == 5  # only live sinks have a meaningful lag
    assert h["events_in_per_s"] == 3.0 and h["gateway_accepted"] == 7
    assert 3.5 < h["seconds_since_last_write"] < 10


def test_health_file_round_trip(tmp_path: Path) -> None:
    health = HealthFile(tmp_path, "sink")
    assert not local_process_alive(tmp_path, "sink")
    health.write({"consumed": 1, "written": 1, "dlq": 0, "lag": 0, "last_write_at": None,
                  "state": "running", "partitions": [0], "topic_partitions": 1})
    assert health.path.name.endswith(f"-{os.getpid()}.json")
    assert HealthFile(tmp_path, "sink", instance=2).path.name.endswith(f"-{os.getpid()}-2.json")
    assert local_process_alive(tmp_path, "sink")
    assert read_stream_health(tmp_path)["status"] == "ok"
