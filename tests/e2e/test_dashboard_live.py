"""The live path end to end: events POSTed to the web process's gateway go through the real
broker and a sink into the store, and a signed-in dashboard shows them without a restart."""

from __future__ import annotations

import threading
import time

import httpx
import orjson
import pytest

from dvcflow.access import ENV_KEYS, hash_token
from ingest.sink import run_sink
from tests.e2e.browser import chromium, need_browser, settled, wait_for, web_server
from tests.e2e.conftest import make_events

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("web-live")]

FEED, TEAM = "dvc_feed-not-a-secret", "dvc_team-not-a-secret"


def test_streamed_events_reach_a_signed_in_dashboard(stream_settings):
    need_browser()
    settings = stream_settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keys = [
        {"name": "feed", "token_sha256": hash_token(FEED), "role": "integrator"},
        {"name": "team", "token_sha256": hash_token(TEAM), "role": "reform_team"},
    ]
    env = {
        ENV_KEYS: orjson.dumps(keys).decode(),
        "DVCFLOW_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "DVCFLOW_TOPIC_EVENTS": settings.topic_events,
        "DVCFLOW_TOPIC_DLQ": settings.topic_dlq,
        "DVCFLOW_WEB_STALE_SECONDS": "1",
        "DVCFLOW_WEB_REFRESH_SECONDS": "1",
    }
    events = make_events(400)
    dossiers = len({e["case_id"] for e in events})
    stop = threading.Event()
    sink = threading.Thread(target=run_sink, args=(settings, stop), daemon=True)
    sink.start()
    try:
        with web_server(settings.data_dir, env) as base, chromium() as driver:
            sent = httpx.post(
                f"{base}/api/v1/events",
                json=events,
                headers={"Authorization": f"Bearer {FEED}"},
                timeout=60,
            )
            assert sent.status_code == 202, sent.text

            driver.get(f"{base}/")
            wait_for(driver, "#token").send_keys(TEAM)
            driver.find_element("css selector", "#sign-in").click()
            wait_for(driver, "#card-cases", timeout=120)
            end = time.monotonic() + 150
            shown = None
            while time.monotonic() < end:
                shown = driver.find_element("css selector", "#card-cases .card-value").text
                if shown.replace(",", "") == str(dossiers):
                    break
                time.sleep(0.5)
            assert shown.replace(",", "") == str(dossiers)
            settled(driver)
            wait_for(driver, "#stream-dlq", timeout=60)  # the sink reports: stream panel live

            api = httpx.get(
                f"{base}/api/v1/cases",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {TEAM}"},
            ).json()
            assert api["total"] == dossiers
            health = httpx.get(
                f"{base}/api/v1/stream/health", headers={"Authorization": f"Bearer {TEAM}"}
            ).json()["data"]
            assert health["events_written"] >= len(events) and health["dlq_count"] == 0
    finally:
        stop.set()
        sink.join(timeout=30)
