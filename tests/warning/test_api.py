"""``GET /api/v1/warnings``: the morning list under the same filters and scopes as every
read endpoint."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient

from dashboard.server import create_app
from dvcflow import access
from dvcflow.settings import Settings
from mining.filters import LogFilter
from mining.warning import warnings
from sample_logs import names

CODE = "1.004193"


@pytest.fixture(scope="module")
def client(warn_store):
    app = create_app(Settings(data_dir=warn_store.data_dir, web_warm_cache=False))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def official(monkeypatch):
    key = {
        "name": "hn",
        "token_sha256": access.hash_token("tok-hn"),
        "role": "official",
        "provinces": ["01"],
        "communes": None,
    }
    monkeypatch.setenv(access.ENV_KEYS, orjson.dumps([key]).decode())
    return {"Authorization": "Bearer tok-hn"}


def test_an_official_gets_the_list_of_their_province(client, official, warn_store):
    got = client.get("/api/v1/warnings", params={"procedure": CODE}, headers=official)
    assert got.status_code == 200, got.text
    body = got.json()
    direct = warnings(warn_store, LogFilter(procedure=CODE, province="01"), top=50)
    assert [i["case_id"] for i in body["items"]] == [i.case_id for i in direct.items]
    assert body["items"] and {i["province"] for i in body["items"]} == {"01"}
    assert body["quality"]["points"][0]["auc_model"] is not None
    # names beside codes, and which model answers
    first = body["items"][0]
    assert first["unit_name"]["vi"] == names.unit_name(first["unit"], "vi") != first["unit"]
    assert first["province_name"] == names.province_name("01")
    assert body["model_version"] == body["store_version"] == warn_store.version()
    assert body["model_trained_at"] and body["retraining"] is False
    other = client.get(
        "/api/v1/warnings", params={"procedure": CODE, "province": "31"}, headers=official
    )
    assert other.status_code == 403


def test_the_procedure_is_required(client):
    got = client.get("/api/v1/warnings")
    detail = got.json()["detail"]
    assert got.status_code == 422 and detail.startswith("procedure") and "--" not in detail
