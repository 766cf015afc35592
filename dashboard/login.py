"""Signing in to the dashboard with a read token, once keys exist.

The token goes into an HttpOnly, SameSite=Strict cookie; every dashboard request must carry a
token that reads (the pages then narrow their filters to its scope, as the API does). The read
API keeps using ``Authorization: Bearer``. With no key configured, nothing here applies.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dashboard import auth
from dvcflow.errors import DvcflowError

OPEN_PREFIXES = ("/api", "/login", "/logout", "/assets/", "/_dash-component-suites/", "/_favicon")

PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dvcflow — đăng nhập / sign in</title><link rel="stylesheet" href="/assets/style.css">
</head><body><main><section class="panel" style="max-width:520px;margin:40px auto">
<h2>dvcflow</h2><p>Nhập mã truy cập để xem bảng điều khiển.<br>
Enter your access token to open the dashboard.</p>{error}
<form method="post" action="/login"><input type="password" name="token" id="token"
autocomplete="off" style="width:100%" required>
<p><button type="submit" id="sign-in">Đăng nhập / Sign in</button></p></form>
</section></main></body></html>"""

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page() -> HTMLResponse:
    return HTMLResponse(PAGE.format(error=""))


@router.post("/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode(errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    try:
        auth.authenticate(request.app.state.settings, token)
    except DvcflowError as exc:
        error = f'<p class="notice notice-err">{html.escape(str(exc))}</p>'
        return HTMLResponse(PAGE.format(error=error), status_code=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(auth.COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


@router.get("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.COOKIE, path="/")
    return response


def install(app: FastAPI) -> None:
    """Dashboard requests without a valid token go to /login (or get 401 for callbacks)."""

    @app.middleware("http")
    async def require_token(request: Request, call_next):
        path = request.url.path
        if path.startswith(OPEN_PREFIXES) or not auth.access_configured(app.state.settings):
            return await call_next(request)
        try:
            auth.authenticate(app.state.settings, request.cookies.get(auth.COOKIE))
        except DvcflowError as exc:
            if request.method == "GET" and not path.startswith("/_dash-"):
                return RedirectResponse("/login", status_code=303)
            return JSONResponse({"detail": str(exc)}, status_code=401)
        return await call_next(request)
