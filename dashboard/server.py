"""The web process: one FastAPI app with the read API and gateway at ``/api`` and Dash at ``/``.

Dash 4 runs natively on FastAPI (``Dash(server=fastapi_app)``), so uvicorn serves one ASGI
app: no WSGI bridge, one port, one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from dash.exceptions import DependencyException, PreventUpdate
from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard import api, login
from dashboard.auth import access_configured
from dashboard.service import Service
from dvcflow import __version__
from dvcflow.settings import Settings, get_settings

log = logging.getLogger("dvcflow.web")

# plotly's JSON encoder, which writes every Dash layout and callback answer, looks these up in
# ``sys.modules`` without importing them (``get_module(name, should_load=False)``). While
# another thread is still importing one (the cache warming's or a page's first mining run
# imports pandas), it gets the half-initialised module and fails ("partially initialized
# module 'pandas' has no attribute 'NaT'"): a 500, which Dash's renderer shows as "Error
# loading layout". Imported whole before the first request, they are never half there.
PLOTLY_LOOKS_UP = ("numpy", "pandas", "PIL.Image")


def _import_what_plotly_looks_up() -> None:
    for name in PLOTLY_LOOKS_UP:
        with contextlib.suppress(ImportError):  # not installed: plotly does without
            importlib.import_module(name)


class LogDashErrors:
    """Log, with its traceback, any exception of a Dash route (``/``, ``/_dash-*``).

    Dash's FastAPI backend answers those with a bare 500 and logs nothing
    (``DashMiddleware._handle_error``). Added before Dash's own middleware, this one sits inside
    it: it sees the exception first, logs it and re-raises it for Dash to answer as before.
    A request for a script Dash does not serve (``DependencyException``: an unknown library
    or file under ``/_dash-component-suites/``) is not a fault but a 404: anyone may ask,
    signed in or not (the suites are the public library code the sign-in page needs), so it
    gets one short debug line, never a traceback per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/" or path.startswith("/_dash-")):
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except PreventUpdate:  # a callback with nothing to update: Dash answers 204
            raise
        except DependencyException:
            log.debug("no such dashboard script: %s", path[:200])
            await PlainTextResponse("not found", status_code=404)(scope, receive, send)
        except Exception:
            log.exception("dashboard request %s %s failed", scope["method"], path)
            raise


def _gateway_router(settings: Settings) -> APIRouter | None:
    """The HTTP ingest gateway (POST /v1/events, /metrics), configured for ``settings``.

    Its own ``/v1/stream/health`` is left out: the read API serves the same figures behind a
    read token.
    """
    try:
        from ingest import gateway
    except ImportError:
        return None
    gateway.configure(settings)
    router = APIRouter()
    router.routes.extend(
        r for r in gateway.router.routes if getattr(r, "path", "") != "/v1/stream/health"
    )
    return router


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    stop = threading.Event()
    if app.state.settings.web_warm_cache:
        service = app.state.service.for_dashboard()
        threading.Thread(target=service.warm, args=(stop,), name="warm", daemon=True).start()
    yield
    stop.set()
    try:
        from ingest import gateway
    except ImportError:
        return
    await asyncio.to_thread(gateway.shutdown)  # flush events the gateway still holds


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole web process as an ASGI app (``uvicorn --factory dashboard.server:create_app``)."""
    settings = settings or get_settings()
    _import_what_plotly_looks_up()
    app = FastAPI(
        title="dvcflow read API",
        version=__version__,
        description=(
            "Process-mining figures of Vietnamese administrative procedures. Every figure "
            "endpoint takes the filters of `dvcflow analyze`. Errors are RFC 9457 problem "
            "details. Send a read token as `Authorization: Bearer <token>`."
        ),
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.service = Service(settings)
    api.install_error_handlers(app)
    app.include_router(api.router, prefix="/api")
    gateway = _gateway_router(settings)
    if gateway is not None:
        app.include_router(gateway, prefix="/api")
    app.include_router(api.not_found_router(), prefix="/api")

    from dashboard.app import create_dash

    app.add_middleware(LogDashErrors)  # before create_dash adds Dash's: inside it
    app.include_router(login.router)
    create_dash(app, app.state.service.for_dashboard())
    login.install(app)
    if not access_configured(settings):
        log.warning("no DVCFLOW_API_KEYS_FILE: the API and dashboard are open (local mode)")
    return app


def run(settings: Settings | None = None) -> None:
    """Serve the web process until interrupted (``dvcflow serve``, ``dvcflow demo``)."""
    settings = settings or get_settings()
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
