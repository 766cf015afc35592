"""The early warning follows the stream: a supplement request streamed through the gateway,
the real broker and the sink for an open dossier changes that dossier's row in
``GET /api/v1/warnings`` and on the open /warning page in a real Chromium, while the server
keeps running (no restart, no reload, no retrain awaited)."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import orjson
import pytest

from dvcflow.access import ENV_KEYS, hash_token
from ingest.sink import run_sink
from mining.deadlines import SUPPLEMENT_REQUEST
from tests.e2e.browser import chromium, need_browser, wait_for, web_server
from tests.e2e.conftest import wait_for as wait_until
from tests.e2e.test_dashboard_live import FEED, TEAM, post_events, signed_in_overview
from tests.warning.conftest import generated

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("web-live")]
CODE = "1.004193"


def answer(base: str) -> dict:
    got = httpx.get(
        f"{base}/api/v1/warnings",
        params={"procedure": CODE, "top": 500},
        headers={"Authorization": f"Bearer {TEAM}"},
        timeout=120,
    )
    assert got.status_code == 200, got.text
    return got.json()


def rows(base: str) -> dict[str, dict]:
    return {i["case_id"]: i for i in answer(base)["items"]}


def page_step(driver, case: str) -> str | None:
    """The step cell of ``case``'s row in the page's list (None: not listed)."""
    return driver.execute_script(
        "for (const r of document.querySelectorAll('#wn-list tbody tr')) {"
        "  const c = r.querySelectorAll('td');"
        "  if (c.length > 4 && c[1].innerText.trim() === arguments[0])"
        "    return c[4].innerText.trim(); }"
        "return null;",
        case,
    )


def test_a_streamed_supplement_request_changes_the_dossiers_warning(stream_settings):
    need_browser()
    settings = stream_settings
    store = generated(settings.data_dir, CODE, 1000, seed=5)
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
        "DVCFLOW_WEB_WARM_CACHE": "false",
        "DVCFLOW_WARNING_RETRAIN_SECONDS": "0",  # every new store version retrains
    }
    stop = threading.Event()
    sink = threading.Thread(target=run_sink, args=(settings, stop), daemon=True)
    sink.start()
    try:
        with web_server(settings.data_dir, env) as base, chromium() as driver:
            before = rows(base)
            # an open dossier on the page (top 50), its last step not a request
            row = next(
                r
                for r in sorted(before.values(), key=lambda r: r["rank"])
                if r["step"] != SUPPLEMENT_REQUEST and r["probability_late"] is not None
            )
            case = row["case_id"]
            driver.get(f"{base}/")
            wait_for(driver, "#token").send_keys(TEAM)
            driver.find_element("css selector", "#sign-in").click()
            signed_in_overview(driver)
            driver.get(f"{base}/warning?procedure={CODE}")
            wait_for(driver, "#wn-list", timeout=120)
            assert page_step(driver, case) == row["step_label"]["vi"]
            con = store.connect()
            try:
                last = (
                    con.execute(
                        "SELECT * FROM events WHERE case_id = $c ORDER BY timestamp DESC LIMIT 1",
                        {"c": case},
                    )
                    .df()
                    .iloc[0]
                )
                end = con.execute("SELECT max(timestamp) FROM events").fetchone()[0]
            finally:
                con.close()
            # before the log's last moment: the other dossiers' clocks stay where they were
            at = min(last["timestamp"] + timedelta(minutes=5), end)
            event = {
                "event_id": f"live-{case}-supplement",
                "case_id": case,
                "procedure_code": CODE,
                "activity": SUPPLEMENT_REQUEST,
                "timestamp": at.isoformat(),
                "lifecycle": "complete",
                "org_unit": last["org_unit"],
                "province_code": last["province_code"],
                "commune_code": last["commune_code"],
                "channel": last["channel"],
                "actor_role": "officer",
            }
            post_events(base, [event])
            seen: list[dict] = []

            def counted() -> bool:
                got = answer(base)
                hit = {i["case_id"]: i for i in got["items"]}[case]
                if hit["supplement_requests"] == row["supplement_requests"] + 1:
                    seen.append(got)
                return bool(seen)

            wait_until(counted, 120, "the warning to count the streamed request", every=0.5)
            got = seen[0]
            # answered at once by the model of the older version, the new one training
            assert got["model_version"] != got["store_version"] and got["retraining"], got
            after = {i["case_id"]: i for i in got["items"]}[case]
            assert after["step"] == SUPPLEMENT_REQUEST
            assert after["probability_late"] != row["probability_late"]
            assert any("bổ sung" in r["vi"].lower() for r in after["reasons"]) or (
                after["expected_days"] != row["expected_days"]
            )
            # the open page redraws by itself with the new step
            wait_until(
                lambda: page_step(driver, case) == after["step_label"]["vi"],
                120,
                "the open /warning page to show the streamed step",
                every=0.5,
            )
            # the other dossiers kept their rows (their clocks did not move)
            other = next(c for c in before if c != case)
            assert rows(base)[other]["waited_days"] == before[other]["waited_days"]
            # the retrained model lands in the background and answers the next request
            wait_until(
                lambda: (a := answer(base))["model_version"] == a["store_version"],
                180,
                "the background retrain to land",
                every=1,
            )
            assert rows(base)[case]["supplement_requests"] == after["supplement_requests"]
    finally:
        stop.set()
        sink.join(timeout=30)
