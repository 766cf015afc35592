"""Models kept per store version on disk, and retrained in the background for the web: the
answer never waits for a retraining once a model exists."""

from __future__ import annotations

from dvcflow.settings import Settings
from mining.filters import LogFilter
from mining.warning import fits, warnings
from tests.warning.conftest import generated

CODE = "1.004193"


def _forget() -> None:
    with fits._lock:
        fits._fits.clear()


def test_a_saved_model_answers_after_a_restart_without_training(tmp_path):
    store = generated(tmp_path / "data", CODE, 400, seed=3)
    settings = Settings(data_dir=store.data_dir, warning_retrain_seconds=0)
    first = warnings(store, LogFilter(procedure=CODE), settings=settings, quality=False)
    assert first.method == "model" and first.model_version == store.version()
    assert list((store.data_dir / fits.MODELS_DIR).glob("*.pkl"))
    _forget()  # a new process: only the file is left
    again = warnings(store, LogFilter(procedure=CODE), settings=settings, quality=False)
    assert again.model_trained_at == first.model_trained_at  # loaded, not trained again
    assert [i.case_id for i in again.items] == [i.case_id for i in first.items]


def test_the_web_answers_with_the_last_model_while_a_newer_one_trains(tmp_path):
    store = generated(tmp_path / "data", CODE, 400, seed=4)
    settings = Settings(data_dir=store.data_dir, warning_retrain_seconds=0)
    flt = LogFilter(procedure=CODE)
    old = warnings(store, flt, settings=settings, quality=False, background=True)
    assert not old.retraining and old.model_version == old.store_version
    generated(store.data_dir, CODE, 100, seed=44)  # new events: a new store version
    assert store.version() != old.store_version
    now = warnings(store, flt, settings=settings, quality=False, background=True)
    assert now.retraining and now.model_version == old.model_version != now.store_version
    assert now.model_trained_at == old.model_trained_at
    assert now.store_version == store.version()  # rescored on the new events meanwhile
    assert fits.wait_idle(120)
    landed = warnings(store, flt, settings=settings, quality=False, background=True)
    assert not landed.retraining and landed.model_version == landed.store_version
    assert landed.model_trained_at > old.model_trained_at
