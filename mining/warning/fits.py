"""Which model answers a warning: kept per store version on disk, retrained in the
background for the web, inline for the CLI.

A fit (a procedure's model, or why there is none, and its quality card) is saved under the
data directory (``warning_models/``) with the store version it was trained on, so a
restarted server or the next ``dvcflow warn`` starts from it. When the store has moved on:

- the web (``background=True``) answers at once with the last fit, saying its version and
  age, and trains the new one in a background thread (at most one per procedure and
  replay, at most every ``warning_retrain_seconds``); the next answer after it finishes
  uses it (``generation()`` changes, for the caches that key on it);
- the CLI (``background=False``) trains inline, unless the kept fit is younger than
  ``warning_retrain_seconds``.

Only when there is no fit at all is the first one trained inside the call.

A procedure with fewer than ``warning_pool_below_late`` late finished dossiers learns from
all the store's procedures with the procedure as a feature (its quality card is measured on
its own dossiers); a procedure alone that cannot train is pooled too; failing both, the
at-risk rule ranks the list.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from dvcflow.settings import Settings
from ingest.store import EventStore
from mining.deadlines import DeadlineRules
from mining.filters import LogFilter
from mining.log import cut_log, load_log
from mining.warning.model import Model, ModelOptions, NotEnoughData, train
from mining.warning.quality import evaluate
from mining.warning.results import QualityCard, Words
from mining.warning.timeline import Timeline, add_case_attributes, read_timeline

log = logging.getLogger(__name__)
MODELS_DIR = "warning_models"
_MAX_FITS = 16


@dataclass
class Fit:
    """A trained model (or why there is none), its quality card and when it was trained
    (``version``: the store's then; ``trained_at``: epoch seconds)."""

    model: Model | None
    method: str
    message: Words | None
    quality: QualityCard | None
    version: str
    trained_at: float
    pooled_timeline: Timeline | None = None  # not saved: read again when needed


_lock = threading.Lock()
_fits: OrderedDict[tuple, Fit] = OrderedDict()
_training: set[tuple] = set()
_generation = 0


def generation() -> int:
    """Bumped whenever a background fit lands: a cache of answers keys on it."""
    return _generation


def is_training(key: tuple) -> bool:
    with _lock:
        return key in _training


def model_options(settings: Settings) -> ModelOptions:
    return ModelOptions(
        min_finished=settings.warning_min_finished,
        min_late=settings.warning_min_late,
        exclude_supplement_wait=settings.exclude_supplement_wait,
    )


def fit_key(
    store: EventStore, code: str, moment: datetime | None, term_days, quality, settings
) -> tuple:
    return (
        str(store.data_dir),
        code,
        moment.isoformat() if moment else None,
        term_days,
        quality,
        model_options(settings),
        tuple(settings.warning_case_attributes),
        settings.warning_pool_below_late,
    )


def _path(key: tuple) -> Path:
    digest = hashlib.sha1(repr(key[1:]).encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in key[1])
    return Path(key[0]) / MODELS_DIR / f"{safe}-{digest}.pkl"


def _save(key: tuple, fit: Fit) -> None:
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(pickle.dumps(replace(fit, pooled_timeline=None)))
        os.replace(tmp, path)
    except OSError as exc:  # a read-only data dir: the fit still serves from memory
        log.warning("early warning: could not save the model to %s: %s", path, exc)


def _load(key: tuple) -> Fit | None:
    path = _path(key)
    if not path.exists():
        return None
    try:
        fit = pickle.loads(path.read_bytes())
        return fit if isinstance(fit, Fit) else None
    except Exception as exc:  # an older format or a torn file: train again
        log.warning("early warning: ignoring the saved model %s: %s", path, exc)
        return None


def _keep(key: tuple, fit: Fit) -> None:
    with _lock:
        _fits[key] = fit
        _fits.move_to_end(key)
        while len(_fits) > _MAX_FITS:
            _fits.popitem(last=False)


def get_fit(
    store: EventStore,
    code: str,
    tl: Timeline,
    moment: datetime | None,
    settings: Settings,
    rules: DeadlineRules,
    quality: bool,
    term_days: float | None,
    *,
    background: bool,
) -> tuple[Fit, bool]:
    """The fit that answers now, and whether a newer one is being trained."""
    version = store.version()
    key = fit_key(store, code, moment, term_days, quality, settings)
    with _lock:
        kept = _fits.get(key)
    if kept is None:
        kept = _load(key)
        if kept is not None:
            _keep(key, kept)
    if kept is not None and kept.version == version:
        return kept, is_training(key)
    fresh = kept is not None and time.time() - kept.trained_at < settings.warning_retrain_seconds
    if kept is not None and fresh:
        return kept, is_training(key)
    if kept is not None and background:
        _start(key, store, code, tl, moment, settings, rules, quality, term_days, version)
        return kept, True
    fit = train_fit(store, code, tl, moment, settings, rules, quality, term_days, version)
    _keep(key, fit)
    _save(key, fit)
    return fit, False


def _start(key, store, code, tl, moment, settings, rules, quality, term_days, version) -> None:
    with _lock:
        if key in _training:
            return
        _training.add(key)

    def run() -> None:
        global _generation
        try:
            fit = train_fit(store, code, tl, moment, settings, rules, quality, term_days, version)
            _keep(key, fit)
            _save(key, fit)
        except Exception:  # the old fit keeps answering; the next request tries again
            log.exception("early warning: background training of %s failed", code)
        finally:
            with _lock:
                _training.discard(key)
                _generation += 1

    threading.Thread(target=run, name=f"warning-train-{code}", daemon=True).start()


def wait_idle(timeout: float = 120.0) -> bool:
    """Until no background fit is running (tests, and a clean shutdown)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with _lock:
            if not _training:
                return True
        time.sleep(0.05)
    return False


def train_fit(store, code, tl, moment, settings, rules, quality, term_days, version) -> Fit:
    """Train the procedure's fit now: alone, pooled (few late dossiers, or alone fails),
    or none (the rule), with the reason in words."""
    opts = model_options(settings)
    at = time.time()
    done = tl.outcomes["finished"].to_numpy(bool)
    late = int(np.nansum(tl.outcomes["late"].to_numpy(float)[done]))
    reason = None
    if late >= settings.warning_pool_below_late:
        try:
            model = train(tl, options=opts)
            card = _quality(tl, opts, rules, quality, "model", None)
            return Fit(model, "model", None, card, version, at)
        except NotEnoughData as own:
            reason = str(own)
    else:
        reason = f"{late} late finished dossiers (fewer than {settings.warning_pool_below_late})"
    pooled = pooled_timeline(store, moment, rules, term_days, settings)
    if pooled is not None and len(pooled.dossiers["procedure"].unique()) > 1:
        try:
            model = train(pooled, options=opts)
            card = _quality(pooled, opts, rules, quality, "pooled", code)
            message = Words(
                vi=f"Thủ tục có ít hồ sơ đã xong ({reason}): mô hình học chung với các thủ tục "
                "khác trong kho, thủ tục là một đặc trưng.",
                en=f"Few finished dossiers for this procedure ({reason}): the model learns "
                "from all the store's procedures, with the procedure as a feature.",
            )
            return Fit(model, "pooled", message, card, version, at, pooled)
        except NotEnoughData as all_:
            reason = f"{reason}; all procedures: {all_}"
    if late < settings.warning_pool_below_late:  # pooling impossible: try alone after all
        try:
            model = train(tl, options=opts)
            card = _quality(tl, opts, rules, quality, "model", None)
            return Fit(model, "model", None, card, version, at)
        except NotEnoughData as own:
            reason = f"{reason}; {own}"
    message = Words(
        vi=f"Chưa đủ hồ sơ đã xử lý xong để học ({reason}): danh sách xếp theo quy tắc "
        f"'sắp quá hạn' (đã dùng trên {settings.at_risk_share:.0%} thời hạn).",
        en=f"Not enough finished dossiers to learn from ({reason}): the list is ranked by the "
        f"at-risk rule (more than {settings.at_risk_share:.0%} of the deadline used).",
    )
    return Fit(None, "rule", message, None, version, at)


def _quality(tl, opts, rules, wanted, method, procedure) -> QualityCard | None:
    if not wanted:
        return None
    try:
        return evaluate(tl, opts, rules, method=method, test_procedure=procedure)
    except NotEnoughData:
        return None  # enough to train on everything, not on the older 80 %


def _deadlines() -> dict[str, int]:
    from sample_logs.catalog import load_catalog

    try:
        return {c: p.deadline_working_days for c, p in load_catalog().items()}
    except Exception:
        return {}


def pooled_timeline(store, moment, rules, term_days, settings) -> Timeline | None:
    con = load_log(store, LogFilter(), settings=settings)
    try:
        if moment is not None:
            cut_log(con, moment)
        tl = read_timeline(con, _deadlines(), rules=rules, as_of=moment, term_days=term_days)
    finally:
        con.close()
    add_case_attributes(tl, store, None, settings.warning_case_attributes)
    return tl
