"""``dvcflow derive``: what it reports, and the one sentence it answers a stale definition with."""

from __future__ import annotations

import json
from datetime import datetime

from typer.testing import CliRunner

from dvcflow.cli import app
from dvcflow.settings import get_settings
from ingest.store import EventStore
from tests.mining.conftest import event, write_rows


def run(args: list[str], env: dict | None = None):
    result = CliRunner().invoke(app, args, env=env)
    get_settings.cache_clear()
    return result


def test_derive_reports_what_it_recomputed_then_refuses_other_holidays(tmp_path):
    data = tmp_path / "data"
    write_rows(EventStore(data), [event("A", "submit", datetime(2025, 9, 8, 8)),
                                  event("B", "submit", datetime(2025, 9, 8, 9))])  # fmt: skip
    first = run(["--data-dir", str(data), "derive", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output) | {"seconds": 0} == {
        "version": 1, "rebuilt": True, "new_files": 1, "dossiers": 2, "step_rows": 2,
        "segments": 1, "seconds": 0,
    }  # fmt: skip
    again = run(["--data-dir", str(data), "derive", "--json"])
    assert json.loads(again.output)["dossiers"] == 0  # nothing new: nothing recomputed

    holidays = {"DVCFLOW_EXTRA_HOLIDAYS": '["2025-09-09"]'}
    refused = run(["--data-dir", str(data), "derive"], env=holidays)
    assert refused.exit_code == 2
    assert "dvcflow derive --rebuild" in refused.output
    rebuilt = run(["--data-dir", str(data), "derive", "--rebuild", "--json"], env=holidays)
    assert json.loads(rebuilt.output)["version"] == 2
