"""Early warning: which open dossiers will miss their statutory deadline, and why.

- ``warnings(store, flt, as_of=None, top=None)`` → ``Warnings``: the morning list;
- ``evaluate(timeline)`` → ``QualityCard``: the model against the at-risk rule, on a
  chronological split;
- ``read_timeline`` / ``prefix_features`` / ``train``: the parts, for notebooks and tests.
"""

from mining.warning.evaluate import evaluate
from mining.warning.features import FEATURES, prefix_features
from mining.warning.model import Model, ModelOptions, NotEnoughData, train
from mining.warning.results import DossierWarning, QualityCard, Warnings
from mining.warning.timeline import Timeline, read_timeline
from mining.warning.warn import warnings

__all__ = [
    "FEATURES",
    "DossierWarning",
    "Model",
    "ModelOptions",
    "NotEnoughData",
    "QualityCard",
    "Timeline",
    "Warnings",
    "evaluate",
    "prefix_features",
    "read_timeline",
    "train",
    "warnings",
]
