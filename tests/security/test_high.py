"""Issue 19, High 1-4: one province's key can neither read, hide nor break another's data."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pyarrow as pa
from typer.testing import CliRunner

from ingest.batch import decode_batch
from ingest.pseudonym import Pseudonymizer
from ingest.schema import STORE_SCHEMA
from ingest.store import EventStore, write_parquet_atomic
from tests.conftest import TEST_KEY
from tests.security.conftest import PROCEDURE, T0, bearer, event, write


# --- 1. a dossier has one owner -----------------------------------------------------------
def test_h1_gateway_refuses_an_event_for_a_dossier_another_province_owns(gateway, world):
    client, tokens = gateway
    settings, _ = world
    before = EventStore(settings.data_dir).read_table().num_rows
    # province 79 in the event, but D00 was registered in 01
    forged = event("D00", 7, "79", event_id="D00-forged")
    r = client.post("/api/v1/events", json=forged, headers=bearer(tokens["int79"]))
    assert r.status_code == 403, r.text
    assert r.json()["forbidden"][0]["errors"][0]["field"] == "case_id"
    assert EventStore(settings.data_dir).read_table().num_rows == before
    # its own dossier, and a new one, pass the checks (then find no broker: 503)
    own = event("D05", 7, "79", event_id="D05-more")
    assert (
        client.post("/api/v1/events", json=own, headers=bearer(tokens["int79"])).status_code == 503
    )


def test_h1_reads_judge_a_dossier_by_its_owner_in_every_endpoint(web, world):
    client, tokens = web
    settings, _ = world
    # an event already on disk (sent before the gateway checked owners): 79's step in the
    # 01 dossier D00, stored later but timed before D00's registration
    injected = event("D00", 9, "79", event_id="D00-injected", activity="injected_step")
    injected["timestamp"] = (T0 - timedelta(days=3)).isoformat()
    write(EventStore(settings.data_dir), [injected], "late", T0 + timedelta(days=90), "key:int79")

    def get(who: str, path: str, **params):
        return client.get(path, params=params, headers=bearer(tokens[who]))

    assert get("off01", "/api/v1/cases/D00").status_code == 200  # the owner reads it
    assert get("off79", "/api/v1/cases/D00").status_code == 403
    listed79 = {c["case_id"] for c in get("off79", "/api/v1/cases", limit=500).json()["items"]}
    listed01 = {c["case_id"] for c in get("off01", "/api/v1/cases", limit=500).json()["items"]}
    assert "D00" not in listed79 and "D00" in listed01
    assert listed79 == {f"D{i:02d}" for i in range(5, 10)}
    # the province's process map is made of its own dossiers only
    nodes79 = {n["id"] for n in get("off79", "/api/v1/process-map").json()["nodes"]}
    assert "injected_step" not in nodes79
    units = {u["province_code"]: u["cases"] for u in get("team", "/api/v1/units").json()}
    assert units == {"01": 5, "79": 5}


# --- 2. identity is scoped to the writer ---------------------------------------------------
def test_h2_an_event_id_taken_by_another_writer_hides_nothing(web, world):
    client, tokens = web
    settings, _ = world
    store = EventStore(settings.data_dir)
    # 79 pre-empted the id of 01's next event (D01-5) on a dossier of its own ...
    forged = event("D06", 5, "79", event_id="D01-5", activity="forged_step")
    write(store, [forged], "forged", T0 + timedelta(days=1), "key:int79")
    # ... then 01's event arrives under that id
    genuine = event("D01", 5, "01", activity="genuine_step")
    write(store, [genuine], "genuine", T0 + timedelta(days=2), "key:int01")
    timeline = client.get("/api/v1/cases/D01", headers=bearer(tokens["off01"])).json()
    assert "genuine_step" in [e["activity"] for e in timeline["events"]]
    # the analyses read both: each in its own dossier
    for who, step in (("off01", "genuine_step"), ("off79", "forged_step")):
        nodes = client.get("/api/v1/process-map", headers=bearer(tokens[who])).json()["nodes"]
        assert step in {n["id"] for n in nodes}, who


def test_h2_the_same_id_with_other_content_is_a_conflict(gateway, world):
    client, tokens = gateway
    settings, _ = world
    sent = event("D07", 5, "79", event_id="D07-x")
    write(EventStore(settings.data_dir), [sent], "earlier", T0 + timedelta(days=5), "key:int79")
    auth = bearer(tokens["int79"])
    changed = {**sent, "activity": "approve"}
    r = client.post("/api/v1/events", json=changed, headers=auth)
    assert r.status_code == 409, r.text
    assert r.json()["conflicts"][0]["errors"][0]["field"] == "event_id"
    # a retry of the same content is no conflict (it goes on to Kafka: here 503)
    assert client.post("/api/v1/events", json=sent, headers=auth).status_code == 503
    # two copies that differ inside one request: conflict, nothing sent
    twins = [event("D08", 6, "79"), {**event("D08", 6, "79"), "activity": "refuse"}]
    r = client.post("/api/v1/events", json=twins, headers=auth)
    assert r.status_code == 409 and r.json()["conflicts"][0]["index"] == 1


def test_h2_an_event_id_stored_under_another_dossier_is_a_conflict_too(gateway, world):
    client, tokens = gateway
    settings, _ = world
    sent = event("D07", 5, "79", event_id="int79-42")
    write(EventStore(settings.data_dir), [sent], "earlier", T0 + timedelta(days=5), "key:int79")
    # the same id for a step of another of 79's dossiers: the read dedup would hide it
    moved = event("D08", 5, "79", event_id="int79-42")
    r = client.post("/api/v1/events", json=moved, headers=bearer(tokens["int79"]))
    assert r.status_code == 409, r.text


# --- 3. timestamps in a sane window; readers survive what is on disk -------------------------
def test_h3_extreme_timestamps_are_refused_at_the_contract(gateway, world):
    client, tokens = gateway
    settings, _ = world
    auth = bearer(tokens["int79"])
    for stamp in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"):
        r = client.post("/api/v1/events", json=event("D09", 7, "79", timestamp=stamp), headers=auth)
        assert r.status_code == 422, r.text
        assert r.json()["rejected"][0]["errors"][0]["field"] == "timestamp"
    raw = orjson.dumps(event("D09", 8, "79", timestamp="0001-01-01T00:00:00+01:00"))
    table, rejects = decode_batch([raw], Pseudonymizer(TEST_KEY.encode()), settings)
    assert table.num_rows == 0 and rejects[0][2][0]["field"] == "timestamp"  # the DLQ reason


def test_h3_readers_survive_absurd_rows_already_on_disk(web, world, monkeypatch):
    client, tokens = web
    settings, _ = world
    store = EventStore(settings.data_dir)
    # 0000-12-31T23:00Z and 10000-01-01T04:00Z: what the probe's events became, written
    # straight to Parquet as an older gateway stored them
    for name, micros in (
        ("year0", -62_167_222_800_000_000),
        ("year10000", 253_402_318_800_000_000),
    ):
        row = {f: [None] for f in STORE_SCHEMA.names} | {
            "event_id": [name], "case_id": [f"X-{name}"], "procedure_code": [PROCEDURE],
            "activity": ["receive"], "lifecycle": ["complete"], "org_unit": ["C26734"],
            "province_code": ["79"], "timestamp": [micros], "ingested_at": [0],
        }  # fmt: skip
        arrays = [pa.array(row[f.name], pa.int64() if f.name in ("timestamp", "ingested_at")
                  else f.type).cast(f.type) for f in STORE_SCHEMA]  # fmt: skip
        table = pa.Table.from_arrays(arrays, schema=STORE_SCHEMA)
        write_parquet_atomic(table, store.partition_dir(PROCEDURE, name) / "direct.parquet")
    assert {p["procedure_code"] for p in store.summary()} == {PROCEDURE}
    team = bearer(tokens["team"])
    assert client.get("/api/v1/procedures", headers=team).status_code == 200
    assert client.get("/api/v1/status", headers=team).status_code == 200
    for path in ("/api/v1/bottlenecks", "/api/v1/cases", "/api/v1/process-map"):
        assert client.get(path, params={"procedure": PROCEDURE}, headers=team).status_code == 200
    from dvcflow.cli import app

    monkeypatch.setenv("DVCFLOW_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output


# --- 4. no amplification ---------------------------------------------------------------------
def test_h4_a_read_only_key_is_refused_before_its_body_is_read(gateway):
    client, tokens = gateway
    big = b"[" + b"1," * 6_000_000 + b"1]"  # above gateway_max_request_bytes (10 MiB)
    r = client.post(
        "/api/v1/events",
        content=big,
        headers={**bearer(tokens["off79"]), "content-type": "application/json"},
    )
    assert r.status_code == 403 and len(r.content) < 1_000


def test_h4_the_error_list_is_capped_and_an_empty_array_is_refused(gateway):
    client, tokens = gateway
    auth = bearer(tokens["int79"])
    r = client.post("/api/v1/events", content=b"[" + b"1," * 9_999 + b"1]", headers=auth)
    assert r.status_code == 422
    doc = r.json()
    assert len(doc["rejected"]) == 5 and doc["rejected_count"] == 10_000  # gateway_max_errors
    assert len(r.content) < 2_000
    empty = client.post("/api/v1/events", json=[], headers=auth)
    assert empty.status_code == 422 and empty.json()["accepted"] == 0
