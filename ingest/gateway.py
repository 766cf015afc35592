"""The HTTP gateway: ``POST /v1/events`` into Kafka, for systems that cannot speak Kafka.

It answers 202 only once the broker acknowledged every accepted event, so a client that
got 202 may forget the events; on 503 it retries (duplicate ``event_id``s are dropped on
read). Invalid events get a per-event 422 while valid ones in the same request go through.
A key may write only for its provinces, communes and org units: one event outside that
scope refuses the whole request (403, nothing sent).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from confluent_kafka import KafkaException
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from dvcflow.access import (
    WRITE_ROLES,
    Owner,
    Principal,
    TooManyFailures,
    access_configured,
    authenticate_client,
)
from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings, SettingsError, get_settings
from ingest.health import HealthFile, RateMeter, read_stream_health
from ingest.identity import Recent, identities
from ingest.metrics import CONTENT_TYPE, GatewayMetrics
from ingest.payload import NDJSON_TYPES, Decoded, decode_events
from ingest.producer import EventProducer
from ingest.pseudonym import Pseudonymizer
from ingest.schema import Event, rows_to_table, to_row
from ingest.store import EventStore
from ingest.store_index import StoreIndex


class Gateway:
    """Per-process gateway state: settings, the one Kafka producer, counters."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.metrics = GatewayMetrics(settings.data_dir)
        self.health = HealthFile(settings.data_dir, "gateway")
        self.rate = RateMeter()
        self.accepted = 0
        self.rejected = 0
        self._producer: EventProducer | None = None
        self._pseudonymizer: Pseudonymizer | None = None
        self.store = EventStore(settings.data_dir)
        self.index = StoreIndex(self.store)  # owners and identities the store holds
        # what this process sent and the store may not hold yet (events on their way)
        self.owners = Recent()  # case_id -> Owner
        self.sent = Recent()  # identity hash -> content digest (``ingest.identity``)

    # --- the checks before anything is produced ------------------------------------------
    def applicant_ref(self, applicant_id: str | None) -> str | None:
        """The pseudonym the store will hold; raw ids never leave the gateway."""
        if not applicant_id:
            return None
        if self._pseudonymizer is None:
            try:
                self._pseudonymizer = Pseudonymizer(self.settings.require_pseudonym_key())
            except SettingsError as exc:
                raise HTTPException(503, str(exc)) from None
        return self._pseudonymizer.ref(applicant_id)

    def ref(self, applicant_id: str | None) -> str | None:  # a pseudonymizer for ``to_row``
        return self.applicant_ref(applicant_id)

    def pseudonymise(self, raw: dict[str, Any]) -> dict[str, Any]:
        if not raw.get("applicant_id"):
            return raw
        return {**raw, "applicant_id": self.applicant_ref(raw["applicant_id"])}

    def screen(
        self, principal: Principal, decoded: Decoded
    ) -> tuple[tuple[int, dict, int] | None, Identities]:
        """Why the request's valid events must not go at all, or None: one outside the key's
        scope or for a dossier another scope owns (403), or an event id this key already
        used for other content (409); and the valid events' identities and digests. Nothing
        of a refused request is produced."""
        limit = self.settings.gateway_max_errors
        valid = decoded.valid
        self.index.refresh()  # the store files written since the last request
        forbidden = [
            _entry(i, e.event_id, _scope_error(e))
            for i, _raw, e in valid
            if not principal.may_write(e.province_code, e.commune_code, e.org_unit)
        ]
        if not forbidden:
            owners = self.find_owners({e.case_id for _i, _raw, e in valid})
            forbidden = [
                _entry(i, e.event_id, _owner_error(owners[e.case_id]))
                for i, _raw, e in valid
                if e.case_id in owners and not principal.may_write_to(owners[e.case_id])
            ]
        if forbidden:
            detail = f"key '{principal.name}' may not write these events"
            return (403, {"detail": detail, **_capped(forbidden, limit)}, len(forbidden)), ([], [])
        ids = self.identities(principal, valid)
        conflicts = self.conflicts(valid, ids)
        if conflicts:
            detail = "event ids already sent with other content; nothing was sent"
            doc = {"detail": detail, **_capped(conflicts, limit)}
            doc["conflicts"] = doc.pop("forbidden")
            if "forbidden_count" in doc:
                doc["conflicts_count"] = doc.pop("forbidden_count")
            return (409, doc, len(conflicts)), ids
        return None, ids

    def find_owners(self, case_ids: set[str]) -> dict[str, Owner]:
        known = {c: self.owners.get(c) for c in case_ids}
        owners = {c: o for c, o in known.items() if o is not None}
        missing = case_ids - owners.keys()
        if missing:
            found = self.index.owners(missing, refresh=False)
            for case_id, owner in found.items():
                self.owners.put(case_id, owner)
            owners.update(found)
        return owners

    def identities(self, principal: Principal, valid: list) -> Identities:
        """The identity hash and content digest of each valid event, computed on the stored
        form the sink will write (applicant id pseudonymised, the key as source)."""
        now = datetime.now(UTC)
        return identities(
            rows_to_table(to_row(e, self, now, principal.source) for _i, _r, e in valid)
        )

    def conflicts(self, valid: list, ids: Identities) -> list[dict[str, Any]]:
        """Events whose (source, event_id) is taken by other content: earlier in this
        request, sent lately by this process, or in the store (whatever dossier holds it)."""
        keys, digests = ids
        stored = self.index.stored_digests(keys, refresh=False)  # screen caught up
        first: dict[int, int] = {}
        out = []
        for (i, _raw, e), key, digest in zip(valid, keys, digests, strict=True):
            earlier = first.setdefault(key, digest)
            sent = self.sent.get(key)
            known = stored.get(key)
            if (
                earlier != digest
                or (sent is not None and sent != digest)
                or (known and digest not in known)
            ):
                out.append(_entry(i, e.event_id, _conflict_error()))
        return out

    def remember(self, decoded: Decoded, ids: Identities) -> None:
        """After Kafka took them: the owners of new dossiers and the identities sent."""
        firsts: dict[str, Event] = {}
        for key, digest in zip(*ids, strict=True):
            self.sent.put(key, digest)
        for _i, _raw, e in decoded.valid:
            if self.owners.get(e.case_id) is None:
                held = firsts.get(e.case_id)
                if held is None or _order(e) < _order(held):
                    firsts[e.case_id] = e
        for case_id, e in firsts.items():
            self.owners.put(case_id, Owner(e.province_code, e.commune_code, e.org_unit))

    def producer(self) -> EventProducer:
        if self._producer is None:
            timeout_ms = int(self.settings.gateway_ack_timeout_seconds * 1000)
            self._producer = EventProducer(
                self.settings,
                overrides={"message.timeout.ms": timeout_ms, "linger.ms": 5},
            )
        return self._producer

    def close(self) -> None:
        self.index.close()
        if self._producer is not None:
            self._producer.close(timeout=self.settings.gateway_ack_timeout_seconds)
            self._producer = None

    def count(self, accepted: int, rejected: int) -> None:
        self.accepted += accepted
        self.rejected += rejected
        if self.health.due():
            self.health.write(
                {
                    "accepted": self.accepted,
                    "rejected": self.rejected,
                    "in_per_s": round(self.rate.rate(self.accepted), 1),
                }
            )


Identities = tuple[list[int], list[int]]  # per valid event: identity hash, content digest


def _order(event: Event) -> tuple:
    """Dossier order of events sent together (``ingest.owner.OWNER_ORDER``)."""
    return (event.timestamp, event.lifecycle.value != "start", event.event_id)


_gateway: Gateway | None = None


def configure(settings: Settings | None = None) -> Gateway:
    """(Re)build the process's gateway state; the web process may call it at start-up."""
    global _gateway
    if _gateway is not None:
        _gateway.close()
    _gateway = Gateway(settings or get_settings())
    return _gateway


def get_gateway() -> Gateway:
    return _gateway or configure()


def shutdown() -> None:
    """Flush and close the producer (call on application shutdown)."""
    if _gateway is not None:
        _gateway.close()


# --- authentication ----------------------------------------------------------------------
bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <token>`")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key")


def require_key(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    api_key: str | None = Depends(api_key_header),
    gateway: Gateway = Depends(get_gateway),
) -> Principal:
    token = credentials.credentials if credentials else api_key
    client = request.client.host if request.client else None
    try:
        principal = authenticate_client(token, client, gateway.settings) if token else None
    except TooManyFailures as exc:
        gateway.metrics.requests.labels("429").inc()
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    if principal is None:
        gateway.metrics.requests.labels("401").inc()
        raise HTTPException(
            401,
            "missing or unknown API key (send `Authorization: Bearer <token>` or `X-API-Key`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


# --- response models (for the OpenAPI docs) ----------------------------------------------
class EventErrors(BaseModel):
    index: int = Field(description="position of the event in the request (0-based)")
    event_id: str | None = None
    errors: list[dict[str, str]] = Field(description="[{field, reason}]")


class Accepted(BaseModel):
    accepted: int = Field(description="events acknowledged by Kafka")
    accepted_indices: list[int]
    rejected: list[EventErrors] = Field(default_factory=list)

    model_config = {
        "json_schema_extra": {"examples": [{"accepted": 2, "accepted_indices": [0, 1]}]}
    }


class Forbidden(BaseModel):
    detail: str
    forbidden: list[EventErrors]


class Unavailable(BaseModel):
    detail: str
    acknowledged: int = Field(description="events the broker did take; resending is safe")


class Detail(BaseModel):
    detail: str


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The model's JSON schema with its ``$defs`` inlined, so it can sit inside any OpenAPI."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline_refs(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


_EVENT_SCHEMA = Event.model_json_schema()
_EVENT_SCHEMA = _inline_refs(_EVENT_SCHEMA, _EVENT_SCHEMA.get("$defs", {}))
_EXAMPLE = Event.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]
_CLOUDEVENT = {
    "specversion": "1.0",
    "id": "b6f1c1a2-0001",
    "source": "urn:dvc:hcm:one-stop",
    "type": "vn.gov.dvc.dossier.event",
    "datacontenttype": "application/json",
    "data": _EXAMPLE,
}
_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One event, a JSON array of events, NDJSON, or CloudEvents 1.0 "
        "structured JSON (the event is its `data`).",
        "content": {
            "application/json": {
                "schema": {"oneOf": [_EVENT_SCHEMA, {"type": "array", "items": _EVENT_SCHEMA}]},
                "examples": {
                    "one": {"summary": "one event", "value": _EXAMPLE},
                    "batch": {
                        "summary": "a batch",
                        "value": [_EXAMPLE, {**_EXAMPLE, "event_id": "HCM-…-4"}],
                    },
                },
            },
            "application/cloudevents+json": {
                "schema": {"type": "object"},
                "examples": {"cloudevent": {"summary": "CloudEvents 1.0", "value": _CLOUDEVENT}},
            },
            "application/x-ndjson": {
                "schema": {"type": "string"},
                "examples": {
                    "ndjson": {
                        "summary": "one event per line",
                        "value": orjson.dumps(_EXAMPLE).decode() + "\n",
                    }
                },
            },
        },
    }
}

router = APIRouter(tags=["ingest"])
_TOO_MANY: dict[str, Any] = {
    "model": Detail,
    "description": "too many unknown keys from this address",
    "content": {
        "application/json": {},
        # the web process answers its errors as problem details
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Detail"}},
    },
}


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body above {limit} bytes (gateway_max_request_bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                413, f"request body above {limit} bytes (gateway_max_request_bytes)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/v1/events",
    status_code=202,
    response_model=Accepted,
    summary="Send dossier events",
    openapi_extra=_BODY_DOC,
    responses={
        401: {"model": Detail, "description": "no or unknown API key"},
        403: {
            "model": Forbidden,
            "description": "a read-only key, or an event outside the key's scope or for a "
            "dossier another scope owns",
        },
        409: {"model": Forbidden, "description": "an event id already sent with other content"},
        413: {"model": Detail, "description": "body above `gateway_max_request_bytes`"},
        422: {"model": Accepted, "description": "some events invalid; the valid ones went in"},
        429: _TOO_MANY,
        503: {"model": Unavailable, "description": "Kafka did not acknowledge; retry"},
    },
)
async def post_events(
    request: Request,
    principal: Principal = Depends(require_key),
    gateway: Gateway = Depends(get_gateway),
) -> Response:
    """Validate, check the key's scope and the dossiers' owners, produce keyed by `case_id`
    (applicant ids already pseudonymised), await Kafka's acks."""
    started = time.perf_counter()
    settings = gateway.settings
    metrics = gateway.metrics
    if principal.role not in WRITE_ROLES:  # before reading a byte of the body
        metrics.requests.labels("403").inc()
        return _json({"detail": f"the role {principal.role!r} may not send events"}, 403)
    try:
        body = await _read_body(request, settings.gateway_max_request_bytes)
    except HTTPException as exc:
        metrics.requests.labels(str(exc.status_code)).inc()
        raise
    content_type = request.headers.get("content-type", "")
    decoded = await run_in_threadpool(
        decode_events,
        body,
        content_type,
        settings.max_attributes,
        settings.max_attributes_bytes,
        window=settings.timestamp_window(),
        max_errors=settings.gateway_max_errors,
    )
    if decoded.total == 0:
        metrics.requests.labels("422").inc()
        empty = {"field": "body", "reason": "no event in the request (an empty array)"}
        doc = {"accepted": 0, "accepted_indices": [], "rejected": [_entry(0, None, empty)]}
        return _json(doc, 422)
    refusal, ids = await run_in_threadpool(gateway.screen, principal, decoded)
    if refusal is not None:
        status, doc, count = refusal
        metrics.requests.labels(str(status)).inc()
        metrics.events.labels("forbidden" if status == 403 else "conflict").inc(count)
        gateway.count(0, decoded.total)
        return _json(doc, status)
    pseudonymise = gateway.pseudonymise
    sent = [(i, pseudonymise(raw), e) for i, raw, e in _unique(decoded.valid)]
    messages = [(e.case_id.encode(), orjson.dumps(raw)) for _i, raw, e in sent]
    outcomes: list[str | None] = []
    if messages:
        try:
            outcomes = await asyncio.wait_for(
                gateway.producer().send(
                    settings.topic_events, messages, [(SOURCE_HEADER, principal.source.encode())]
                ),
                settings.gateway_ack_timeout_seconds + 1,
            )
        except (TimeoutError, DvcflowError, BufferError, KafkaException) as exc:
            outcomes = [str(exc) or "no acknowledgement in time"] * len(messages)
    failed = [o for o in outcomes if o is not None]
    if failed:
        acknowledged = len(outcomes) - len(failed)
        metrics.requests.labels("503").inc()
        metrics.events.labels("unavailable").inc(len(failed))
        return _json(
            {
                "detail": f"Kafka did not acknowledge {len(failed)} of {len(outcomes)} events "
                f"({failed[0]}); nothing was dropped silently: send the request again",
                "acknowledged": acknowledged,
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )
    gateway.remember(decoded, ids)
    status = 422 if decoded.invalid_count else 202
    metrics.requests.labels(str(status)).inc()
    metrics.events.labels("accepted").inc(len(messages))
    metrics.events.labels("invalid").inc(decoded.invalid_count)
    metrics.latency.observe(time.perf_counter() - started)
    gateway.count(len(messages), decoded.invalid_count)
    doc = {
        "accepted": len(decoded.valid),
        "accepted_indices": [i for i, _raw, _e in decoded.valid],
        "rejected": decoded.invalid,
    }
    if decoded.invalid_count > len(decoded.invalid):
        doc["rejected_count"] = decoded.invalid_count
    return _json(doc, status_code=status)


SOURCE_HEADER = "dvc.source"  # the writer (``Principal.source``); the sink stores it


def _unique(valid: list[tuple[int, dict[str, Any], Event]]) -> list:
    """The events to produce: a copy repeated in the same request is sent once."""
    seen: set[str] = set()
    out = []
    for item in valid:
        if item[2].event_id not in seen:
            seen.add(item[2].event_id)
            out.append(item)
    return out


def _entry(index: int, event_id: str | None, error: dict[str, str]) -> dict[str, Any]:
    return {"index": index, "event_id": event_id, "errors": [error]}


def _capped(entries: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"forbidden": entries[:limit]}
    if len(entries) > limit:
        doc["forbidden_count"] = len(entries)
    return doc


def _json(doc: Any, status_code: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code, headers, media_type="application/json")


def _scope_error(event: Event) -> dict[str, str]:
    return {
        "field": "province_code/commune_code/org_unit",
        "reason": f"outside the key's scope (province {event.province_code}, "
        f"commune {event.commune_code}, org unit {event.org_unit})",
    }


def _owner_error(owner: Owner) -> dict[str, str]:
    return {
        "field": "case_id",
        "reason": "the dossier belongs to another scope (registered under province "
        f"{owner.province_code}, commune {owner.commune_code}, org unit {owner.org_unit})",
    }


def _conflict_error() -> dict[str, str]:
    return {
        "field": "event_id",
        "reason": "this key already sent this event id with other content: give a changed "
        "event a new event_id",
    }


@router.get("/v1/stream/health", summary="Stream health (JSON)", tags=["stream"])
def stream_health(gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    """Events/s in and out, consumer lag, DLQ count and last write time, over all sinks."""
    return read_stream_health(gateway.settings.data_dir)


def metrics_access(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    api_key: str | None = Depends(api_key_header),
    gateway: Gateway = Depends(get_gateway),
) -> None:
    """Any valid key once keys exist, unless ``metrics_require_token`` is off."""
    settings = gateway.settings
    if settings.metrics_require_token and access_configured(settings):
        require_key(request, credentials, api_key, gateway)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    tags=["stream"],
    response_class=Response,
    dependencies=[Depends(metrics_access)],
    responses={
        401: {**_TOO_MANY, "description": "no or unknown key (metrics_require_token)"},
        429: _TOO_MANY,
    },
)
def metrics(gateway: Gateway = Depends(get_gateway)) -> Response:
    """Request and event counters; needs a key (any role) when ``metrics_require_token``."""
    return Response(gateway.metrics.render(), media_type=CONTENT_TYPE)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway alone, under ``/api``: ``uvicorn --factory ingest.gateway:create_app``."""
    configure(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        shutdown()

    app = FastAPI(
        title="dvcflow event gateway",
        description="POST dossier events into the dvcflow stream. Accepts "
        + ", ".join(("application/json", "application/cloudevents+json", *NDJSON_TYPES)),
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.include_router(router, prefix="/api")
    return app
