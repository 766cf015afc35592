"""``dvcflow import FILE.xes``: the parse started in a child at the CLI's first line gives the
reader the very table it would have parsed itself, and a failed or unused child changes
nothing (the reader parses in process; no file or process is left behind). Each case runs in
a fresh interpreter, as the CLI does: the child is forked before pyarrow is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dvcflow import early_parse
from tests.conftest import real_log

ARGV0 = "/venv/bin/dvcflow"
REPO = Path(__file__).resolve().parents[2]


def _run(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def _leftovers() -> list[str]:
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    return [n for n in os.listdir(folder) if n.startswith(".dvcflow-xes-")] if folder else []


SAME_TABLE = f"""
import sys
from dvcflow import early_parse
path = sys.argv[1]
assert early_parse.start([{ARGV0!r}, "import", path, "--procedure", "P1"])
import rustxes
from ingest.importers.xes_reader import _as_pandas_reads
taken = early_parse.take(path)
own = rustxes.import_xes(path)[0].to_arrow()
print(taken is not None and _as_pandas_reads(taken).equals(_as_pandas_reads(own)),
      early_parse.take(path) is None)
"""


def test_the_child_parses_what_the_reader_would():
    assert _run(SAME_TABLE, str(real_log("BPIC15_1.xes.gz"))) == "True True"
    assert _leftovers() == []


def test_only_an_import_of_one_xes_file_in_a_fresh_process_starts_a_child(tmp_path: Path):
    path = str(real_log("running-example.xes"))
    assert not early_parse.start([ARGV0, "analyze", path])
    assert not early_parse.start([sys.executable, "import", path])  # pytest, a notebook
    assert not early_parse.start([ARGV0, "import", str(real_log("running-example.csv"))])
    assert not early_parse.start([ARGV0, "import", str(tmp_path / "absent.xes")])
    assert not early_parse.start([ARGV0, "import", path])  # pyarrow is loaded here: no fork


FAILED_CHILD = f"""
import sys
from pathlib import Path
from dvcflow import early_parse
bad = sys.argv[1]
assert early_parse.start([{ARGV0!r}, "import", bad])
print(early_parse.take(bad) is None)
from dvcflow.errors import InputFileError
from ingest.importers.xes_reader import read_xes
try:
    read_xes(Path(bad))
except InputFileError as exc:
    print(exc)
"""


def test_a_failed_child_leaves_the_parse_to_the_reader(tmp_path: Path):
    bad = tmp_path / "bad.xes"
    bad.write_text('<?xml version="1.0"?><log><trace><event><string key="concept:name"')
    first, error = _run(FAILED_CHILD, str(bad)).splitlines()
    assert first == "True"
    assert error.startswith(f"{bad}: not a readable XES file")
    assert _leftovers() == []


UNUSED_CHILD = f"""
import os, sys
from dvcflow import early_parse
assert early_parse.start([{ARGV0!r}, "import", sys.argv[1]])
(pid, _), = early_parse._PENDING.values()
early_parse.discard()
try:
    os.waitpid(pid, os.WNOHANG)
    print("not reaped")
except ChildProcessError:
    print("reaped", early_parse._PENDING == {{}})
"""


def test_an_unused_child_is_stopped():
    """The import failed before reading (no pseudonym key, say): at exit the child is
    stopped and reaped, and its file removed."""
    assert _run(UNUSED_CHILD, str(real_log("BPIC15_1.xes.gz"))) == "reaped True"
    assert _leftovers() == []
