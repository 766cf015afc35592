"""``dvcflow import FILE.xes[.gz]``: the XES parse starts at the CLI's first line, in a child.

rustxes holds the GIL for its whole parse (2.7 s of the road-traffic log's import on an idle
machine), so a thread would overlap nothing. A forked child parses while the CLI imports
pyarrow, pandas, DuckDB and the rest (0.6-1 s), and hands the table over as an Arrow IPC
file in /dev/shm, memory-mapped (no copy). The parse is the very call the reader makes
(``rustxes.import_xes(path)[0].to_arrow()``) and the reader does the rest as before: when
the child fails for any reason, or no child ran (a test, a notebook, another verb), the
reader parses in process, with the same fallbacks and errors. Only stdlib at the top: the CLI
imports this before anything heavy.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import Any

from dvcflow.early_stop import command_of

# an Arrow table takes up to this many times the bytes of its (gzipped) XES file, with room
TABLE_PER_FILE_BYTE = 100
_PENDING: dict[str, tuple[int, str]] = {}  # real path -> (child's pid, its IPC file)


def _xes_file(argv: Sequence[str]) -> str | None:
    """The one existing .xes / .xes.gz file named on an ``import`` command line, if any."""
    if command_of(argv) != "import":
        return None
    named = [a for a in argv[2:] if a.lower().endswith((".xes", ".xes.gz")) and os.path.isfile(a)]
    return named[0] if len(named) == 1 else None


def start(argv: Sequence[str]) -> bool:
    """Fork a child that parses the command line's XES file (True when one was started)."""
    path = _xes_file(argv)
    if path is None or not hasattr(os, "fork") or not _fork_safe():
        return False
    out = os.path.join(_folder(os.path.getsize(path)), f".dvcflow-xes-{os.getpid()}.arrow")
    pid = os.fork()
    if pid == 0:  # the child: parse, write, leave without running the parent's exit hooks
        code = 1
        try:
            quiet = os.open(os.devnull, os.O_WRONLY)  # a panic is told once, by the reader's
            os.dup2(quiet, 2)
            import pyarrow as pa
            import rustxes

            table = rustxes.import_xes(path)[0].to_arrow()
            with (
                pa.OSFile(out + ".part", "wb") as sink,
                pa.ipc.new_file(sink, table.schema) as writer,
            ):
                writer.write_table(table)
            os.replace(out + ".part", out)
            code = 0
        except BaseException:  # noqa: BLE001, S110 - the parent parses again and reports
            pass
        finally:
            os._exit(code)
    _PENDING[os.path.realpath(path)] = (pid, out)
    atexit.register(discard)
    return True


def _folder(file_bytes: int) -> str:
    """/dev/shm when it has room for the table (a container's is often 64 MB: a full one
    would make the parent parse again after waiting), else the temp folder."""
    try:
        shm = os.statvfs("/dev/shm")
    except OSError:
        return tempfile.gettempdir()
    room = shm.f_bavail * shm.f_frsize
    return "/dev/shm" if room > TABLE_PER_FILE_BYTE * file_bytes else tempfile.gettempdir()


def _fork_safe() -> bool:
    """A fork copies no lock held by another thread only while there is none: no other
    Python thread, and pyarrow (whose thread pools start with it) not imported yet."""
    return threading.active_count() == 1 and "pyarrow" not in sys.modules


def take(path: str) -> Any | None:
    """The table the child parsed from ``path`` (a ``pyarrow.Table``), or None when no child
    parsed it or the child failed: then the caller parses it itself."""
    entry = _PENDING.pop(os.path.realpath(path), None)
    if entry is None:
        return None
    pid, out = entry
    import pyarrow as pa

    try:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not os.path.exists(out):
            return None
        # the mapping stays valid after the unlink below; its pages go when the table does
        return pa.ipc.open_file(pa.memory_map(out)).read_all()
    except (OSError, pa.ArrowException):
        return None
    finally:
        _remove(out)


def discard() -> None:
    """Stop and clean up a child whose table nobody took (the import failed before reading)."""
    while _PENDING:
        _, (pid, out) = _PENDING.popitem()
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        _remove(out)


def _remove(out: str) -> None:
    for name in (out, out + ".part"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
