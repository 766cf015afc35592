"""``GET /api/v1/unit-waits`` and a token's scope: the wait per unit reads the nation's log
for its two reference medians, but its per-unit rows never reach beyond the token's scope.

On a generated store (real provinces and communes): a province key sees the communes of its
province only, a commune key its own commune's row only (never its neighbours', never a
per-province listing of the nation), whatever province it names; the rows it sees are the
ones an unrestricted reader sees for those units (scoping removes rows, it changes none), and
the references are the nation's and the province's medians, the same for every reader.
"""

from __future__ import annotations

from statistics import median

import orjson
import pytest
from fastapi.testclient import TestClient

from dashboard.server import create_app
from dvcflow import access
from dvcflow.settings import Settings
from sample_logs.generator import generate
from sample_logs.names import commune_province
from sample_logs.workdays import default_calendar
from tests.dashboard.conftest import generated_store

PROC = "1.004193"
PROVINCE = "31"  # Hải Phòng: the planted slow handoff
STEP = "issue_insurance_card"
CASES, SEED = 1200, 5


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    store = generated_store(tmp_path_factory.mktemp("unit-waits") / "data", CASES, seed=SEED)
    app = create_app(Settings(data_dir=store.data_dir, web_warm_cache=False))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def waits(client, who: str | None = None, **params):
    headers = {"Authorization": f"Bearer tok-{who}"} if who else {}
    got = client.get(
        "/api/v1/unit-waits", params={"procedure": PROC, "step": STEP, **params}, headers=headers
    )
    assert got.status_code == 200, got.text
    return got.json()["data"]


@pytest.fixture(scope="module")
def open_view(client):
    """What an unrestricted reader sees, read before any key exists: the nation by province
    and the province by commune."""
    return waits(client), waits(client, province=PROVINCE)


@pytest.fixture(scope="module")
def commune(open_view) -> str:
    """A commune of the province with dossiers at the step, not the only one."""
    rows = open_view[1]["units"]
    assert len(rows) > 2, rows
    return rows[1]["unit"]


@pytest.fixture
def keyed(monkeypatch, open_view, commune):
    keys = [
        {"name": "province", "role": "official", "provinces": [PROVINCE]},
        {"name": "commune", "role": "official", "communes": [commune]},
        {"name": "team", "role": "reform_team"},
    ]
    for k in keys:
        k["token_sha256"] = access.hash_token(f"tok-{k['name']}")
    monkeypatch.setenv(access.ENV_KEYS, orjson.dumps(keys).decode())


def test_a_province_key_sees_the_communes_of_its_province_only(client, keyed, open_view):
    nation, province = open_view
    for params in ({}, {"province": PROVINCE}):
        got = waits(client, "province", **params)
        assert got["by"] == "commune" and got["province"] == PROVINCE
        assert {commune_province(u["unit"]) for u in got["units"]} == {PROVINCE}
        assert got["units"] == province["units"]
        assert got["national_median_working_days"] == nation["national_median_working_days"]
    other = client.get(
        "/api/v1/unit-waits",
        params={"procedure": PROC, "step": STEP, "province": "79"},
        headers={"Authorization": "Bearer tok-province"},
    )
    assert other.status_code == 403


@pytest.mark.parametrize("params", [{}, {"province": PROVINCE}])
def test_a_commune_key_sees_its_own_row_and_the_two_references(
    client, keyed, open_view, commune, params
):
    nation, province = open_view
    got = waits(client, "commune", **params)
    assert [u["unit"] for u in got["units"]] == [commune]  # no neighbour, no province rows
    assert got["units"] == [u for u in province["units"] if u["unit"] == commune]
    assert got["province_median_working_days"] == province["province_median_working_days"]
    assert got["national_median_working_days"] == nation["national_median_working_days"]


def independent_waits() -> dict[str, list[tuple[str, str, float]]]:
    """The waits before ``STEP`` from the generator's own events (the store's source), in
    working days: per dossier, from the event before the step's start (or its completion
    when it logs no start) to that moment; with the dossier's province and commune."""
    table = generate("all", CASES, SEED, None).table.to_pylist()
    by_case: dict[str, list[dict]] = {}
    for e in table:
        if e["procedure_code"] == PROC:
            by_case.setdefault(e["case_id"], []).append(e)
    calendar = default_calendar()
    out: list[tuple[str, str, float]] = []
    for events in by_case.values():
        events.sort(key=lambda e: e["timestamp"])  # stable: the source's order for ties
        first = events[0]
        for before, at in zip(events, events[1:], strict=False):
            started = before["activity"] == STEP and before["lifecycle"] == "start"
            if at["activity"] != STEP or (at["lifecycle"] != "start" and started):
                continue
            wd = calendar.working_days_between(before["timestamp"], at["timestamp"])
            out.append((first["province_code"], first["commune_code"], max(wd, 0.0)))
    return {"all": out}


def test_the_rows_and_references_are_the_medians_of_the_waits(open_view, commune):
    """Checked against the generator's events and the working-day calendar, not mining's
    tables: the nation's and the province's medians, and one commune's row."""
    nation, province = open_view
    found = independent_waits()["all"]
    assert nation["national_median_working_days"] == pytest.approx(
        median(w for _, _, w in found), abs=1e-3
    )
    assert province["province_median_working_days"] == pytest.approx(
        median(w for p, _, w in found if p == PROVINCE), abs=1e-3
    )
    row = next(u for u in province["units"] if u["unit"] == commune)
    assert row["median_working_days"] == pytest.approx(
        median(w for _, c, w in found if c == commune), abs=1e-3
    )
