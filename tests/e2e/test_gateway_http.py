"""The gateway through real HTTP (uvicorn on loopback) and the real broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn

from dvcflow.access import add_key
from dvcflow.settings import Settings
from ingest.broker import free_port
from ingest.gateway import create_app
from tests.e2e.conftest import consume_all, make_events

pytestmark = pytest.mark.e2e


class Served:
    def __init__(self, settings: Settings):
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}/api"

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def keyed(stream_settings: Settings) -> tuple[Settings, dict[str, str]]:
    path = stream_settings.data_dir / "keys.json"
    settings = stream_settings.model_copy(
        update={"api_keys_file": path, "gateway_max_request_bytes": 200_000}
    )
    tokens = {
        "all": add_key(path, "national", "integrator"),
        "hcm": add_key(path, "hcm", "integrator", provinces=["79"]),
        "reader": add_key(path, "reader", "official"),
    }
    return settings, tokens


@pytest.fixture
def served(keyed: tuple[Settings, dict[str, str]]) -> Iterator[tuple[Served, dict[str, str]]]:
    settings, tokens = keyed
    with Served(settings) as server:
        yield server, tokens


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_202_only_after_kafka_has_every_event(
    served: tuple[Served, dict[str, str]], stream_settings: Settings
) -> None:
    server, tokens = served
    events = make_events(40, seed=5)
    cloud = {"specversion": "1.0", "id": "x1", "source": "urn:t", "type": "t", "data": events[3]}
    ndjson = b"\n".join(orjson.dumps(e) for e in events[4:40])
    with httpx.Client(base_url=server.url, timeout=30) as client:
        one = client.post("/v1/events", json=events[0], headers=_auth(tokens["all"]))
        many = client.post("/v1/events", json=events[1:3], headers={"X-API-Key": tokens["all"]})
        ce = client.post(
            "/v1/events",
            content=orjson.dumps(cloud),
            headers={**_auth(tokens["all"]), "Content-Type": "application/cloudevents+json"},
        )
        nd = client.post(
            "/v1/events",
            content=ndjson,
            headers={**_auth(tokens["all"]), "Content-Type": "application/x-ndjson"},
        )
    assert [r.status_code for r in (one, many, ce, nd)] == [202, 202, 202, 202]
    assert [r.json()["accepted"] for r in (one, many, ce, nd)] == [1, 2, 1, 36]
    got = consume_all(stream_settings, stream_settings.topic_events, 40, timeout=30)
    assert sorted(orjson.loads(m.value())["event_id"] for m in got) == sorted(
        e["event_id"] for e in events
    )
    assert all(m.key().decode() == orjson.loads(m.value())["case_id"] for m in got)


def test_422_lists_bad_events_and_sends_the_good(
    served: tuple[Served, dict[str, str]], stream_settings: Settings
) -> None:
    server, tokens = served
    good = make_events(3, seed=9)
    naive = {**good[0], "event_id": "naive", "timestamp": "2025-07-01T08:00:00"}
    missing = {k: v for k, v in good[1].items() if k != "case_id"}
    body = [good[0], naive, good[1], missing, "not an object", good[2]]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.post("/v1/events", json=body, headers=_auth(tokens["all"]))
    assert r.status_code == 422
    doc = r.json()
    assert doc["accepted_indices"] == [0, 2, 5]
    errors = {e["index"]: e["errors"] for e in doc["rejected"]}
    assert set(errors) == {1, 3, 4}
    assert errors[1][0]["field"] == "timestamp" and "naive" in errors[1][0]["reason"]
    assert errors[3][0]["field"] == "case_id"
    got = consume_all(stream_settings, stream_settings.topic_events, 3, timeout=30)
    assert sorted(orjson.loads(m.value())["event_id"] for m in got) == sorted(
        e["event_id"] for e in good
    )


def test_401_403_413(served: tuple[Served, dict[str, str]], stream_settings: Settings) -> None:
    server, tokens = served
    events = make_events(60, seed=13)
    outside = next(e for e in events if e["province_code"] != "79")
    inside = next(e for e in events if e["province_code"] == "79")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/v1/events", json=inside).status_code == 401
        assert client.post("/v1/events", json=inside, headers=_auth("nope")).status_code == 401
        # a read-only token may not write
        assert (
            client.post("/v1/events", json=inside, headers=_auth(tokens["reader"])).status_code
            == 403
        )
        r = client.post("/v1/events", json=[inside, outside], headers=_auth(tokens["hcm"]))
        assert r.status_code == 403
        assert [f["event_id"] for f in r.json()["forbidden"]] == [outside["event_id"]]
        big = [events[0]] * 1000  # ~ 500 kB > 200 kB
        assert client.post("/v1/events", json=big, headers=_auth(tokens["all"])).status_code == 413
        ok = client.post("/v1/events", json=inside, headers=_auth(tokens["hcm"]))
        assert ok.status_code == 202
    got = consume_all(stream_settings, stream_settings.topic_events, 2, timeout=6)
    assert [orjson.loads(m.value())["event_id"] for m in got] == [inside["event_id"]]


def test_503_when_the_broker_is_unreachable(
    keyed: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    settings, tokens = keyed
    dead = settings.model_copy(
        update={"kafka_bootstrap": f"127.0.0.1:{free_port()}", "gateway_ack_timeout_seconds": 2.0}
    )
    with Served(dead) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        started = time.monotonic()
        r = client.post("/v1/events", json=make_events(3), headers=_auth(tokens["all"]))
        assert r.status_code == 503
        assert r.json()["acknowledged"] == 0
        assert time.monotonic() - started < 10
        health = client.get("/v1/stream/health")
        assert health.status_code == 200
        metrics = client.get("/metrics", headers=_auth(tokens["reader"])).text  # any key
    assert 'dvcflow_gateway_requests_total{status="503"} 1.0' in metrics
