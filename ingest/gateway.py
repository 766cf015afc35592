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
from typing import Any

import orjson
from confluent_kafka import KafkaException
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from dvcflow.access import Principal, authenticate
from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings, get_settings
from ingest.health import HealthFile, RateMeter, read_stream_health
from ingest.metrics import CONTENT_TYPE, GatewayMetrics
from ingest.payload import NDJSON_TYPES, decode_events
from ingest.producer import EventProducer
from ingest.schema import Event


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

    def producer(self) -> EventProducer:
        if self._producer is None:
            timeout_ms = int(self.settings.gateway_ack_timeout_seconds * 1000)
            self._producer = EventProducer(
                self.settings,
                overrides={"message.timeout.ms": timeout_ms, "linger.ms": 5},
            )
        return self._producer

    def close(self) -> None:
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
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    api_key: str | None = Depends(api_key_header),
    gateway: Gateway = Depends(get_gateway),
) -> Principal:
    token = credentials.credentials if credentials else api_key
    principal = authenticate(token, gateway.settings) if token else None
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
        403: {"model": Forbidden, "description": "an event is outside the key's scope"},
        413: {"model": Detail, "description": "body above `gateway_max_request_bytes`"},
        422: {"model": Accepted, "description": "some events invalid; the valid ones went in"},
        503: {"model": Unavailable, "description": "Kafka did not acknowledge; retry"},
    },
)
async def post_events(
    request: Request,
    principal: Principal = Depends(require_key),
    gateway: Gateway = Depends(get_gateway),
) -> Response:
    """Validate, check the key's scope, produce keyed by `case_id`, await Kafka's acks."""
    started = time.perf_counter()
    settings = gateway.settings
    metrics = gateway.metrics
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
    )
    forbidden = [
        {"index": i, "event_id": e.event_id, "errors": [_scope_error(e)]}
        for i, _raw, e in decoded.valid
        if not principal.may_write(e.province_code, e.commune_code, e.org_unit)
    ]
    if forbidden:
        metrics.requests.labels("403").inc()
        metrics.events.labels("forbidden").inc(len(forbidden))
        gateway.count(0, decoded.total)
        return _json(
            {
                "detail": f"key '{principal.name}' may not write these events",
                "forbidden": forbidden,
            },
            status_code=403,
        )
    messages = [(e.case_id.encode(), orjson.dumps(raw)) for _i, raw, e in decoded.valid]
    outcomes: list[str | None] = []
    if messages:
        try:
            outcomes = await asyncio.wait_for(
                gateway.producer().send(settings.topic_events, messages),
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
    status = 422 if decoded.invalid else 202
    metrics.requests.labels(str(status)).inc()
    metrics.events.labels("accepted").inc(len(messages))
    metrics.events.labels("invalid").inc(len(decoded.invalid))
    metrics.latency.observe(time.perf_counter() - started)
    gateway.count(len(messages), len(decoded.invalid))
    return _json(
        {
            "accepted": len(messages),
            "accepted_indices": [i for i, _raw, _e in decoded.valid],
            "rejected": decoded.invalid,
        },
        status_code=status,
    )


def _json(doc: Any, status_code: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code, headers, media_type="application/json")


def _scope_error(event: Event) -> dict[str, str]:
    return {
        "field": "province_code/commune_code/org_unit",
        "reason": f"outside the key's scope (province {event.province_code}, "
        f"commune {event.commune_code}, org unit {event.org_unit})",
    }


@router.get("/v1/stream/health", summary="Stream health (JSON)", tags=["stream"])
def stream_health(gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    """Events/s in and out, consumer lag, DLQ count and last write time, over all sinks."""
    return read_stream_health(gateway.settings.data_dir)


@router.get("/metrics", summary="Prometheus metrics", tags=["stream"], response_class=Response)
def metrics(gateway: Gateway = Depends(get_gateway)) -> Response:
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
