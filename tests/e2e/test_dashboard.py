"""The dashboard in a real headless Chromium against ``dvcflow serve`` on a generated store.

Every page loads without an error; the numbers a page shows equal what the read API returns
for the same filters; filters, what-if, drill-down and the language switch work by clicks; new
data written to the store appears without a restart. Screenshots of each page, at 1440×1000
in Vietnamese, go to ``$DVCFLOW_SCREENSHOTS`` (``docs`` refreshes the README's) or a temp
folder; ``DVCFLOW_E2E_CASES`` sets the generated store's size (250; the README's screenshots
are taken on 20000).
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from selenium.webdriver.support.ui import WebDriverWait

from tests.dashboard.conftest import fill_store, generated_store
from tests.e2e.browser import (
    TRACK,
    chromium,
    need_browser,
    settled,
    text_of,
    track_requests,
    wait_for,
    web_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("web-browser")]

PAGES = {
    "overview": ("/", "#card-cases"),
    "explorer": ("/explorer", "#ex-cytoscape"),
    "bottlenecks": ("/bottlenecks", "#bn-steps"),
    "reform": ("/reform", "#rf-candidates"),
    "compare": ("/compare", "#cmp-table"),
    "case": ("/case", "#case-events"),
}


CASES = int(os.environ.get("DVCFLOW_E2E_CASES") or 250)
VIEWPORT = {"width": 1440, "height": 1000, "deviceScaleFactor": 1, "mobile": False}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    need_browser()
    return generated_store(tmp_path_factory.mktemp("web") / "data", CASES)


@pytest.fixture(scope="module")
def base(store):
    # A year each side: the small store has too few dossiers per quarter for the impact test.
    with web_server(store.data_dir, {"DVCFLOW_IMPACT_WINDOW_DAYS": "365"}) as url:
        yield url


@pytest.fixture(scope="module")
def driver(base):
    with chromium() as d:
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", VIEWPORT)  # the screenshots'
        yield d


@pytest.fixture(scope="module")
def api(base):
    with httpx.Client(base_url=f"{base}/api/v1", timeout=60) as client:

        def get(path: str, **params):
            got = client.get(path, params={k: v for k, v in params.items() if v is not None})
            assert got.status_code == 200, got.text
            return got.json()

        get.client = client
        yield get


@pytest.fixture(scope="module")
def busiest(api) -> tuple[str, str]:
    """The procedure with most dossiers and, in it, the province with most."""
    proc = max(api("/procedures"), key=lambda p: p["cases"])["procedure_code"]
    page = api("/cases", procedure=proc, limit=500)["items"]
    provinces = [c["province_code"] for c in page]
    return proc, max(set(provinces), key=provinces.count)


def open_page(driver, base: str, path: str, ready: str, **query) -> None:
    """Open a page with exactly these filters (the others cleared)."""
    filters = {"procedure": "", "province": "", "from": "", "to": "", "channel": ""}
    driver.get(f"{base}{path}?{urlencode(filters | {k: v for k, v in query.items() if v})}")
    wait_for(driver, ready, timeout=60)
    settled(driver)


def number(text: str) -> float:
    """The first number of a text: the Vietnamese UI's ("1.234", "56,7%") or the reform
    page's own English text ("3.88")."""
    found = re.search(r"-?\d[\d,.]*\d|-?\d", text)
    assert found, f"no number in {text!r}"
    n = found.group(0)
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", n) or ("," in n and "." not in n):
        return float(n.replace(".", "").replace(",", "."))
    return float(n.replace(",", ""))


def card(driver, card_id: str, until=bool, timeout: float = 30) -> str:
    """A card's text, read anew (a refresh may redraw the card) once ``until(text)``."""
    return text_of(driver, f"#{card_id} .card-value", until=until, timeout=timeout)


def shots() -> Path:
    folder = Path(os.environ.get("DVCFLOW_SCREENSHOTS") or "/tmp/dvcflow-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_loads_without_error(driver, base, api, busiest, name):
    path, ready = PAGES[name]
    proc, _ = busiest
    query = {"procedure": proc}
    if name == "case":  # the dossier with most events: supplements, several units
        page = api("/cases", procedure=proc, limit=1, sort="events", descending=True)
        query["id"] = page["items"][0]["case_id"]
    open_page(driver, base, path, ready, **query)
    errors = driver.find_elements("css selector", ".notice-err")
    assert not errors, errors[0].text
    # The shell's warm-up map is drawn, and off screen: it takes no place on the page.
    box = driver.execute_script(
        "const m = document.querySelector('#ex-warm-up');"
        "return m && m.querySelector('canvas') && m.getBoundingClientRect().toJSON();"
    )
    assert box and box["right"] < 0, box
    driver.save_screenshot(str(shots() / f"dashboard-{name}.png"))


@pytest.mark.parametrize("scope", ["all", "procedure", "province"])
def test_overview_numbers_equal_the_api(driver, base, api, busiest, scope):
    proc, province = busiest
    flt = {
        "procedure": proc if scope != "all" else None,
        "province": province if scope == "province" else None,
    }
    open_page(driver, base, "/", "#card-cases", **flt)
    total = api("/cases", limit=1, **flt)["total"]
    assert number(card(driver, "card-cases")) == total
    index = api("/service-index", by="procedure", **flt)["data"]["overall"]["index_100"]
    assert number(card(driver, "card-index")) == pytest.approx(index, abs=0.006)
    sla = api("/deadlines", **flt)["data"]
    judged = sum((sla or {}).get("counts", {}).get(s, 0) for s in ("early", "on_time", "late"))
    if judged < 30:  # DVCFLOW_KPI_MIN_FINISHED: too few to show a rate
        assert "Chưa đủ" in card(driver, "card-on-time")
    elif sla and sla.get("on_time_rate") is not None:
        assert number(card(driver, "card-on-time")) == pytest.approx(
            100 * sla["on_time_rate"], abs=0.06
        )


def test_a_filter_picked_in_the_dropdown_changes_the_figures(driver, base, api, busiest):
    proc, _ = busiest
    open_page(driver, base, "/", "#card-cases")
    everything = number(card(driver, "card-cases"))
    driver.find_element("css selector", "#f-procedure").click()
    wait_for(driver, "[role=option]")
    driver.find_element("css selector", f"[role=option]:has(input[value='{proc}'])").click()
    want = api("/cases", procedure=proc, limit=1)["total"]
    assert want < everything
    card(driver, "card-cases", until=lambda shown: number(shown) == want, timeout=60)
    settled(driver)
    assert number(card(driver, "card-cases")) == want


def pick(driver, dropdown: str, value: str) -> None:
    driver.find_element("css selector", f"#{dropdown}").click()
    wait_for(driver, "[role=option]")
    driver.find_element("css selector", f"[role=option]:has(input[value='{value}'])").click()


# Records the outputs of every callback request the page makes from now on, and counts
# those not answered yet (``settled`` waits for them).
RECORD = TRACK
CONTENT = ("ov-body", "ex-map", "ex-details", "bn-body", "rf-body", "rf-impact", "cmp-")


TIMED = ("version.data", "ov-stream.children")  # asked by the refresh timer, not the user


def asked(driver) -> list[str]:
    """The callback outputs requested since ``RECORD``, but the refresh timer's."""
    return [o for o in driver.execute_script("return window.__asked") if o not in TIMED]


def test_an_interaction_asks_the_server_once_for_what_it_shows(driver, base, busiest):
    """Opening a page is its one ``route`` request: the page's own content callbacks are not
    asked too (a page that arrives for the filters on the bar needs no check by the server);
    a province pick is one request for the page, not first one for the commune options."""
    proc, province = busiest
    open_page(driver, base, "/", "#card-cases", procedure=proc)
    for name in ("explorer", "bottlenecks", "reform", "compare", "overview"):
        driver.execute_script(RECORD)
        driver.find_element("css selector", f"#nav-{name}").click()
        wait_for(driver, PAGES[name][1], timeout=60)
        settled(driver)  # with RECORD: every request answered, none new for three looks
        requests = asked(driver)
        assert [o for o in requests if "page.children" in o], f"{name}: {requests}"
        assert not [o for o in requests if o.startswith(CONTENT)], f"{name}: {requests}"
    driver.execute_script(RECORD)
    pick(driver, "f-province", province)
    settled(driver)
    assert asked(driver) == ["ov-body.children"]


@pytest.mark.parametrize(("path", "graph"), [("/", "#ov-trend"), ("/compare", "#cmp-chart")])
def test_a_graph_is_drawn_once_at_its_size(driver, base, busiest, path, graph):
    """dcc.Graph resizes each graph it has just drawn (Plotly.Plots.resize: a 100 ms timer and
    a second full drawing); a graph already at its container's size is not drawn again."""
    proc, province = busiest
    open_page(driver, base, path, graph, procedure=proc)
    pick(driver, "f-province", province)  # and a redraw for new filters
    settled(driver)
    # A resize starts within a few frames of a drawing: watch every frame for 0.5 s.
    resize_seen = driver.execute_async_script(
        "const [css, done] = arguments;"
        "const gd = document.querySelector(css + ' .js-plotly-plot');"
        "const end = performance.now() + 500; let seen = false;"
        "(function look() { seen = seen || !!gd._redrawTimer;"
        " if (performance.now() < end) requestAnimationFrame(look); else done(seen); })();",
        graph,
    )
    assert not resize_seen
    drawn = driver.execute_script(
        "const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "const style = getComputedStyle(gd);"
        "return [gd._fullLayout.width, parseFloat(style.width), !!gd._redrawTimer];",
        graph,
    )
    width, container, resized = drawn
    assert width == pytest.approx(container, abs=1)
    assert not resized


def test_a_filter_changed_twice_while_a_page_loads_shows_the_final_filters(
    driver, base, api, busiest
):
    """The overview is opened over a slow network (3 s per request, Chromium's own network
    emulation) and the province changed twice before it arrives: once the network is fast
    again the page shows the figures of the last province, not those of the filters it was
    asked for."""
    proc, final = busiest
    provinces = {c["province_code"] for c in api("/cases", procedure=proc, limit=500)["items"]}
    first = min(provinces - {final})
    want = api("/cases", procedure=proc, province=final, limit=1)["total"]
    asked = api("/cases", procedure=proc, limit=1)["total"]
    assert want not in (asked, api("/cases", procedure=proc, province=first, limit=1)["total"])
    open_page(driver, base, "/explorer", "#ex-cytoscape", procedure=proc)
    track_requests(driver)
    driver.execute_cdp_cmd("Network.enable", {})
    slow = {"offline": False, "latency": 3000, "downloadThroughput": -1, "uploadThroughput": -1}
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", slow)
    try:
        driver.find_element("css selector", "#nav-overview").click()
        WebDriverWait(driver, 30).until(  # the page's request is on its way
            lambda d: d.execute_script("return window.__inflight") > 0
        )
        pick(driver, "f-province", first)
        pick(driver, "f-province", final)
    finally:
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", slow | {"latency": 0})
    wait_for(driver, "#card-cases", timeout=60)
    settled(driver, timeout=60)  # every request answered, the final filters' included
    assert number(card(driver, "card-cases")) == want
    index = api("/service-index", by="procedure", procedure=proc, province=final)["data"]
    assert number(card(driver, "card-index")) == pytest.approx(
        index["overall"]["index_100"], abs=0.006
    )


def vi_number(text: str) -> float:
    """The number in a Vietnamese figure ("1.234,5 ngày LV", "65,7%", "-6,9")."""
    found = re.search(r"[-+]?\d[\d.]*(?:,\d+)?", text)
    assert found, f"no number in {text!r}"
    return float(found.group(0).replace(".", "").replace(",", "."))


def vi_numbers(text: str) -> list[float]:
    return [vi_number(n) for n in re.findall(r"[-+]?\d[\d.]*(?:,\d+)?", text)]


def test_whatif_shows_the_api_projection(driver, base, api, busiest):
    """A tick in a candidate row, Compute: the scenario the API computes for that row's
    change, in Vietnamese formats, after the lead chart and with its waterfall."""
    proc, _ = busiest
    found = api("/reform/candidates", procedure=proc)["data"]["candidates"]
    i = next(k for k, c in enumerate(found) if c["whatif"] and c["recommendation"] != "keep")
    open_page(driver, base, "/reform", "#rf-candidates", procedure=proc)
    assert driver.find_elements("css selector", "#rf-chart .main-svg")
    rows = driver.find_elements("css selector", "#rf-candidates tbody tr")
    assert len(rows) == len(found)
    rows[i].find_element("css selector", "input[type=checkbox]").click()
    driver.find_element("css selector", "#rf-run").click()
    wait_for(driver, "#rf-whatif-table", timeout=60)
    settled(driver)
    got = api.client.post(
        "/reform/whatif", params={"procedure": proc}, json={"changes": [found[i]["whatif"]]}
    ).json()["data"]
    cells = driver.find_elements("css selector", "#rf-whatif-table td[data-dash-column=projected]")
    shown = [c.text for c in cells]
    assert "ngày LV" in shown[0]
    mean = got["scenario"]["cycle_working_days"]["mean"]
    assert vi_number(shown[0]) == pytest.approx(mean, abs=0.06)
    if got["scenario"]["on_time_rate"] is not None:
        assert vi_number(shown[2]) == pytest.approx(100 * got["scenario"]["on_time_rate"], abs=0.06)
    assert driver.find_elements("css selector", "#rf-waterfall .main-svg")


def set_date(driver, css: str, day: str) -> None:
    """Type a date into a Dash date picker, as a user with a keyboard does."""
    from selenium.webdriver.common.keys import Keys

    found = wait_for(driver, css)
    box = found if found.tag_name == "input" else found.find_element("css selector", "input")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(day, Keys.ENTER)
    box.send_keys(Keys.TAB)  # leave the field, as a user moving on to the button does
    assert box.get_attribute("value") == day
    settled(driver)


def numbers(text: str) -> list[float]:
    """Numbers of a text in either UI's format: tables use the page's language ("3,10" in
    Vietnamese), the reform page's own text English ("3.10"); figures here are under 1,000."""
    found = re.findall(r"-?\d[\d,.]*\d|-?\d", text)
    return [float(n.replace(",", ".") if "." not in n else n.replace(",", "")) for n in found]


def shown_day(iso: str) -> str:
    """A date as the pickers show and read it (dd/mm/yyyy)."""
    return date.fromisoformat(iso[:10]).strftime("%d/%m/%Y")


def test_reform_impact_shows_the_api_comparison(driver, base, api, busiest):
    proc, _ = busiest
    total = api("/cases", procedure=proc, limit=1)["total"]
    middle = api("/cases", procedure=proc, limit=1, offset=total // 2)["items"][0]
    when = middle["first_ts"][:10]  # half the dossiers before, half after
    want = api("/reform/impact", procedure=proc, date=when)["data"]
    open_page(driver, base, "/reform", "#rf-impact-date", procedure=proc)
    set_date(driver, "#rf-impact-date", shown_day(when))
    driver.find_element("css selector", "#rf-impact-run").click()
    wait_for(driver, "#rf-impact-table", timeout=60)
    settled(driver)
    shown = driver.find_element("css selector", "#rf-impact-verdict")
    assert shown.get_attribute("data-verdict") == want["verdict"]
    verdict = text_of(driver, "#rf-impact-verdict")
    assert vi_numbers(verdict)[:2] == [want["dossiers_before"], want["dossiers_after"]]

    def column(name: str) -> list[str]:
        cells = f"#rf-impact-table td[data-dash-column={name}]"
        return [c.text for c in driver.find_elements("css selector", cells)]

    measures = list(want["measures"].values())
    assert len(column("measure")) == len(measures)
    checked = 0
    for i, m in enumerate(measures):
        if not m["supported"]:
            continue
        scale, tol = (100, 0.06) if m["statistic"] == "share" else (1, 0.006)
        for name in ("before", "after", "difference"):
            assert vi_number(column(name)[i]) == pytest.approx(scale * m[name], abs=tol), name
        low, high = vi_numbers(column("ci95")[i])
        assert (low, high) == pytest.approx([scale * v for v in m["ci95"]], abs=tol)
        assert vi_number(column("p_holm")[i]) == pytest.approx(m["p_holm"], abs=6e-5)
        checked += 1
    assert checked >= 2
    panel = driver.find_element("css selector", "#rf-impact-panel")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", panel)
    driver.save_screenshot(str(shots() / "dashboard-reform-impact.png"))


def test_reform_impact_names_the_date_it_cannot_judge(driver, base, api, busiest):
    proc, _ = busiest
    first = min(c["first_ts"] for c in api("/cases", procedure=proc, limit=500)["items"])[:10]
    problem = api.client.get("/reform/impact", params={"procedure": proc, "date": first})
    assert 400 <= problem.status_code < 500, problem.text
    open_page(driver, base, "/reform", "#rf-impact-date", procedure=proc)
    set_date(driver, "#rf-impact-date", shown_day(first))
    driver.find_element("css selector", "#rf-impact-run").click()
    detail = problem.json()["detail"]
    text_of(driver, "#rf-impact", until=lambda shown: detail in shown, timeout=60)
    wait_for(driver, "#rf-impact .notice-err")


def test_a_filter_that_selects_nothing_says_so_calmly(driver, base, api, busiest):
    """Dates with no dossier are an empty pick (``NoMatch``), not an error box; the API
    answers the same filters with a 422 naming no server path."""
    proc, _ = busiest
    last = max(c["first_ts"] for c in api("/cases", procedure=proc, limit=500)["items"])[:10]
    after = date.fromisoformat(last).replace(year=date.fromisoformat(last).year + 1)
    query = {"procedure": proc, "from": after.isoformat(), "to": after.isoformat()}
    problem = api.client.get("/bottlenecks", params=query)
    assert problem.status_code == 422 and "no dossier matches" in problem.json()["detail"]
    open_page(driver, base, "/", "#empty-pick", **query)
    assert not driver.find_elements("css selector", ".notice-err")


def test_bottleneck_drills_down_to_its_dossiers(driver, base, api, busiest):
    proc, _ = busiest
    open_page(driver, base, "/bottlenecks", "#bn-steps", procedure=proc)
    driver.find_element("css selector", "#bn-steps input[type=radio]").click()
    total = wait_for(driver, "#bn-drill-total", timeout=60)
    first = total.get_attribute("data-step")  # the step id; the page shows its name
    want = api("/cases", procedure=proc, activity=first, limit=1)["total"]
    assert int(total.get_attribute("data-total")) == want
    assert first == api("/bottlenecks", procedure=proc)["data"]["waits"][0]["activity"]


def test_case_page_shows_every_event(driver, base, api, busiest):
    proc, _ = busiest
    case_id = api("/cases", procedure=proc, limit=1, sort="events", descending=True)["items"][0][
        "case_id"
    ]
    open_page(driver, base, "/case", "#case-events", id=case_id)
    rows = driver.find_elements("css selector", "#case-events td[data-dash-column=activity]")
    from sample_logs.names import step_name

    want = [step_name(proc, e["activity"], "vi") for e in api(f"/cases/{case_id}")["events"]]
    assert [r.text for r in rows] == want


def test_language_switches_between_vietnamese_and_english(driver, base):
    open_page(driver, base, "/", "#card-cases")
    driver.find_element("css selector", "#lang input[value=en]").click()
    wait_for(driver, "#nav-overview", text="Overview")
    text_of(driver, "#f-procedure-label", until=lambda label: label == "Procedure")
    wait_for(driver, "#card-cases", text="Dossiers", timeout=60)
    driver.find_element("css selector", "#lang input[value=vi]").click()
    wait_for(driver, "#nav-overview", text="Tổng quan")
    text_of(driver, "#f-procedure-label", until=lambda label: label == "Thủ tục")


def test_new_data_appears_without_restart(driver, base, api, store, tmp_path):
    open_page(driver, base, "/", "#card-cases")
    before = number(card(driver, "card-cases"))
    extra = fill_store(tmp_path / "extra", 30)  # 30 more dossiers, other case ids
    for path in extra.files():
        target = store.root / path.relative_to(extra.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    want = api("/cases", limit=1)["total"]
    assert want == before + 30
    card(driver, "card-cases", until=lambda shown: number(shown) == want, timeout=30)
