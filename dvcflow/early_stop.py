"""Stop requests of the long-running worker verbs, caught from the first line of the CLI.

``dvcflow sink`` spends a second or more (more on a busy machine) importing pyarrow, DuckDB
and librdkafka and joining Kafka. A SIGTERM in that time (a supervisor restarting it, a test
tearing it down) would kill it with -15 if the handler came after those imports. So the CLI
calls ``install`` before any of them; the handler only sets ``STOP``, and the worker checks it
before it joins the consumer group: it then exits 0 and says it stopped during start-up.
Only stdlib here, so installing it costs nothing.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

STOP = threading.Event()
WORKERS = frozenset({"sink"})  # verbs that run until stopped and finish what they hold
_OPTIONS_WITH_VALUE = frozenset({"--data-dir"})  # the CLI's global options taking a value


def command_of(argv: Sequence[str]) -> str | None:
    """The verb of a ``dvcflow`` command line (global options may come before it); None for
    another program importing the CLI (pytest, a notebook)."""
    if not argv or Path(argv[0]).name not in ("dvcflow", "cli.py"):
        return None
    args = iter(argv[1:])
    for arg in args:
        if arg in _OPTIONS_WITH_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def listen() -> threading.Event:
    """SIGTERM and Ctrl-C set ``STOP`` (the worker finishes what it holds and exits 0)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: STOP.set())
    return STOP


def install(argv: Sequence[str] | None = None) -> bool:
    """Listen at once when the command line runs a worker verb; other verbs keep Python's
    default (a SIGTERM ends them at once)."""
    if command_of(sys.argv if argv is None else argv) not in WORKERS:
        return False
    listen()
    return True
