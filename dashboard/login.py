"""Signing in to the dashboard with a read token, once keys exist.

The token is checked once at sign-in and kept on the server; the browser holds only a
random session id (HttpOnly, SameSite=Strict, ``Secure`` behind TLS, expiring after
``web_session_hours``), so a stolen cookie is not a reusable API token and signing out ends
it. Sign-in and sign-out are POST forms carrying a CSRF token (double submit: the same
random value in a SameSite=Strict cookie and in the form). Every dashboard request must
carry a live session (the pages then narrow their filters to its token's scope, as the API
does); the read API keeps using ``Authorization: Bearer``. With no key configured, nothing
here applies. Every answer carries the security headers (``SECURITY_HEADERS``).
"""

from __future__ import annotations

import hmac
import html
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dashboard import auth
from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings

OPEN_PREFIXES = ("/api", "/login", "/logout", "/assets/", "/_dash-component-suites/", "/_favicon")
CSRF_COOKIE = "dvcflow_csrf"

# Dash renders with inline scripts and styles and evaluates callback code: 'unsafe-inline'
# and 'unsafe-eval' are what it needs; everything still comes from this origin only, and no
# other site may frame the dashboard (clickjacking).
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CSP,
}
# Swagger UI (/api/docs) loads its script and style from a CDN: no CSP there (no data).
_NO_CSP = ("/api/docs",)

PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dvcflow — đăng nhập / sign in</title><link rel="stylesheet" href="/assets/style.css">
</head><body><main><section class="panel" style="max-width:520px;margin:40px auto">
<h2>dvcflow</h2><p>Nhập mã truy cập để xem bảng điều khiển.<br>
Enter your access token to open the dashboard.</p>{error}
<form method="post" action="/login"><input type="hidden" name="csrf" value="{csrf}">
<input type="password" name="token" id="token" autocomplete="off" style="width:100%" required>
<p><button type="submit" id="sign-in">Đăng nhập / Sign in</button></p></form>
</section></main></body></html>"""

LOGOUT_PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>dvcflow — đăng xuất / sign out</title><link rel="stylesheet" href="/assets/style.css">
</head><body><main><section class="panel" style="max-width:520px;margin:40px auto">
<form method="post" action="/logout"><input type="hidden" name="csrf" value="{csrf}">
<button type="submit" id="sign-out">Đăng xuất / Sign out</button></form>
</section></main></body></html>"""


@dataclass
class _Session:
    token: str
    expires: float


class Sessions:
    """Signed-in dashboard sessions, in this process's memory (a restart signs everyone out).
    The token is re-checked against the keys file on every request, so removing a key ends
    its sessions at once."""

    def __init__(self) -> None:
        self._items: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def open(self, token: str, hours: float) -> str:
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            self._items = {k: s for k, s in self._items.items() if s.expires > now}
            self._items[sid] = _Session(token, now + hours * 3600)
        return sid

    def token(self, sid: str | None) -> str | None:
        if not sid:
            return None
        session = self._items.get(sid)
        if session is None or session.expires <= time.time():
            return None
        return session.token

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._items.pop(sid or "", None)


sessions = Sessions()
router = APIRouter(include_in_schema=False)


def session_principal(settings: Settings, sid: str | None, client: str | None = None):
    """The principal of a session cookie (None in open local mode; Unauthorized when the
    session is unknown or over)."""
    return auth.authenticate(settings, sessions.token(sid), client)


def _csrf_page(
    request: Request, template: str, status: int = 200, error: str = ""
) -> HTMLResponse:
    """The form with the browser's CSRF token, made once per browser: a second page load
    (a favicon or asset redirected here while the form is open) must not void the form."""
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = HTMLResponse(template.format(error=error, csrf=csrf), status_code=status)
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/")
    return response


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    form = parse_qs(body[:16_384].decode(errors="replace"))
    return {k: v[0] for k, v in form.items() if v}


def _csrf_ok(request: Request, form: dict[str, str]) -> bool:
    cookie, sent = request.cookies.get(CSRF_COOKIE, ""), form.get("csrf", "")
    return bool(cookie) and hmac.compare_digest(cookie, sent)


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return _csrf_page(request, PAGE)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    if not _csrf_ok(request, form):
        error = '<p class="notice notice-err">the form expired: sign in again.</p>'
        return _csrf_page(request, PAGE, 403, error)
    token = form.get("token", "").strip()
    settings = request.app.state.settings
    try:
        auth.authenticate(settings, token, request.client.host if request.client else None)
    except DvcflowError as exc:
        status = 429 if exc.__class__.__name__ == "TooManyFailures" else 401
        error = f'<p class="notice notice-err">{html.escape(str(exc))}</p>'
        return _csrf_page(request, PAGE, status, error)
    hours = settings.web_session_hours
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        auth.COOKIE,
        sessions.open(token, hours),
        max_age=int(hours * 3600),
        httponly=True,
        samesite="strict",
        secure=settings.web_secure_cookies,
        path="/",
    )
    return response


@router.get("/logout")
def logout_page(request: Request) -> HTMLResponse:
    """A sign-out button: signing out changes state, so it is a POST with a CSRF token."""
    return _csrf_page(request, LOGOUT_PAGE)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await _form(request)
    if not _csrf_ok(request, form):
        return _csrf_page(request, LOGOUT_PAGE, 403)
    sessions.close(request.cookies.get(auth.COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.COOKIE, path="/")
    return response


def install(app: FastAPI) -> None:
    """Dashboard requests without a live session go to /login (or get 401 for callbacks);
    every answer gets the security headers."""

    @app.middleware("http")
    async def require_session(request: Request, call_next):
        path = request.url.path
        if path.startswith(OPEN_PREFIXES) or not auth.access_configured(app.state.settings):
            return await call_next(request)
        try:
            session_principal(app.state.settings, request.cookies.get(auth.COOKIE))
        except DvcflowError as exc:
            if request.method == "GET" and not path.startswith("/_dash-"):
                return RedirectResponse("/login", status_code=303)
            return JSONResponse({"detail": str(exc)}, status_code=401)
        return await call_next(request)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            if name == "Content-Security-Policy" and request.url.path.startswith(_NO_CSP):
                continue
            response.headers.setdefault(name, value)
        if app.state.settings.web_secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
