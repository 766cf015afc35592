"""The web process never fails a dashboard request silently, and never fails it for a module
another thread is still importing (the "Error loading layout" of a first signed-in page)."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from dashboard.server import PLOTLY_LOOKS_UP, create_app
from dashboard.service import Service
from dvcflow.settings import Settings
from ingest.store import EventStore
from tests.conftest import REPO


class StoreUnreadable(RuntimeError):
    pass


@pytest.fixture
def failing_client(web_store: EventStore, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """A web process whose store version cannot be read once it is up: the layout and the
    version poll both fail."""
    app = create_app(Settings(data_dir=web_store.data_dir, web_warm_cache=False))

    def unreadable(_self: Service) -> str:
        raise StoreUnreadable("the store's files cannot be listed (test)")

    monkeypatch.setattr(Service, "version", unreadable)
    return TestClient(app, raise_server_exceptions=False)


def failures(caplog: pytest.LogCaptureFixture, path: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "dvcflow.web" and path in r.getMessage() and r.exc_info is not None
    ]


def test_a_failing_layout_is_logged_with_its_traceback(failing_client, caplog):
    with caplog.at_level(logging.ERROR, logger="dvcflow.web"):
        got = failing_client.get("/_dash-layout")
    assert got.status_code == 500  # Dash still answers the browser as before
    [record] = failures(caplog, "/_dash-layout")
    assert record.exc_info[0] is StoreUnreadable
    assert "cannot be listed" in caplog.text and "Traceback" in caplog.text


def test_a_failing_callback_is_logged_with_its_traceback(failing_client, caplog):
    body = {
        "output": "version.data",
        "outputs": {"id": "version", "property": "data"},
        "inputs": [{"id": "tick", "property": "n_intervals", "value": 1}],
        "state": [{"id": "version", "property": "data", "value": None}],
        "changedPropIds": ["tick.n_intervals"],
    }
    with caplog.at_level(logging.ERROR, logger="dvcflow.web"):
        got = failing_client.post("/_dash-update-component", json=body)
    assert got.status_code == 500
    [record] = failures(caplog, "/_dash-update-component")
    assert record.exc_info[0] is StoreUnreadable


def test_an_answered_request_logs_nothing(web_store, caplog):
    app = create_app(Settings(data_dir=web_store.data_dir, web_warm_cache=False))
    with caplog.at_level(logging.DEBUG, logger="dvcflow.web"):
        got = TestClient(app).get("/_dash-layout")
    assert got.status_code == 200 and "version" in got.text
    assert not [r for r in caplog.records if r.exc_info is not None]


def test_the_modules_plotly_looks_up_are_whole_before_the_first_request(web_store):
    """plotly's encoder reads pandas & co. from ``sys.modules`` without importing them: one
    still being imported by another thread (the warming) made layouts fail under load. In a
    fresh interpreter, creating the app must leave them fully imported."""
    probe = (
        "import sys\n"
        "from dashboard.server import create_app\n"
        "from dvcflow.settings import Settings\n"
        f"create_app(Settings(data_dir={str(web_store.data_dir)!r}, web_warm_cache=False))\n"
        "whole = [n for n in sys.argv[1:] if n in sys.modules]\n"
        "assert 'pandas' not in whole or hasattr(sys.modules['pandas'], 'NaT')\n"
        "print(' '.join(whole))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *PLOTLY_LOOKS_UP],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert {"numpy", "pandas"} <= set(done.stdout.split()), done.stdout
