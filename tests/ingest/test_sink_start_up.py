"""``dvcflow sink`` catches SIGTERM before its heavy imports (``dvcflow.early_stop``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dvcflow.early_stop import command_of

HEAVY = ("typer", "pyarrow", "duckdb", "confluent_kafka")

# Imports the CLI as the ``dvcflow`` script does, noting whether SIGTERM was already caught
# when each heavy package was first looked for.
SPY = """
import signal, sys
seen = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name in %r and name not in seen:
            seen[name] = signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        return None
sys.meta_path.insert(0, Spy())
sys.argv = %r
import dvcflow.cli
import ingest.sink
print(seen)
"""


@pytest.mark.parametrize(
    ("argv", "caught"),
    [
        (["/venv/bin/dvcflow", "sink"], True),
        (["/venv/bin/dvcflow", "--data-dir", "sink", "sink"], True),  # a dir named sink
        (["/venv/bin/dvcflow", "--data-dir", "sink", "import", "x.csv"], False),
    ],
)
def test_sigterm_is_caught_before_the_heavy_imports_of_the_sink_only(
    argv: list[str], caught: bool
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SPY % (HEAVY, argv)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = eval(done.stdout.strip().splitlines()[-1])  # a dict literal we printed
    assert set(seen) == set(HEAVY)
    assert all(v is caught for v in seen.values()), seen


def test_the_verb_is_found_after_global_options() -> None:
    assert command_of(["dvcflow", "--data-dir", "/d", "sink"]) == "sink"
    assert command_of(["dvcflow", "--version"]) is None
    assert command_of(["cli.py", "replay", "sink.csv"]) == "replay"
    assert command_of(["/venv/bin/pytest", "sink"]) is None  # another program, not the CLI
