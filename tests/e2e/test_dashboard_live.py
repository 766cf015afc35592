"""The live path end to end: events POSTed to the web process's gateway go through the real
broker and a sink into the store, and a signed-in dashboard shows them without a restart,
keeping the reader's place (sorted column, selected row) in its tables."""

from __future__ import annotations

import re
import threading

import httpx
import orjson
import pytest
from selenium.common.exceptions import TimeoutException

from dvcflow.access import ENV_KEYS, hash_token
from ingest.sink import run_sink
from tests.e2e.browser import (
    chromium,
    click,
    dash_requests,
    need_browser,
    server_errors,
    settled,
    text_of,
    wait_for,
    web_server,
)
from tests.e2e.conftest import make_events
from tests.e2e.conftest import wait_for as wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("web-live")]

FEED, TEAM = "dvc_feed-not-a-secret", "dvc_team-not-a-secret"


def post_events(base: str, events: list[dict]) -> None:
    """Send events through the gateway as the integrator (feed token); 202 or the test fails."""
    sent = httpx.post(
        f"{base}/api/v1/events",
        json=events,
        headers={"Authorization": f"Bearer {FEED}"},
        timeout=60,
    )
    assert sent.status_code == 202, sent.text


def signed_in_overview(driver) -> None:
    """Wait for the overview's cards after signing in; on a timeout, fail with what the
    browser saw of Dash's requests (a layout answered 500 shows as "Error loading layout")."""
    try:
        wait_for(driver, "#card-cases", timeout=60)
    except TimeoutException:
        body = driver.find_element("css selector", "body").text[:300]
        seen = dash_requests(driver)
        raise AssertionError(f"no overview after signing in: {body!r}; {seen}") from None


def api_get(base: str, path: str, **params) -> list[dict]:
    got = httpx.get(
        f"{base}/api/v1{path}", params=params, headers={"Authorization": f"Bearer {TEAM}"}
    )
    assert got.status_code == 200, got.text
    return got.json()["data"]["waits"]


def api_total(base: str, procedure: str, activity: str) -> int:
    got = httpx.get(
        f"{base}/api/v1/cases",
        params={"procedure": procedure, "activity": activity, "limit": 1},
        headers={"Authorization": f"Bearer {TEAM}"},
    )
    assert got.status_code == 200, got.text
    return got.json()["total"]


def step_column(driver, name: str) -> list[str]:
    """One column of the steps table, read in one go (a refresh may redraw it meanwhile)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(c => c.innerText.trim());",
        f"#bn-steps td[data-dash-column={name}]",
    )


def drill_total(driver) -> str | None:
    return driver.execute_script(
        "const e = document.querySelector('#bn-drill-total');"
        "return e && e.getAttribute('data-total');"
    )


def sort_steps_by_count(driver, default: list[str]) -> str:
    """Sort the steps table by its count column (a click on the header's sort arrow), in the
    direction the server's ranking does not already have; the direction used."""
    arrow = "#bn-steps th[data-dash-column=count] .column-header--sort"
    for _click in (1, 2):
        click(driver, arrow)
        settled(driver)
        counts = [int(re.sub(r"\D", "", c)) for c in step_column(driver, "count")]
        direction = "asc" if counts == sorted(counts) else "desc"
        assert counts == sorted(counts, reverse=direction == "desc"), counts
        if step_column(driver, "activity") != default:
            return direction
    raise AssertionError("sorting by count did not change the order of the steps")


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
            post_events(base, events)

            driver.get(f"{base}/")
            wait_for(driver, "#token").send_keys(TEAM)
            driver.find_element("css selector", "#sign-in").click()
            signed_in_overview(driver)
            failed = server_errors(driver)  # a layout or callback the server answered 5xx
            assert not failed, failed
            text_of(  # the card is redrawn by each live refresh: read anew each time
                driver,
                "#card-cases .card-value",
                until=lambda shown: shown.replace(",", "") == str(dossiers),
                timeout=150,
            )
            settled(driver)
            wait_for(driver, "#stream-dlq", timeout=60)  # the sink reports: stream panel live
            text_of(driver, "#stream-status .card-value", until=lambda s: s == "Đang chạy")

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

            # The reader sorts the steps and selects one; then more events stream in.
            proc = "1.001193"
            driver.get(f"{base}/bottlenecks?procedure={proc}")
            wait_for(driver, "#bn-steps", timeout=120)
            settled(driver, timeout=120)
            from sample_logs.names import step_name

            default = [
                step_name(proc, w["activity"], "vi")
                for w in api_get(base, "/bottlenecks", procedure=proc)
            ]
            direction = sort_steps_by_count(driver, default)
            shown = step_column(driver, "activity")
            picked = shown[1]
            click(driver, "#bn-steps input[type=radio]", index=1)
            drilled = wait_for(driver, "#bn-drill-total", timeout=60, text=picked)
            before = int(drilled.get_attribute("data-total"))
            shown_name, picked = picked, drilled.get_attribute("data-step")  # the step's id
            more = [
                {**e, "case_id": f"x{e['case_id']}", "event_id": f"x{e['event_id']}"}
                for e in make_events(300, seed=11)
            ]
            post_events(base, more)
            # Counted from the events sent, not read from the API mid-ingest: the sink writes
            # the batch in several flushes, and a total read between two was already stale.
            through = {
                e["case_id"] for e in more if (e["procedure_code"], e["activity"]) == (proc, picked)
            }
            assert through, f"the second batch has no dossier through {picked!r}"
            want = before + len(through)
            wait_until(lambda: api_total(base, proc, picked) == want, 150, "the sink to write them")
            wait_until(  # the open page refreshes by itself
                lambda: drill_total(driver) == str(want), 120, "the page to show them", every=0.5
            )
            settled(driver, timeout=60)
            assert drill_total(driver) == str(want)
            # Still the same step selected (by name, not by position) and the same sorting.
            checked = driver.execute_script(
                "const r = document.querySelector('#bn-steps tr:has(input[type=radio]:checked)');"
                "return r && r.querySelector('td[data-dash-column=activity]').innerText;"
            )
            assert checked == shown_name
            counts = [int(re.sub(r"\D", "", c)) for c in step_column(driver, "count")]
            assert counts == sorted(counts, reverse=direction == "desc")
            failed = server_errors(driver)  # none on the way either
            assert not failed, failed
            fresh = api_get(base, "/bottlenecks", procedure=proc)
            fresh_counts = [w["count"] for w in fresh]
            assert fresh_counts != sorted(fresh_counts, reverse=direction == "desc"), (
                "the server's own order is already this sorting: the check proves nothing"
            )
    finally:
        stop.set()
        sink.join(timeout=30)
