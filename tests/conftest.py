"""Shared fixtures: a pseudonymisation key, a fresh store, the real public logs."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from ingest.pseudonym import Pseudonymizer
from ingest.store import EventStore

REPO = Path(__file__).resolve().parents[1]
REAL_LOGS = REPO.parent / "shared" / "real_logs"
TEST_KEY = "test-key-not-a-secret-0123456789abcdef"

os.environ.setdefault("DVCFLOW_PSEUDONYM_KEY", TEST_KEY)


def skip_unless_strict(reason: str) -> None:
    """Skip with ``reason`` in a user's clone; fail in CI (``DVCFLOW_TEST_STRICT=1``, set by
    ``.ci/run``), where the real logs and the browser are always there, so no skip hides."""
    if os.environ.get("DVCFLOW_TEST_STRICT") == "1":
        pytest.fail(f"{reason} (DVCFLOW_TEST_STRICT=1: CI must run every test)")
    pytest.skip(reason)


def real_log(name: str) -> Path:
    """Path of a real public log; skips the test (with the reason) when it is absent."""
    path = REAL_LOGS / name
    if not path.exists():
        skip_unless_strict(
            f"real log {name} not found: ../shared/real_logs is absent (a user's clone)"
        )
    return path


@pytest.fixture
def pseudonymizer() -> Pseudonymizer:
    return Pseudonymizer(TEST_KEY.encode())


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return EventStore(tmp_path / "data")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
