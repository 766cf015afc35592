"""A small store of two provinces' dossiers, keys of the probe's roles, and the two apps.

Province 01 and province 79 each register dossiers; the keys are those of the outside probe
of issue 19: an integrator of 79 (and one of 01), officials of 01 and of 79, a reform team.
The gateway runs without a broker: whatever passes its checks answers 503, so a 403, 409 or
422 proves the check refused the request before anything could reach Kafka.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dvcflow.access import add_key
from dvcflow.settings import Settings
from ingest.pseudonym import Pseudonymizer
from ingest.schema import rows_to_table, validate_event
from ingest.store import EventStore
from tests.conftest import TEST_KEY

PROCEDURE = "1.001193"
T0 = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)
STEPS = ["submit", "receive", "appraise", "approve", "return_result"]
ROLES = {
    "int79": ("integrator", ["79"]),
    "int01": ("integrator", ["01"]),
    "off79": ("official", ["79"]),
    "off01": ("official", ["01"]),
    "team": ("reform_team", None),
}


def event(case: str, j: int, province: str, **over: object) -> dict:
    commune = {"79": "26734", "01": "00004"}[province]
    return {
        "event_id": f"{case}-{j}",
        "case_id": case,
        "procedure_code": PROCEDURE,
        "activity": STEPS[j % len(STEPS)],
        "timestamp": (T0 + timedelta(days=int(case[-2:]), hours=3 * j)).isoformat(),
        "org_unit": f"C{commune}",
        "province_code": province,
        "commune_code": commune,
        "channel": "online" if j == 0 else "internal",
        "applicant_id": f"0{province}2030012{case[-2:]}",
        "outcome": "approved" if j == len(STEPS) - 1 else None,
        **over,
    }


def dossiers() -> list[dict]:
    """Ten dossiers: D00..D04 registered in 01, D05..D09 in 79."""
    return [
        event(f"D{i:02d}", j, "01" if i < 5 else "79") for i in range(10) for j in range(len(STEPS))
    ]


def write(store: EventStore, events: list[dict], name: str, at: datetime, source=None) -> None:
    """Events stored as the sink stores them (pseudonymised), arrived at ``at`` from
    ``source`` (the writer)."""
    pseudo = Pseudonymizer(TEST_KEY.encode())
    rows = [validate_event(e, pseudo, ingested_at=at) | {"source": source} for e in events]
    store.write(rows_to_table(rows), name)


@pytest.fixture(autouse=True)
def no_failed_tokens() -> Iterator[None]:
    """Each test starts with a clean failed-token count (it is per process)."""
    from dvcflow import access

    limiter = getattr(access, "failed_tokens", None)  # absent before the fix: run anyway
    if limiter is not None:
        limiter.clear()
    yield
    if limiter is not None:
        limiter.clear()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, dict[str, str]]:
    monkeypatch.delenv("DVCFLOW_API_KEYS", raising=False)
    keys = tmp_path / "keys.json"
    tokens = {
        name: add_key(keys, name, role, provinces=provinces)
        for name, (role, provinces) in ROLES.items()
    }
    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys_file=keys,
        kafka_bootstrap=None,
        web_warm_cache=False,
        pseudonym_key=TEST_KEY,
        gateway_max_errors=5,
    )
    write(EventStore(settings.data_dir), dossiers(), "registered", T0, "key:seed")
    return settings, tokens


@pytest.fixture
def gateway(world) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from ingest.gateway import create_app

    settings, tokens = world
    with TestClient(create_app(settings)) as client:
        yield client, tokens


@pytest.fixture
def web(world) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from dashboard.server import create_app

    settings, tokens = world
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
