"""Issue 19, Low: sign-in, sessions, headers, failed tokens, metrics, counts, contract edges."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import yaml

from tests.security.conftest import bearer, event


def _csrf(client) -> str:
    page = client.get("/login")
    return page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_low_sign_in_needs_the_form_csrf_and_sign_out_is_post_only(web):
    client, tokens = web
    forged = client.post("/login", data={"token": tokens["off79"]}, follow_redirects=False)
    assert forged.status_code == 403  # a cross-site form carries no CSRF value
    good = client.post(
        "/login", data={"token": tokens["off79"], "csrf": _csrf(client)}, follow_redirects=False
    )
    assert good.status_code == 303
    client.get("/logout")  # a link or image cross-site: signs nobody out
    assert client.get("/", follow_redirects=False).status_code == 200
    client.cookies.clear()


def test_low_the_session_cookie_is_a_server_side_id_with_an_expiry(web):
    client, tokens = web
    r = client.post(
        "/login", data={"token": tokens["off79"], "csrf": _csrf(client)}, follow_redirects=False
    )
    cookie = r.headers["set-cookie"]
    assert tokens["off79"] not in cookie and "Max-Age=" in cookie and "HttpOnly" in cookie
    client.cookies.clear()


def test_low_security_headers_on_every_page(web):
    client, _ = web
    for path in ("/login", "/api/v1/health"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path


def test_low_failed_tokens_are_rate_limited(gateway):
    client, tokens = gateway
    codes = [
        client.post("/api/v1/events", json={}, headers=bearer(f"dvc_guess{i}")).status_code
        for i in range(12)
    ]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]


def test_low_metrics_need_a_key_once_keys_exist(gateway):
    client, tokens = gateway
    assert client.get("/api/metrics").status_code == 401
    assert client.get("/api/metrics", headers=bearer(tokens["int79"])).status_code == 200


def test_low_an_official_sees_only_the_counts_of_their_scope(web):
    client, tokens = web
    mine = client.get("/api/v1/procedures", headers=bearer(tokens["off79"])).json()
    assert [p["cases"] for p in mine] == [5]  # 79's five dossiers, not the store's ten


def _compose_check_path(service: str) -> str:
    """The path the compose file's healthcheck of ``service`` opens."""
    compose = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "docker/compose.yaml").read_text()
    )
    test = " ".join(compose["services"][service]["healthcheck"]["test"])
    return "/" + re.search(r"http://[^/]+/([^'\"]+)", test).group(1)


def test_low_the_compose_health_checks_answer_without_a_token(web, gateway):
    assert web[0].get(_compose_check_path("web")).status_code == 200
    assert gateway[0].get(_compose_check_path("gateway")).status_code == 200


def test_low_cloudevents_need_specversion_1_0_and_ids_refuse_nul_and_bidi(gateway):
    client, tokens = gateway
    auth = bearer(tokens["int79"])
    cloud = {
        "specversion": "0.3",
        "id": "1",
        "source": "s",
        "type": "t",
        "data": event("N79", 0, "79"),
    }
    r = client.post("/api/v1/events", json=cloud, headers=auth)
    assert r.status_code == 422 and r.json()["rejected"][0]["errors"][0]["field"] == "specversion"
    for field, value in (("case_id", "N\x0079"), ("activity", "receive\u202egnp.exe")):
        r = client.post("/api/v1/events", json=event("N79", 0, "79") | {field: value}, headers=auth)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["rejected"][0]["errors"][0]["field"] == field


def test_low_a_missing_dashboard_asset_is_a_404_without_a_traceback(web, caplog):
    client, _ = web  # not signed in: the assets and the libraries' scripts are public
    caplog.set_level(logging.DEBUG)
    for path in (
        "/assets/nope.js",
        "/_dash-component-suites/dash/nope.js",
        "/_dash-component-suites/nopkg/x.js",
    ):
        caplog.clear()
        r = client.get(path, follow_redirects=False)
        server = [rec for rec in caplog.records if not rec.name.startswith(("httpx", "httpcore"))]
        assert r.status_code == 404, (path, r.status_code)
        assert not [rec for rec in server if rec.exc_info], path
        assert sum(len(rec.getMessage()) for rec in server) < 200, [
            rec.getMessage()[:80] for rec in server
        ]
