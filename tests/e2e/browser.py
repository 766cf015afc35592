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


def settled(driver, timeout: float = 30) -> None:
    """Wait until Dash has no callback in flight (no loading spinner, renderer idle)."""
    end = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < end:
        busy = driver.execute_script(
            "return !!document.querySelector('[data-dash-is-loading=\"true\"]')"
            " || !!document.querySelector('._dash-loading-callback')"
            " || !!document.querySelector('.dash-spinner, .dash-loading')"
        )
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            return
        time.sleep(0.2)
    raise TimeoutError("the dashboard kept loading")


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
