"""The read API under ``/api/v1``: what ``mining`` computes, for integrators and the dashboard.

Every endpoint takes the filters of ``dvcflow analyze`` as query parameters, checks the read
token's scope, and answers typed JSON; errors are RFC 9457 problem details whose ``detail`` is
the one-sentence message of the ``DvcflowError`` behind them.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from dashboard import auth
from dashboard.models import (
    CasePage,
    CaseTimeline,
    Figure,
    Filters,
    MapEdge,
    MapNode,
    Problem,
    ProcedureInfo,
    ProcessMap,
    Province,
    Status,
    StreamHealth,
    WhatIfRequest,
)
from dashboard.service import NotAvailable, NotFound, Service
from dvcflow.access import TooManyFailures
from dvcflow.errors import DvcflowError, FilterError
from mining.filters import CHANNELS, LogFilter
from mining.reform.whatif import ScenarioError
from mining.unit_waits import UnitWaits
from mining.warning.results import Warnings

log = logging.getLogger("dvcflow.web")
router = APIRouter(prefix="/v1", tags=["read"])
_bearer = HTTPBearer(auto_error=False, description="a read token (role official/reform_team)")

_PROBLEM_CONTENT = {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": title, "content": _PROBLEM_CONTENT}
    for status, title in (
        (400, "a setting or input the server cannot use"),
        (401, "no or unknown token"),
        (403, "outside the token's scope"),
        (404, "no such dossier or endpoint"),
        (422, "invalid filters or body, or no dossier matches them"),
        (429, "too many unknown tokens from this address lately"),
        (500, "a bug: the server log has the details"),
        (501, "the figure's computing function is not installed"),
    )
}

Code = Annotated[str, Query(max_length=64, pattern=r"^[0-9A-Za-z._\-]+$")]


def service(request: Request) -> Service:
    return request.app.state.service


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Any | None:
    token = credentials.credentials if credentials else None
    client = request.client.host if request.client else None
    return auth.authenticate(request.app.state.settings, token, client)


def filters(
    who: Annotated[Any | None, Depends(principal)],
    procedure: Code | None = None,
    province: Code | None = None,
    commune: Code | None = None,
    org_unit: Code | None = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    channel: Annotated[Literal[CHANNELS] | None, Query()] = None,  # type: ignore[valid-type]
) -> LogFilter:
    """The shared filters, narrowed to what the token may read."""
    flt = LogFilter(procedure, province, commune, org_unit, date_from, date_to, channel)
    return auth.scoped(flt, who)


Svc = Annotated[Service, Depends(service)]
Flt = Annotated[LogFilter, Depends(filters)]


def echo(flt: LogFilter) -> Filters:
    return Filters(**{k: v for k, v in flt.key()})


def figure(svc: Service, flt: LogFilter, data: Any) -> Figure:
    return Figure(store_version=svc.version(), filters=echo(flt), data=data)


@router.get("/health", include_in_schema=False)
def health() -> dict[str, str]:
    """Liveness for container health checks: no token, no data, only that the process serves."""
    return {"status": "ok"}


@router.get("/procedures", response_model=list[ProcedureInfo], responses=PROBLEMS)
def procedures(svc: Svc, who: Annotated[Any | None, Depends(principal)]) -> Any:
    """Procedures in the store, with catalog names (vi, en), dossier and event counts: for
    a token scoped to provinces or communes, counted over the dossiers of its scope."""
    return svc.procedures(auth.procedure_scope(who))


@router.get("/units", response_model=list[Province], responses=PROBLEMS)
def units(svc: Svc, who: Annotated[Any | None, Depends(principal)]) -> Any:
    """The province → commune tree with dossier counts (only units the token may read)."""
    out = []
    for prov in svc.units():
        communes = [
            c
            for c in prov["communes"]
            if auth.may_read_unit(who, prov["province_code"], c["commune_code"])
        ]
        if communes or auth.may_read_unit(who, prov["province_code"], None):
            out.append({**prov, "communes": communes})
    return out


@router.get("/process-map", response_model=ProcessMap, responses=PROBLEMS)
def process_map(svc: Svc, flt: Flt) -> ProcessMap:
    """Directly-follows graph: nodes with frequencies, edges with frequency and time."""
    nodes, edges = process_map_parts(svc.section(flt, "dfg"))
    return ProcessMap(store_version=svc.version(), filters=echo(flt), nodes=nodes, edges=edges)


def _analysis_endpoint(path: str, key: str, summary: str) -> None:
    def endpoint(svc: Svc, flt: Flt) -> Figure:
        return figure(svc, flt, svc.section(flt, key))

    endpoint.__name__ = key
    endpoint.__doc__ = summary
    router.get(path, response_model=Figure, responses=PROBLEMS, summary=summary)(endpoint)


_analysis_endpoint("/bottlenecks", "bottlenecks", "Waiting and service time per step and handoff")
_analysis_endpoint("/deadlines", "sla", "On time, early, late; open dossiers overdue or at risk")
_analysis_endpoint("/rework", "rework", "Repeated steps and supplement loops")
_analysis_endpoint("/variants", "variants", "The most frequent paths")
_analysis_endpoint("/conformance", "conformance", "Fitness against the catalog reference model")


@router.get("/reform/readiness", response_model=Figure, responses=PROBLEMS)
def readiness(svc: Svc, flt: Flt) -> Figure:
    """Full-online readiness and the steps that stopped the other dossiers."""
    return figure(svc, flt, svc.reform("readiness", flt))


Who = Annotated[Any | None, Depends(principal)]
_BY = {"unit": "unit", "province": "province_code", "commune": "commune_code"}


def reform_view(flt: LogFilter, who: Any | None, by: str | None = None) -> tuple[LogFilter, dict]:
    """The log a reform figure reads and its options: a province (commune) filter is the
    focus, set against the other units when the token may read them all."""
    from mining.reform.source import peer_view

    peers, focus, default_by = peer_view(flt, auth.may_read_unit(who, None, None))
    focused = tuple(sorted(focus.items())) if focus else None
    return peers, {"by": _BY[by] if by else default_by, "focus": focused}


@router.get("/reform/candidates", response_model=Figure, responses=PROBLEMS)
def candidates(
    svc: Svc, flt: Flt, who: Who, by: Literal["unit", "province", "commune"] | None = None
) -> Figure:
    """Steps, waits and handoffs to cut, ranked per unit by total working days saved (days per
    affected dossier × dossiers), with their evidence; required steps are never cut."""
    from mining.reform.source import candidate_options

    peers, options = reform_view(flt, who, by)
    options = candidate_options(options["by"], dict(options["focus"] or ()))
    return figure(svc, flt, svc.reform("candidates", peers, **options))


@router.post("/reform/whatif", response_model=Figure, responses=PROBLEMS)
def whatif(svc: Svc, flt: Flt, who: Who, body: WhatIfRequest) -> Figure:
    """The log replayed with the changes (remove, automate, data reuse, cut a wait to a target
    or to the other units' median), per unit: cycle time in working days, on-time rate,
    full-online share and visits, baseline beside scenario. Removing the step that produces
    or returns the result is refused (422)."""
    from mining.reform.whatif import Change

    peers, options = reform_view(flt, who, body.by)
    changes = tuple(Change(**c.model_dump()) for c in body.changes)
    if body.remove:
        options["remove"] = body.remove
    if body.automate:
        options["automate"] = body.automate
    if changes:
        options["changes"] = changes
    return figure(svc, flt, svc.reform("whatif", peers, **options))


@router.get("/reform/impact", response_model=Figure, responses=PROBLEMS)
def impact(svc: Svc, flt: Flt, reform_date: Annotated[date, Query(alias="date")]) -> Figure:
    """Before versus after a reform date, with confidence intervals."""
    return figure(svc, flt, svc.reform("impact", flt, when=reform_date))


@router.get("/service-index", response_model=Figure, responses=PROBLEMS)
def service_index(
    svc: Svc,
    flt: Flt,
    by: Literal["procedure", "org-unit", "province", "commune"] = "procedure",
) -> Figure:
    """The national service index (Decision 766/QĐ-TTg) per procedure, agency or unit."""
    return figure(svc, flt, svc.reform("service_index", flt, by=by))


class UnitWaitsFigure(BaseModel):
    store_version: str
    filters: Filters
    data: UnitWaits


@router.get("/unit-waits", response_model=UnitWaitsFigure, responses=PROBLEMS)
def unit_waits(
    svc: Svc,
    flt: Flt,
    step: Code,
    after: Code | None = None,
) -> UnitWaitsFigure:
    """The wait before ``step`` (after ``after``: one handoff) per commune of ``province`` (per
    province without one), in working days, with the province's and the nation's medians:
    the numbers of the dashboard's "wait by unit" chart.

    The rows are the dossiers of the filters as the token's scope narrows them (a commune
    key sees its commune's row only, never its neighbours' or another province's). Two
    numbers come from beyond the scope: the median wait of the province and of the nation
    (the procedure's dossiers with the same dates and channel), as references."""
    if not flt.procedure:
        raise FilterError("the wait by unit needs one procedure.", "procedure")
    data = svc.unit_waits(flt, step, after)
    return UnitWaitsFigure(store_version=svc.version(), filters=echo(flt), data=data)


@router.get("/cases", response_model=CasePage, responses=PROBLEMS)
def cases(
    svc: Svc,
    flt: Flt,
    activity: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    sort: Annotated[str, Query(max_length=64, pattern=r"^[a-z_]+$")] = "first_ts",
    descending: bool = False,
) -> CasePage:
    """Dossiers, paged; ``activity`` keeps those that went through that step."""
    page = svc.cases(
        flt, activity=activity, offset=offset, limit=limit, sort=sort, descending=descending
    )
    return CasePage(store_version=svc.version(), filters=echo(flt), **page)


@router.get("/cases/{case_id}", response_model=CaseTimeline, responses=PROBLEMS)
def case(
    svc: Svc,
    who: Annotated[Any | None, Depends(principal)],
    case_id: Annotated[str, ...],
) -> CaseTimeline:
    """One dossier's timeline: its events in process order (timestamp, then the source's
    order, as mining orders them) and its due date with the working days used."""
    if len(case_id) > 128:
        raise NotFound("a dossier code has at most 128 characters.")
    owner = svc.case_owner(case_id)
    auth.check_dossier(who, case_id, owner)
    found = svc.case(case_id)
    return CaseTimeline(
        case_id=case_id,
        procedure_code=found.procedure_code,
        province_code=owner.province_code,
        commune_code=owner.commune_code,
        events=found.events,
        deadline=found.deadline,
    )


@router.get("/warnings", response_model=Warnings, responses=PROBLEMS)
def warnings(
    svc: Svc,
    flt: Flt,
    as_of: Annotated[date | None, Query(description="replay the store as of this day")] = None,
    top: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Warnings:
    """Early warning: a procedure's open dossiers ranked by the probability that they finish
    late, with the expected finish, where each waits (units by name), the reasons and the
    quality card. Answered by the last trained model (``model_version``,
    ``model_trained_at``) while a newer one trains in the background (``retraining``)."""
    return svc.warnings(flt, as_of=as_of, top=top)


@router.get("/status", response_model=Status, responses=PROBLEMS)
def status(svc: Svc, who: Annotated[Any | None, Depends(principal)]) -> Status:
    """The store version answered for, and whether the background warming of the dashboard's
    first views (overview, explorer and reform pages per procedure and busiest provinces) is
    done for it: until then a first view may wait for its mining run."""
    return Status(**svc.status())


@router.get("/stream/health", response_model=StreamHealth, responses=PROBLEMS)
def stream_health(svc: Svc, who: Annotated[Any | None, Depends(principal)]) -> StreamHealth:
    """The live stream: events/s in and out, consumer lag, dead letters, last write."""
    try:
        return StreamHealth(available=True, data=svc.stream_health())
    except NotAvailable:
        return StreamHealth(available=False)


def process_map_parts(dfg: Any) -> tuple[list[MapNode], list[MapEdge]]:
    """Mining's DFG (edges with frequency and waiting statistics) as nodes and edges."""
    raw_edges = dfg.get("edges", []) if isinstance(dfg, dict) else list(dfg)
    edges = [MapEdge(**_edge_fields(e)) for e in raw_edges]
    raw_nodes = dfg.get("nodes", dfg.get("activities")) if isinstance(dfg, dict) else None
    if isinstance(raw_nodes, dict):
        nodes = [MapNode(id=str(k), frequency=int(v)) for k, v in raw_nodes.items()]
    elif raw_nodes:
        nodes = [
            MapNode(id=str(n.get("id", n.get("activity"))), frequency=int(n.get("frequency", 0)))
            for n in raw_nodes
        ]
    else:
        counts: dict[str, int] = {}
        for e in edges:
            counts[e.target] = counts.get(e.target, 0) + e.frequency
            counts.setdefault(e.source, 0)
        nodes = [MapNode(id=k, frequency=v) for k, v in counts.items()]
    return nodes, edges


def _edge_fields(edge: dict[str, Any]) -> dict[str, Any]:
    def hours(*names: str) -> float | None:
        for name in names:
            if edge.get(name) is not None:
                value = float(edge[name])
                return value / 3600 if name.endswith(("_s", "_seconds")) else value
        return None

    return {
        "source": str(edge.get("source", edge.get("from"))),
        "target": str(edge.get("target", edge.get("to"))),
        "frequency": int(edge.get("frequency", edge.get("count", 0))),
        "mean_hours": hours("mean_hours", "wait_mean_hours", "mean_s", "wait_mean_s"),
        "median_hours": hours("median_hours", "wait_median_hours", "median_s", "wait_median_s"),
        "p90_hours": hours("p90_hours", "wait_p90_hours", "p90_s", "wait_p90_s"),
    }


# --- errors as problem details ---------------------------------------------------------
_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (auth.Unauthorized, 401, "Unauthorized"),
    (auth.Forbidden, 403, "Forbidden"),
    (TooManyFailures, 429, "Too many requests"),
    (NotFound, 404, "Not found"),
    (FilterError, 422, "Invalid filter"),
    (ScenarioError, 422, "Invalid what-if"),
    (NotAvailable, 501, "Not available"),
    (DvcflowError, 400, "Bad request"),
)


# The query parameter of each ``LogFilter`` field whose name differs (``filters`` above).
QUERY_NAMES = {"date_from": "from", "date_to": "to"}


def detail_of(exc: Exception) -> str:
    """The problem's sentence: a filter error names the query parameter (``from=…``), and
    no message carries a server path (mining's never do)."""
    return exc.worded(QUERY_NAMES, sep="=") if isinstance(exc, FilterError) else str(exc)


def problem(status: int, title: str, detail: str, instance: str | None = None) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, instance=instance)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Every error of the API answers as problem details with one clear sentence."""

    async def on_dvcflow(request: Request, exc: Exception) -> JSONResponse:
        for kind, status, title in _STATUS:
            if isinstance(exc, kind):
                answer = problem(status, title, detail_of(exc), request.url.path)
                if isinstance(exc, TooManyFailures):
                    answer.headers["Retry-After"] = str(exc.retry_after)
                return answer
        return problem(400, "Bad request", detail_of(exc), request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('query', 'body'))}: "
            f"{e.get('msg')}"
            for e in errors[:5]
        ]
        return problem(422, "Invalid request", "; ".join(parts) or str(exc), request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        return problem(status, "Error", str(detail), request.url.path)

    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("error on %s", request.url.path)
        detail = f"internal error ({type(exc).__name__}); the server log has the details."
        return problem(500, "Internal error", detail, request.url.path)

    app.add_exception_handler(DvcflowError, on_dvcflow)
    app.add_exception_handler(Exception, on_bug)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)


def not_found_router() -> APIRouter:
    """Unknown paths under /api answer 404 (the Dash catch-all would answer its page)."""
    tail = APIRouter(include_in_schema=False)

    @tail.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unknown(path: str) -> JSONResponse:
        return problem(404, "Not found", f"/api/{path} is not an endpoint: see /api/docs.")

    return tail
