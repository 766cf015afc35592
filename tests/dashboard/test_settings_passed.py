"""The web process mines under the ``Settings`` it was made with, not the environment's: a
time zone, an extra holiday or a catalog folder given to ``create_app`` / ``Service`` moves
the figures that depend on it while the environment says otherwise (issue 20)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from dashboard.server import create_app
from dashboard.service import Service
from dvcflow.settings import Settings, get_settings
from ingest.store import EventStore
from mining.filters import LogFilter
from mining.log import timezone_of
from sample_logs.catalog import PACKAGED_DIR
from sample_logs.workdays import WorkCalendar
from tests.dashboard.conftest import fill_store

PROC = "1.001193"
ENV_TZ = "Asia/Ho_Chi_Minh"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> EventStore:
    return fill_store(tmp_path_factory.mktemp("passed") / "data", 60)


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    """The environment: Vietnam's time zone, no extra holiday, the packaged catalog."""
    monkeypatch.setenv("DVCFLOW_TIMEZONE", ENV_TZ)
    for name in ("DVCFLOW_EXTRA_HOLIDAYS", "DVCFLOW_EXTRA_WORKDAYS", "DVCFLOW_CATALOG_DIR"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _settings(store: EventStore, **kw) -> Settings:
    return Settings(data_dir=store.data_dir, web_warm_cache=False, **kw)


def _a_case(svc: Service) -> str:
    page = svc.cases(LogFilter(procedure=PROC), limit=1)
    return page["items"][0]["case_id"]


def test_the_time_zone_given_is_the_one_mined_in(store):
    env = Service(_settings(store))
    utc = Service(_settings(store, timezone="UTC"))
    flt = LogFilter(procedure=PROC)
    assert get_settings().timezone == ENV_TZ
    assert env._log(flt).query(timezone_of) == ENV_TZ
    assert utc._log(flt).query(timezone_of) == "UTC"
    case_id = _a_case(env)
    here, there = env.case(case_id).deadline, utc.case(case_id).deadline
    limit = here.deadline_working_days
    received = env.case(case_id).events[0].timestamp
    # the due moment is the end of a working day in the service's own time zone
    assert here.due_at == WorkCalendar(timezone=ENV_TZ, extra_holidays=[]).add_working_days(
        received, limit
    )
    assert there.due_at == WorkCalendar(timezone="UTC", extra_holidays=[]).add_working_days(
        received, limit
    )
    assert there.due_at != here.due_at


def test_an_extra_holiday_given_moves_the_due_date(store):
    env = Service(_settings(store))
    case_id = _a_case(env)
    found = env.case(case_id)
    received = found.events[0].timestamp
    plain = WorkCalendar(timezone=ENV_TZ, extra_holidays=[])
    day = plain.add_working_days(received, found.deadline.deadline_working_days).date()
    holiday = Service(_settings(store, extra_holidays=[day.isoformat()]))
    moved = holiday.case(case_id).deadline
    limit = found.deadline.deadline_working_days
    assert get_settings().extra_holidays == []
    assert moved.due_at == WorkCalendar(timezone=ENV_TZ, extra_holidays=[day]).add_working_days(
        received, limit
    )
    assert moved.due_at > found.deadline.due_at  # the due day is now a holiday
    assert found.deadline.due_at == plain.add_working_days(received, limit)


def test_the_catalog_folder_given_is_the_one_read(store, tmp_path):
    """A copy of the catalog with a longer legal limit for PROC: the API of an app made with
    it reports that limit, the environment's catalog the packaged one."""
    folder = tmp_path / "catalog"
    shutil.copytree(PACKAGED_DIR, folder)
    entry = json.loads((folder / f"{PROC}.json").read_text())
    packaged_limit = entry["deadline_working_days"]
    entry["deadline_working_days"] = packaged_limit + 7
    (folder / f"{PROC}.json").write_text(json.dumps(entry, ensure_ascii=False))
    case_id = _a_case(Service(_settings(store)))
    with (
        TestClient(create_app(_settings(store, catalog_dir=folder))) as given,
        TestClient(create_app(_settings(store))) as env,
    ):
        mine = given.get(f"/api/v1/cases/{case_id}").json()
        theirs = env.get(f"/api/v1/cases/{case_id}").json()
    assert get_settings().catalog_dir is None
    assert theirs["deadline"]["deadline_working_days"] == packaged_limit
    assert mine["deadline"]["deadline_working_days"] == packaged_limit + 7
    assert datetime.fromisoformat(mine["deadline"]["due_at"]) > datetime.fromisoformat(
        theirs["deadline"]["due_at"]
    )
