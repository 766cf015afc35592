"""Early warning: which open dossiers will miss their statutory deadline, and why.

- ``warnings(store, flt, as_of=None, top=None)`` → ``Warnings``: the morning list;
- ``evaluate(timeline)`` → ``QualityCard``: the model against the at-risk rule, on a
  chronological split;
- ``read_timeline`` / ``prefix_features`` / ``train``: the parts, for notebooks and tests.

The names load on first use: the web process imports the result models at start and
scikit-learn only when a warning is first asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "evaluate": "mining.warning.quality",
    "FEATURES": "mining.warning.features",
    "prefix_features": "mining.warning.features",
    "Model": "mining.warning.model",
    "ModelOptions": "mining.warning.model",
    "NotEnoughData": "mining.warning.model",
    "train": "mining.warning.model",
    "DossierWarning": "mining.warning.results",
    "QualityCard": "mining.warning.results",
    "Warnings": "mining.warning.results",
    "Timeline": "mining.warning.timeline",
    "read_timeline": "mining.warning.timeline",
    "warnings": "mining.warning.warn",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'mining.warning' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
