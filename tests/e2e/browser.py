"""The web tests' real parts: ``dvcflow serve`` in a subprocess and Debian's headless Chromium.

Nothing is downloaded: Chromium and ChromeDriver come from /usr/bin (``make browser``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import REPO, TEST_KEY, free_port, skip_unless_strict

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def need_browser() -> None:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        skip_unless_strict(
            "Debian chromium and chromium-driver are not installed (run `make browser`)"
        )


@contextmanager
def web_server(
    data_dir: Path, env: dict[str, str] | None = None, startup_seconds: float = 120
) -> Iterator[str]:
    """``dvcflow serve`` on a free port; yields its base URL once the API answers."""
    port = free_port()
    full_env = {
        **os.environ,
        "DVCFLOW_DATA_DIR": str(data_dir),
        "DVCFLOW_PSEUDONYM_KEY": TEST_KEY,
        **(env or {}),
    }
    exe = Path(sys.executable).with_name("dvcflow")
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
        "w+", prefix="dvcflow-serve-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"dvcflow serve exited {proc.returncode}:\n{log.read()}")
            try:
                if httpx.get(f"{base}/api/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dvcflow serve did not answer within {startup_seconds} s")
            time.sleep(0.3)
        try:
            yield base
        except BaseException:
            log.seek(0)  # the server's side of a failure (it logs Dash's errors): in the report
            print(f"--- dvcflow serve log ---\n{log.read()[-20_000:]}")
            raise
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        os.unlink(log.name)


@contextmanager
def chromium() -> Iterator[object]:
    """A Selenium WebDriver on Debian's headless Chromium with a fresh profile."""
    need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="dvcflow-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # for ``dash_requests``
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, css: str, timeout: float = 30, text: str | None = None):
    """The first element matching ``css`` (containing ``text``) once it is shown."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)
    if text is None:
        return wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
    return driver.find_element(By.CSS_SELECTOR, css)


# Counts the page's Dash callback requests: those asked (``window.__asked``, their outputs)
# and those not answered yet (``window.__inflight``), which ``settled`` waits for.
TRACK = """
window.__asked = [];
window.__inflight = window.__inflight || 0;
if (!window.__fetch) window.__fetch = window.fetch;
window.fetch = function (url, options) {
    if (!String(url).includes('_dash-update-component')) {
        return window.__fetch.apply(this, arguments);
    }
    try { window.__asked.push(JSON.parse(options.body).output); } catch (e) {}
    window.__inflight += 1;
    const done = () => { window.__inflight -= 1; };
    const answer = window.__fetch.apply(this, arguments);
    answer.then(done, done);
    return answer;
};
"""


def track_requests(driver) -> None:
    """Record this page's Dash requests from now on (see ``TRACK``)."""
    driver.execute_script(TRACK)


def settled(driver, timeout: float = 30) -> None:
    """Wait until Dash is idle: no loading spinner, no callback request unanswered or newly
    asked (when ``track_requests`` runs on the page), three looks in a row 0.2 s apart."""
    end = time.monotonic() + timeout
    quiet, last = 0, None
    while time.monotonic() < end:
        busy, asked = driver.execute_script(
            "return [!!document.querySelector('[data-dash-is-loading=\"true\"]')"
            " || !!document.querySelector('._dash-loading-callback')"
            " || !!document.querySelector('.dash-spinner, .dash-loading')"
            " || (window.__inflight || 0) > 0,"
            " (window.__asked || []).length];"
        )
        quiet = 0 if busy or asked != last else quiet + 1
        last = asked
        if quiet >= 3:
            return
        time.sleep(0.2)
    raise TimeoutError("the dashboard kept loading")


def text_of(driver, css: str, until=bool, timeout: float = 30) -> str:
    """The text of the first element matching ``css`` once ``until(text)`` holds.

    The element is found anew at each look: a live refresh redraws it, and a reference held
    across a redraw raises StaleElementReferenceException.
    """
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    end = time.monotonic() + timeout
    shown = None
    while True:
        try:
            shown = driver.find_element(By.CSS_SELECTOR, css).text
            if until(shown):
                return shown
        except (NoSuchElementException, StaleElementReferenceException):
            pass
        if time.monotonic() > end:
            raise TimeoutError(f"{css} still shows {shown!r} after {timeout:.0f} s")
        time.sleep(0.1)


def click(driver, css: str, index: int = 0, timeout: float = 30) -> None:
    """Click the ``index``-th element matching ``css``, found anew if a redraw replaced it
    between finding and clicking."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.common.by import By

    end = time.monotonic() + timeout
    while True:
        try:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            if len(found) > index:
                found[index].click()
                return
        except (StaleElementReferenceException, ElementClickInterceptedException):
            pass
        if time.monotonic() > end:
            raise TimeoutError(f"could not click {css} [{index}] within {timeout:.0f} s")
        time.sleep(0.1)


def dash_requests(driver) -> str:
    """What the browser saw of Dash's requests (status, start and duration in ms, from the
    resource timing) and its console: the evidence a failing web test reports."""
    timing = driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/_dash-') && !e.name.includes('component-suites'))"
        ".map(e => [e.name.split('/').pop().split('?')[0], e.responseStatus,"
        " Math.round(e.startTime), Math.round(e.duration)]);"
    )
    console = [f"{e['level']} {e['message']}" for e in driver.get_log("browser")]
    return f"requests {timing}; console {console}"


def server_errors(driver) -> list[str]:
    """The browser console's "the server responded with a status of 5xx" since the last look."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if "responded with a status of 5" in e["message"]
    ]
