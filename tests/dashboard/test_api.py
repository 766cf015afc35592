"""The read API through HTTP (in-process ASGI): figures, paging, problem details, scopes.

Listings are checked against an independent count of the hand-made events; analysis figures
against the mining function called directly with the same filter (the API adds nothing).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import orjson
import pytest
from fastapi.testclient import TestClient

from dashboard.server import create_app
from dvcflow import access
from dvcflow.settings import Settings
from ingest.store import EventStore
from mining.filters import LogFilter
from tests.dashboard.conftest import fill_store, hand_made_events

CASES = 120


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return hand_made_events(CASES)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    return fill_store(tmp_path_factory.mktemp("api") / "data", CASES)


@pytest.fixture(scope="module")
def client(store: EventStore):
    app = create_app(Settings(data_dir=store.data_dir, web_warm_cache=False))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _cases(events: list[dict], **where: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in events:
        if all(e[k] == v for k, v in where.items()):
            out.setdefault(e["case_id"], []).append(e)
    return out


def test_procedures_and_units_count_what_was_written(client, events):
    got = {p["procedure_code"]: p for p in client.get("/api/v1/procedures").json()}
    for code in {e["procedure_code"] for e in events}:
        mine = [e for e in events if e["procedure_code"] == code]
        assert got[code]["events"] == len(mine)
        assert got[code]["cases"] == len({e["case_id"] for e in mine})
    assert got["1.001193"]["name"]["en"]  # the catalog names it

    tree = client.get("/api/v1/units").json()
    expected = Counter(
        (e["province_code"], e["commune_code"]) for e in events if e["event_id"].endswith("-0")
    )
    flat = {
        (p["province_code"], c["commune_code"]): c["cases"] for p in tree for c in p["communes"]
    }
    assert flat == dict(expected)


def test_cases_are_paged_and_filtered(client, events):
    want = _cases(events, procedure_code="1.001193", province_code="79")
    seen: list[str] = []
    offset = 0
    while True:
        page = client.get(
            "/api/v1/cases",
            params={"procedure": "1.001193", "province": "79", "limit": 7, "offset": offset},
        ).json()
        assert page["total"] == len(want)
        if not page["items"]:
            break
        seen += [c["case_id"] for c in page["items"]]
        offset += 7
    assert sorted(seen) == sorted(want)  # every dossier once, no other


def test_cases_through_a_step_are_those_whose_events_name_it(client, events):
    want = {
        e["case_id"]
        for e in events
        if e["activity"] == "check_residence" and e["procedure_code"] == "1.001193"
    }
    assert want  # the hand-made log has dossiers through that step
    page = client.get(
        "/api/v1/cases",
        params={"procedure": "1.001193", "activity": "check_residence", "limit": 500},
    ).json()
    assert page["total"] == len(want)
    assert {c["case_id"] for c in page["items"]} == want


def test_case_timeline_is_the_dossier_in_time_order(client, events):
    mine = sorted(_cases(events, case_id="C0007")["C0007"], key=lambda e: e["timestamp"])
    body = client.get("/api/v1/cases/C0007").json()
    assert [e["activity"] for e in body["events"]] == [e["activity"] for e in mine]
    assert [datetime.fromisoformat(e["timestamp"]) for e in body["events"]] == [
        datetime.fromisoformat(e["timestamp"]) for e in mine
    ]
    assert "applicant_ref" not in body["events"][0] and "applicant_id" not in str(body)


def test_process_map_counts_the_directly_follows_pairs(client, events):
    want: Counter[tuple[str, str]] = Counter()
    for trace in _cases(events, procedure_code="2.000001").values():
        trace.sort(key=lambda e: e["timestamp"])
        want.update((a["activity"], b["activity"]) for a, b in zip(trace, trace[1:], strict=False))
    body = client.get("/api/v1/process-map", params={"procedure": "2.000001"}).json()
    assert {(e["source"], e["target"]): e["frequency"] for e in body["edges"]} == dict(want)
    nodes = {n["id"]: n["frequency"] for n in body["nodes"]}
    assert nodes == dict(
        Counter(e["activity"] for e in events if e["procedure_code"] == "2.000001")
    )


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("bottlenecks", "bottlenecks"),
        ("deadlines", "sla"),
        ("rework", "rework"),
        ("variants", "variants"),
    ],
)
def test_analysis_endpoints_return_what_mining_computes(client, store, path, key):
    from mining.analysis import AnalysisOptions, analyze

    flt = LogFilter(procedure="1.001193", province="79")
    direct = analyze(store, flt, AnalysisOptions(discover=False), use_cache=False)[key]
    body = client.get(f"/api/v1/{path}", params={"procedure": "1.001193", "province": "79"})
    assert body.status_code == 200, body.text
    assert body.json()["data"] == orjson.loads(orjson.dumps(direct, option=orjson.OPT_NAIVE_UTC))
    assert body.json()["filters"]["province"] == "79"


def test_whatif_posts_steps_and_returns_mining_replay(client, store):
    from mining.reform import whatif

    flt = LogFilter(procedure="1.001193")
    direct = whatif(store, flt, remove=["check_residence"])
    got = client.post(
        "/api/v1/reform/whatif",
        params={"procedure": "1.001193"},
        json={"remove": ["check_residence"]},
    )
    assert got.status_code == 200, got.text
    data = got.json()["data"]
    assert data["scenario"] == direct["scenario"] and data["baseline"] == direct["baseline"]
    assert (
        data["scenario"]["cycle_working_days"]["mean"]
        < data["baseline"]["cycle_working_days"]["mean"]
    )


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/api/v1/cases?from=2025-09-01&to=2025-08-01", 422, "after"),
        ("/api/v1/cases?channel=fax", 422, "channel"),
        ("/api/v1/cases?limit=0", 422, "limit"),
        ("/api/v1/cases/NOPE-0001", 404, "NOPE-0001"),
        ("/api/v1/variants?procedure=9.999999", 422, "9.999999"),
        ("/api/v1/no-such-thing", 404, "/api/v1/no-such-thing"),
        # a filter error names the query parameter (``from``, not the CLI's ``--from``)
        ("/api/v1/cases?from=2025-09-01&to=2025-08-01", 422, "from=2025-09-01 and to=2025-08-01"),
        ("/api/v1/variants?procedure=9.999999", 422, "procedure=9.999999: no such procedure"),
        ("/api/v1/variants?procedure=1.001193&province=48", 422, "no dossier matches"),
        ("/api/v1/unit-waits?step=receive", 422, "procedure: the wait by unit needs one"),
        ("/api/v1/reform/candidates", 422, "procedure: reform needs one procedure"),
    ],
)
def test_errors_are_problem_details_naming_the_field(client, path, status, needle):
    got = client.get(path)
    assert got.status_code == status
    assert got.headers["content-type"].startswith("application/problem+json")
    body = got.json()
    assert body["status"] == status and needle in body["detail"]
    assert "--" not in body["detail"]  # worded for the API, not the CLI


BAD_FILTERS = (
    "/api/v1/variants?procedure=9.999999",
    "/api/v1/variants?procedure=1.001193&province=48",
    "/api/v1/cases?from=2025-09-01&to=2025-08-01",
    "/api/v1/bottlenecks?procedure=1.001193&channel=postal&from=2031-01-01",
    "/api/v1/reform/candidates",
    "/api/v1/reform/impact?procedure=1.001193&date=2031-01-01",
    "/api/v1/unit-waits?procedure=9.999999&step=receive",
    "/api/v1/warnings?procedure=9.999999",
)


def test_no_problem_detail_holds_the_data_dir(client, store, tmp_path):
    """A problem detail never tells a client where the server keeps its data, whether the
    store holds the filter's dossiers or is empty."""
    empty = tmp_path / "empty-store"
    (empty / "events").mkdir(parents=True)
    apps = (
        (client, store.data_dir),
        (TestClient(create_app(Settings(data_dir=empty, web_warm_cache=False))), empty),
    )
    for c, data_dir in apps:
        secrets = {str(data_dir), str(data_dir.resolve()), data_dir.name}
        for path in BAD_FILTERS:
            got = c.get(path)
            assert got.status_code in (400, 422), (path, got.status_code, got.text)
            detail = got.json()["detail"]
            assert not any(s in detail for s in secrets), (path, detail)
            assert not any(s in got.text for s in secrets), (path, got.text)
    assert "is empty" in apps[1][0].get(BAD_FILTERS[0]).json()["detail"]


def test_openapi_lists_every_read_endpoint(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for p in (
        "procedures",
        "units",
        "process-map",
        "bottlenecks",
        "deadlines",
        "rework",
        "variants",
        "conformance",
        "reform/candidates",
        "reform/whatif",
        "reform/impact",
        "service-index",
        "cases",
        "cases/{case_id}",
        "stream/health",
    ):
        assert f"/api/v1/{p}" in paths, p
    assert client.get("/api/docs").status_code == 200


# --- access by token ---------------------------------------------------------------------
TOKENS = {
    "hcm": ("official", ["79"], None),
    "two": ("official", ["79", "01"], None),
    "team": ("reform_team", None, None),
    "feed": ("integrator", None, None),
}


@pytest.fixture
def keyed(monkeypatch):
    keys = [
        {
            "name": n,
            "token_sha256": access.hash_token(f"tok-{n}"),
            "role": role,
            "provinces": prov,
            "communes": com,
        }
        for n, (role, prov, com) in TOKENS.items()
    ]
    monkeypatch.setenv(access.ENV_KEYS, orjson.dumps(keys).decode())


def _get(client, path, who=None, **params):
    headers = {"Authorization": f"Bearer tok-{who}"} if who else {}
    return client.get(path, params=params, headers=headers)


def test_tokens_are_required_once_keys_exist(client, keyed):
    assert _get(client, "/api/v1/units").status_code == 401
    bad = client.get("/api/v1/units", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    assert _get(client, "/api/v1/units", "feed").status_code == 403  # integrators only write


def test_an_official_sees_their_province_only(client, events, keyed):
    assert _get(client, "/api/v1/cases", "hcm", province="01").status_code == 403
    mine = _get(client, "/api/v1/cases", "hcm", limit=1).json()  # narrowed to 79
    assert mine["filters"]["province"] == "79"
    assert mine["total"] == len(_cases(events, province_code="79"))
    assert [p["province_code"] for p in _get(client, "/api/v1/units", "hcm").json()] == ["79"]
    other = next(c for c, ev in _cases(events, province_code="01").items())
    assert _get(client, f"/api/v1/cases/{other}", "hcm").status_code == 403
    assert _get(client, "/api/v1/cases", "two").status_code == 403  # which one? say it
    assert _get(client, "/api/v1/cases", "two", province="01").status_code == 200


def test_a_reform_team_sees_all(client, events, keyed):
    assert _get(client, "/api/v1/cases", "team", limit=1).json()["total"] == CASES
    assert len(_get(client, "/api/v1/units", "team").json()) == len(
        {e["province_code"] for e in events}
    )


def _sign_in(client, token: str, **kw):
    """The login form as a browser sends it: its CSRF value with the cookie GET /login set."""
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return client.post("/login", data={"token": token, "csrf": csrf}, **kw)


def test_the_dashboard_asks_for_a_token_once_keys_exist(client, keyed):
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.post("/_dash-update-component", json={}).status_code == 401
    bad = _sign_in(client, "nope", follow_redirects=False)
    assert bad.status_code == 401 and "not known" in bad.text
    assert _sign_in(client, "tok-feed").status_code == 401  # writes only
    good = _sign_in(client, "tok-hcm", follow_redirects=False)
    assert good.status_code == 303
    cookie = good.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "tok-hcm" not in cookie  # a session id, not the token
    assert client.get("/").status_code == 200
    client.cookies.clear()


def test_dashboard_filters_are_narrowed_like_the_api(keyed, store):
    from dashboard import auth
    from dvcflow import access

    hcm = access.authenticate("tok-hcm")
    assert auth.scoped(LogFilter(procedure="1.001193"), hcm).province == "79"
    with pytest.raises(auth.Forbidden, match="province 01"):
        auth.scoped(LogFilter(province="01"), hcm)
    assert auth.scoped(LogFilter(province="01"), access.authenticate("tok-team")).province == "01"
