"""The dashboard as a provincial official reads it, in real headless Chromium: units and steps
by name (from ``vietnam-provinces`` and the catalog) in Vietnamese and English, Vietnamese
number formats, no English word left in any page of the Vietnamese UI, the date picker's
Vietnamese calendar, a dossier's case page (local time, process order, due date drawn), the
wait per commune equal to the API's, and a click on a province tile narrowing the filter."""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from sample_logs.catalog import get_procedure
from sample_logs.names import province_name, unit_name
from tests.dashboard.conftest import generated_store
from tests.e2e.browser import chromium, need_browser, settled, text_of, wait_for, web_server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("web-browser")]

PROC = "1.004193"  # the planted slow handoff: commune police → social insurance, in Hải Phòng
PAGES = {
    "/": "#card-cases",
    "/explorer": "#ex-cytoscape",
    "/bottlenecks": "#bn-steps",
    "/compare": "#cmp-table",
}
# Every page of the navigation, for the check that no English word is left in Vietnamese.
ALL_PAGES = {
    **PAGES,
    "/reform": "#rf-candidates",
    "/warning": "#wn-list, #wn-message",
    "/case": "#case-events",
}
TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # the settings' default time zone
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
    dossier = a_dossier(base)
    for path, ready in ALL_PAGES.items():
        extra = {"id": dossier} if path == "/case" else {}
        shown = open_page(driver, base, path, ready, "vi", procedure=PROC, province="31", **extra)
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


def a_dossier(base: str) -> str:
    """A dossier of Hải Phòng with the most events (supplements, several units)."""
    page = api(base, "/cases", procedure=PROC, province="31", limit=1, sort="events",
               descending=True)  # fmt: skip
    return page["items"][0]["case_id"]


def column(driver, table: str, name: str) -> list[str]:
    cells = driver.find_elements("css selector", f"#{table} td[data-dash-column={name}]")
    return [c.text for c in cells]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_case_page_in_local_time_process_order_names_and_due_date(driver, base, lang):
    case_id = a_dossier(base)
    timeline = api(base, f"/cases/{case_id}")
    events, deadline = timeline["events"], timeline["deadline"]
    open_page(driver, base, "/case", "#case-events", lang, id=case_id)
    moments = [datetime.fromisoformat(e["timestamp"]).astimezone(TZ) for e in events]
    assert moments == sorted(moments)  # process order: by time first
    pattern = "dd/MM/yyyy HH:mm" if lang == "vi" else "yyyy-MM-dd HH:mm"
    # local wall-clock time, whatever offset the API wrote
    assert column(driver, "case-events", "timestamp") == [
        format_datetime(m, pattern, locale="vi_VN" if lang == "vi" else "en_US") for m in moments
    ]
    assert column(driver, "case-events", "activity") == [
        step_label(e["activity"], lang) for e in events
    ]
    assert column(driver, "case-events", "org_unit") == [
        unit_name(e["org_unit"], lang) for e in events
    ]
    shown = driver.find_element("css selector", "#page-case").text
    # unit codes and step ids only on hover (an officer code, "P31.BHXH.CB10", is its name)
    assert not re.search(r"\bP31\.BHXH\b(?!\.)|issue_insurance_card|register_birth", shown)
    # the due date: the source's own (the generator's due_date attribute wins), drawn
    given = json.loads(events[0]["attributes"])["due_date"]
    due = datetime.fromisoformat(deadline["due_at"])
    assert due == datetime.fromisoformat(given)
    assert driver.find_element("css selector", "#case-due-value").text == format_datetime(
        due.astimezone(TZ), pattern, locale="vi_VN" if lang == "vi" else "en_US"
    )
    lines = driver.execute_script(
        "return document.querySelector('#case-chart .js-plotly-plot').layout.shapes"
        ".filter(s => s.type === 'line').map(s => [s.x0, s.line.dash]);"
    )
    assert [due.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S"), "dash"] in lines
    used = driver.find_element("css selector", "#case-used-value").text
    assert used == (
        f"{format_decimal(deadline['working_days_used'], '#,##0.0', locale='vi_VN')} ngày LV"
        if lang == "vi"
        else f"{format_decimal(deadline['working_days_used'], '#,##0.0', locale='en_US')}"
        " working days"
    )


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_date_picker_calendar_speaks_the_language(driver, base, lang):
    """Opens on the data's last month, names months in the language, weeks from Monday,
    shows picked days as dd/mm/yyyy; the pick filters the figures."""
    open_page(driver, base, "/", "#card-cases", lang, procedure=PROC)
    last = max(datetime.fromisoformat(p["last"]) for p in api(base, "/procedures"))
    month = last.astimezone(TZ).date().replace(day=1)
    driver.find_element("css selector", "#f-dates").click()
    wait_for(driver, ".dash-datepicker-calendar-month-header")
    header = driver.find_element("css selector", ".dash-datepicker-calendar-month-header").text
    first = driver.find_element("css selector", "table.dash-datepicker-calendar")
    weekdays = [th.text for th in first.find_elements("css selector", "thead tr:nth-child(2) th")]
    if lang == "vi":
        assert header == f"tháng {month.month}/{month.year}"
        assert weekdays == ["T2", "T3", "T4", "T5", "T6", "T7", "CN"]
    else:
        assert header == format_date(month, "LLLL yyyy", locale="en_US")
        assert weekdays[0].startswith("Mo") and weekdays[-1].startswith("Su")
    for day in (1, 15):
        table = driver.find_element("css selector", "table.dash-datepicker-calendar")
        cells = table.find_elements("css selector", "td.dash-datepicker-calendar-date-inside")
        cells[day - 1].click()
    start = month.strftime("%d/%m/%Y")
    end = month.replace(day=15).strftime("%d/%m/%Y")
    assert driver.find_element("css selector", "#f-dates").get_attribute("value") == start
    assert driver.find_element("css selector", "#f-dates-end-date").get_attribute("value") == end
    want = api(base, "/cases", procedure=PROC, limit=1, **{
        "from": month.isoformat(), "to": month.replace(day=15).isoformat()})["total"]  # fmt: skip
    shown = format_decimal(want, format="#,##0", locale="vi_VN" if lang == "vi" else "en_US")
    text_of(driver, "#card-cases-value", until=lambda text: text == shown, timeout=60)
    driver.find_element("css selector", "a.dash-datepicker-clear").click()  # leave no dates
    settled(driver, timeout=60)
