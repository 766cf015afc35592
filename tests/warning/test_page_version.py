"""An open early-warning page redraws when a model trained in the background lands, not only
when the store changes (``Service.page_version`` carries ``fits.generation``)."""

from __future__ import annotations

from dashboard.service import Service
from dvcflow.settings import Settings
from mining.warning import fits


def test_a_landed_background_model_changes_the_page_version(tmp_path, monkeypatch):
    svc = Service(Settings(data_dir=tmp_path / "data", web_warm_cache=False))
    before = svc.page_version()
    monkeypatch.setattr(fits, "_generation", fits.generation() + 1)
    after = svc.page_version()
    assert after != before and after.startswith(svc.version())
