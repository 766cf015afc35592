"""A columnar buffer of generated events: numpy arrays of codes, appended step by step.

Strings (units, officers, attributes) are interned into vocabularies and only expanded when
the Arrow table is built, so a million events cost a few numpy concatenations.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

CHANNELS = ("online", "counter", "postal", "internal", "system")
ACTORS = ("citizen", "officer", "system")
OUTCOMES = ("", "approved", "rejected", "returned", "withdrawn")
LIFECYCLES = ("complete", "start")
CH = {name: i for i, name in enumerate(CHANNELS)}
ACT = {name: i for i, name in enumerate(ACTORS)}
OUT = {name: i for i, name in enumerate(OUTCOMES)}


class Vocab:
    """Interned strings: ``index(s)`` -> int, ``values`` -> numpy object array."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self._values: list[str] = []

    def index(self, value: str) -> int:
        if value not in self._index:
            self._index[value] = len(self._values)
            self._values.append(value)
        return self._index[value]

    @property
    def values(self) -> np.ndarray:
        return np.array(self._values, dtype=object)


class EventBuffer:
    """Append-only event columns; ``add`` takes arrays (or scalars) of one step's events."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = defaultdict(list)
        self.attrs: list[tuple[np.ndarray, np.ndarray]] = []  # (seq numbers, JSON strings)
        self.activities = Vocab()
        self.units = Vocab()
        self.resources = Vocab()
        self._seq = 0

    def add(
        self,
        case: np.ndarray,
        activity: str,
        t: np.ndarray,
        *,
        unit: np.ndarray,
        channel: np.ndarray | int,
        actor: int,
        resource: np.ndarray | int = -1,
        lifecycle: int = 0,
        outcome: np.ndarray | int = 0,
        attrs: np.ndarray | None = None,
    ) -> None:
        n = len(case)
        if n == 0:
            return
        seq = np.arange(self._seq, self._seq + n, dtype=np.int64)
        self._seq += n

        def full(value: np.ndarray | int, dtype: str) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

        self.cols["case"].append(np.asarray(case, dtype=np.int32))
        self.cols["activity"].append(full(self.activities.index(activity), "int16"))
        self.cols["t"].append(np.asarray(t, dtype=np.int64))
        self.cols["lifecycle"].append(full(lifecycle, "int8"))
        self.cols["unit"].append(full(unit, "int32"))
        self.cols["channel"].append(full(channel, "int8"))
        self.cols["actor"].append(full(actor, "int8"))
        self.cols["resource"].append(full(resource, "int32"))
        self.cols["outcome"].append(full(outcome, "int8"))
        self.cols["seq"].append(seq)
        if attrs is not None:
            self.attrs.append((seq, attrs))

    def __len__(self) -> int:
        return self._seq

    def columns(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.cols.items()}

    def attribute_column(self) -> np.ndarray:
        """JSON text per event in ``seq`` order (None where an event has no attributes)."""
        out = np.full(self._seq, None, dtype=object)
        for seq, values in self.attrs:
            out[seq] = values
        return out
