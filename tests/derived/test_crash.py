"""A derive SIGKILLed mid-update leaves the previous layer whole (readers see the old rows,
not a mix), and the next derive brings the layer to exactly what a rebuild gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.schema import conform_table
from ingest.store import EventStore
from mining.derived import DerivedLayer, derive
from sample_logs.generator import generate
from tests.derived.helpers import layer_rows

pytestmark = pytest.mark.xdist_group("generated")


def staged(layer: DerivedLayer) -> bool:
    """A segment file being written (temp name)."""
    return any(p.name.endswith(".tmp") and "-" in p.name for p in layer.root.iterdir())


def published_not_committed(layer: DerivedLayer) -> bool:
    """A whole segment file on disk that the manifest does not name yet."""
    named = {
        layer.segment_path(t, g).name for g in layer.manifest().segments for t in ("cases", "steps")
    }
    return any(p.suffix == ".parquet" and p.name not in named for p in layer.root.iterdir())


def kill_derive_when(data_dir: Path, point) -> bool:
    """Run ``dvcflow derive`` in a subprocess and SIGKILL it once ``point(layer)`` holds;
    whether it was killed (False: it finished first)."""
    layer = DerivedLayer(data_dir)
    code = "from dvcflow.cli import app; app()"
    proc = subprocess.Popen([sys.executable, "-c", code, "--data-dir", str(data_dir), "derive"])
    try:
        while proc.poll() is None:
            if point(layer):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def table():
    """Big enough that writing a segment takes a while to catch."""
    return generate(["1.004193", "1.009974"], cases=6000, seed=4, out=None).table


@pytest.mark.parametrize("point", [staged, published_not_committed])
def test_killed_derive_leaves_the_old_layer_then_catches_up(tmp_path, point, table):
    half = table.num_rows // 2
    store = EventStore(tmp_path / "data")
    store.write(conform_table(table.slice(0, half)), "first")
    derive(store)
    before = layer_rows(store)
    version = DerivedLayer(store.data_dir).version()
    store.write(conform_table(table.slice(half)), "second")

    assert kill_derive_when(store.data_dir, point), "the derive finished before the kill point"
    assert DerivedLayer(store.data_dir).version() == version
    assert layer_rows(store) == before

    derive(store)
    other = EventStore(tmp_path / "rebuilt")
    other.write(conform_table(table), "all")
    derive(other, rebuild=True)
    assert layer_rows(store) == layer_rows(other)
