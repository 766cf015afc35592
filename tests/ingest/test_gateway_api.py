"""Gateway behaviour that needs no broker: auth, scope, size, per-event errors, docs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from dvcflow.access import add_key
from dvcflow.settings import Settings
from ingest.gateway import create_app
from ingest.payload import decode_events, split_body

EVENT = {
    "event_id": "e1",
    "case_id": "c1",
    "procedure_code": "1.001193",
    "activity": "receive",
    "timestamp": "2025-07-01T08:15:00+07:00",
    "org_unit": "C26734",
    "province_code": "79",
    "commune_code": "26734",
}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict]]:
    monkeypatch.delenv("DVCFLOW_API_KEYS", raising=False)
    keys = tmp_path / "keys.json"
    tokens = {
        "hcm": add_key(keys, "hcm", "integrator", provinces=["79"], org_units=["C*"]),
        "reader": add_key(keys, "reader", "reform_team"),
    }
    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys_file=keys,
        kafka_bootstrap=None,  # no broker: anything that reaches Kafka answers 503
        gateway_max_request_bytes=4_000,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client, tokens


def test_split_body_shapes() -> None:
    one = orjson.dumps(EVENT)
    assert split_body(one) == [EVENT]
    assert split_body(orjson.dumps([EVENT, EVENT])) == [EVENT, EVENT]
    assert split_body(one + b"\n" + one + b"\n\n") == [EVENT, EVENT]
    mixed = split_body(one + b"\n{oops\n" + one, "application/x-ndjson")
    assert mixed[0] == EVENT and mixed[2] == EVENT
    assert mixed[1].errors[0]["field"] == "line 2"


def test_cloudevent_batch_is_unwrapped() -> None:
    ce = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": EVENT}
    decoded = decode_events(orjson.dumps([ce, ce]), "application/cloudevents-batch+json")
    assert [raw for _, raw, _ in decoded.valid] == [EVENT, EVENT]


def test_401_without_or_with_unknown_key(client: tuple[TestClient, dict]) -> None:
    c, _ = client
    assert c.post("/api/v1/events", json=EVENT).status_code == 401
    r = c.post("/api/v1/events", json=EVENT, headers={"X-API-Key": "dvc_wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_403_outside_scope_names_the_events(client: tuple[TestClient, dict]) -> None:
    c, tokens = client
    other = {**EVENT, "event_id": "e2", "province_code": "01"}
    unit = {**EVENT, "event_id": "e3", "org_unit": "P79.STNMT"}
    r = c.post("/api/v1/events", json=[EVENT, other, unit], headers={"X-API-Key": tokens["hcm"]})
    assert r.status_code == 403
    assert [f["index"] for f in r.json()["forbidden"]] == [1, 2]
    r = c.post("/api/v1/events", json=EVENT, headers={"X-API-Key": tokens["reader"]})
    assert r.status_code == 403


def test_413_above_the_size_cap(client: tuple[TestClient, dict]) -> None:
    c, tokens = client
    r = c.post("/api/v1/events", json=[EVENT] * 40, headers={"X-API-Key": tokens["hcm"]})
    assert r.status_code == 413
    assert "gateway_max_request_bytes" in r.json()["detail"]


def test_422_lists_each_invalid_event(client: tuple[TestClient, dict]) -> None:
    c, tokens = client
    body = [{**EVENT, "timestamp": "2025-07-01T08:15:00"}, {**EVENT, "case_id": ""}, 7]
    r = c.post("/api/v1/events", json=body, headers={"X-API-Key": tokens["hcm"]})
    assert r.status_code == 422
    doc = r.json()
    assert doc["accepted"] == 0
    assert [(e["index"], e["errors"][0]["field"]) for e in doc["rejected"]] == [
        (0, "timestamp"),
        (1, "case_id"),
        (2, "event"),
    ]


def test_503_names_the_missing_bootstrap(client: tuple[TestClient, dict]) -> None:
    c, tokens = client
    r = c.post("/api/v1/events", json=EVENT, headers={"X-API-Key": tokens["hcm"]})
    assert r.status_code == 503
    assert "DVCFLOW_KAFKA_BOOTSTRAP" in r.json()["detail"]
    assert r.json()["acknowledged"] == 0


def test_openapi_documents_every_answer_with_examples(client: tuple[TestClient, dict]) -> None:
    c, _ = client
    spec = c.get("/api/openapi.json").json()
    post = spec["paths"]["/api/v1/events"]["post"]
    assert {"202", "401", "403", "413", "422", "503"} <= set(post["responses"])
    content = post["requestBody"]["content"]
    assert {"application/json", "application/cloudevents+json", "application/x-ndjson"} <= set(
        content
    )
    assert content["application/json"]["examples"]["one"]["value"]["case_id"]
    one_of = content["application/json"]["schema"]["oneOf"]
    assert "timestamp" in one_of[0]["required"] and "$ref" not in orjson.dumps(one_of).decode()
    assert one_of[0]["properties"]["channel"]["enum"]
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    assert c.get("/api/docs").status_code == 200
