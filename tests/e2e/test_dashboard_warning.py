"""The Early warning page in a real headless Chromium against ``dvcflow serve``: its list is
the read API's, in the same order, and a dossier opens its timeline."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from sample_logs import names
from tests.e2e.browser import chromium, need_browser, settled, wait_for, web_server
from tests.e2e.test_dashboard import open_page
from tests.warning.conftest import generated

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("web-browser")]
CODE = "1.004193"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):
    need_browser()
    store = generated(tmp_path_factory.mktemp("warn-web") / "data", CODE, 1500, seed=5)
    with web_server(store.data_dir, {"DVCFLOW_WEB_WARM_CACHE": "false"}) as url:
        yield url


@pytest.fixture(scope="module")
def driver(base):
    with chromium() as d:
        yield d


def api_items(base: str, **params) -> list[dict]:
    import httpx

    got = httpx.get(f"{base}/api/v1/warnings", params={"procedure": CODE, **params}, timeout=120)
    assert got.status_code == 200, got.text
    return got.json()["items"]


def page_column(driver, n: int) -> list[str]:
    cells = driver.find_elements(By.CSS_SELECTOR, f"#wn-list tbody tr td:nth-child({n})")
    return [c.text for c in cells]


@pytest.mark.parametrize("province", [None, "31"])
def test_the_page_lists_what_the_api_answers(driver, base, province):
    items = api_items(base, **({"province": province} if province else {}))
    open_page(driver, base, "/warning", "#wn-card-open", procedure=CODE, province=province)
    wait_for(driver, "#wn-list", timeout=120)
    assert items and page_column(driver, 2) == [i["case_id"] for i in items]
    # units by name, as sample_logs.names reads their codes
    assert page_column(driver, 6) == [names.unit_name(i["unit"], "vi") for i in items]
    assert all(i["unit_name"]["vi"] != i["unit"] for i in items)
    assert driver.find_element(By.CSS_SELECTOR, "#wn-card-model-at").text.strip()
    assert not driver.find_elements(By.CSS_SELECTOR, ".notice-err")


def test_a_dossier_opens_its_timeline(driver, base):
    open_page(driver, base, "/warning", "#wn-card-open", procedure=CODE)
    first = wait_for(driver, "#wn-list tbody tr a.wn-case", timeout=120)
    case_id = first.text
    first.click()
    wait_for(driver, "#case-title", timeout=60, text=case_id)
    settled(driver)
    assert driver.current_url.endswith(f"/case?id={case_id}")
