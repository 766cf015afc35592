"""The dashboard as a provincial official reads it, in real headless Chromium: units and steps
by name (from ``vietnam-provinces`` and the catalog) in Vietnamese and English, Vietnamese
number formats, no English word left in the Vietnamese UI, the wait per commune equal to the
API's, and a click on a province tile narrowing the filter."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from babel.numbers import format_decimal

from sample_logs.catalog import get_procedure
from sample_logs.names import province_name
from tests.dashboard.conftest import generated_store
from tests.e2e.browser import chromium, need_browser, settled, wait_for, web_server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("web-browser")]

PROC = "1.004193"  # the planted slow handoff: commune police → social insurance, in Hải Phòng
PAGES = {
    "/": "#card-cases",
    "/explorer": "#ex-cytoscape",
    "/bottlenecks": "#bn-steps",
    "/compare": "#cmp-table",
}
# Words of an English UI that must not appear in the Vietnamese one (whole words).
ENGLISH = (
    "Start Date", "End Date", "Search", "Select", "timestamp", "org_unit", "lifecycle",
    "approved", "rejected", "counter", "online_submission", "on_time", "December", "January",
    "Mon", "Sun", "Dossiers", "Province", "Commune", "Step", "Count", "Median", "fitness",
    "True", "False", "true", "false", "working days", "Error",
)  # fmt: skip


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    need_browser()
    store = generated_store(tmp_path_factory.mktemp("officials") / "data", 1500, seed=3)
    with web_server(store.data_dir) as url:
        yield url


@pytest.fixture(scope="module")
def driver(base):
    with chromium() as d:
        yield d


def api(base: str, path: str, **params):
    import httpx

    got = httpx.get(f"{base}/api/v1{path}", params=params, timeout=60)
    assert got.status_code == 200, got.text
    return got.json()


def open_page(driver, base: str, path: str, ready: str, lang: str = "vi", **query) -> str:
    """The page's visible text once drawn in ``lang`` with these filters."""
    filters = {"procedure": "", "province": "", "from": "", "to": "", "channel": ""}
    driver.get(f"{base}{path}?{urlencode(filters | query)}")
    wait_for(driver, ready, timeout=90)
    if driver.find_element("css selector", f"#lang input[value={lang}]").is_selected() is False:
        driver.find_element("css selector", f"#lang input[value={lang}]").click()
        wait_for(driver, ready, timeout=90)
    settled(driver, timeout=90)
    return driver.find_element("css selector", "body").text


def step_label(code: str, lang: str) -> str:
    return getattr(get_procedure(PROC).step(code).label, lang)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_page_names_units_and_steps(driver, base, lang):
    for path, ready in PAGES.items():
        shown = open_page(driver, base, path, ready, lang, procedure=PROC)
        assert "Hải Phòng" in shown and province_name("31") in shown or path == "/explorer", path
        if path in ("/explorer", "/bottlenecks"):
            assert step_label("issue_insurance_card", lang) in shown, path
        # no step id, no bare unit code in any cell
        assert "issue_insurance_card" not in shown and "transfer_insurance" not in shown, path
        assert not re.search(r"\bP31\.BHXH\b|\bC\d{5}\b", shown), path


def test_vietnamese_ui_has_no_english_word_and_vietnamese_numbers(driver, base):
    for path, ready in PAGES.items():
        shown = open_page(driver, base, path, ready, "vi", procedure=PROC)
        found = [w for w in ENGLISH if re.search(rf"(?<![\w_]){re.escape(w)}(?![\w_])", shown)]
        assert not found, (path, found)
    open_page(driver, base, "/", "#card-cases", "vi")
    count = api(base, "/cases", limit=1)["total"]
    assert count >= 1000  # so the thousands separator shows
    want = format_decimal(count, format="#,##0", locale="vi_VN")  # "1.500"
    assert driver.find_element("css selector", "#card-cases-value").text == want


def test_wait_per_commune_equals_the_api(driver, base):
    open_page(driver, base, "/bottlenecks", "#bn-steps", "vi", procedure=PROC, province="31")
    rows = driver.find_elements("css selector", "#bn-steps tbody tr")
    steps = [r for r in rows if r.find_elements("css selector", "input[type=radio]")]
    steps[0].find_element("css selector", "input[type=radio]").click()
    view = wait_for(driver, "#su-view", timeout=90)
    step = view.get_attribute("data-step")
    settled(driver, timeout=60)
    drawn = driver.execute_script(
        "const g = document.querySelector('#su-chart .js-plotly-plot');"
        "return [g.data[0].x, g.data[0].customdata.map(c => c[0])];"
    )
    want = api(base, "/unit-waits", procedure=PROC, province="31", step=step)["data"]
    units = list(reversed(want["units"]))  # the chart draws the slowest on top
    assert drawn[1] == [u["unit"] for u in units]
    assert drawn[0] == pytest.approx([u["median_working_days"] for u in units])
    assert want["by"] == "commune" and want["national_median_working_days"] is not None


def test_a_province_tile_narrows_the_filter(driver, base):
    open_page(driver, base, "/", "#ov-tilemap", "vi", procedure=PROC)
    driver.find_element("css selector", "#ov-tilemap button[data-code='31']").click()
    wait_for(driver, "#f-province", timeout=60, text="Hải Phòng")
    settled(driver, timeout=90)
    # the overview now ranks the communes of Hải Phòng
    title = wait_for(driver, "#ov-map-panel h2", timeout=60).text
    assert "Hải Phòng" in title
