"""Typed response models of the read API (the shapes integrators code against)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """An error as RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None


class Filters(BaseModel):
    """The filters a figure was computed for (those of ``dvcflow analyze``)."""

    procedure: str | None = None
    province: str | None = None
    commune: str | None = None
    org_unit: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    channel: str | None = None


class Names(BaseModel):
    vi: str
    en: str


class ProcedureInfo(BaseModel):
    procedure_code: str
    name: Names | None = None
    events: int
    cases: int
    first: datetime | None = None
    last: datetime | None = None


class Commune(BaseModel):
    commune_code: str
    cases: int


class Province(BaseModel):
    province_code: str
    cases: int
    communes: list[Commune]


class MapNode(BaseModel):
    id: str
    frequency: int = Field(description="events of this activity")


class MapEdge(BaseModel):
    source: str
    target: str
    frequency: int = Field(description="times the target directly followed the source")
    mean_hours: float | None = Field(None, description="mean time between the two, hours")
    median_hours: float | None = None
    p90_hours: float | None = None


class ProcessMap(BaseModel):
    store_version: str
    filters: Filters
    nodes: list[MapNode]
    edges: list[MapEdge]


class Figure(BaseModel):
    """A figure computed by ``mining`` for the filters: its data exactly as mining returns it."""

    model_config = ConfigDict(json_schema_extra={"description": "see docs/internals.md"})

    store_version: str
    filters: Filters
    data: Any


class CasePage(BaseModel):
    store_version: str
    filters: Filters
    total: int
    offset: int
    limit: int
    items: list[dict[str, Any]]


class CaseEvent(BaseModel):
    event_id: str
    activity: str
    timestamp: datetime
    lifecycle: str | None = None
    org_unit: str | None = None
    channel: str | None = None
    actor_role: str | None = None
    resource: str | None = None
    outcome: str | None = None
    attributes: str | None = None


class CaseTimeline(BaseModel):
    case_id: str
    procedure_code: str
    province_code: str | None = None
    commune_code: str | None = None
    events: list[CaseEvent]


class WhatIfRequest(BaseModel):
    """Steps to remove (activity codes); the filters come from the query string."""

    model_config = ConfigDict(extra="forbid")

    remove: list[str] = Field(min_length=1, max_length=50, examples=[["check_residence"]])
    automate: list[str] = Field(default_factory=list, max_length=50)


class Status(BaseModel):
    """The web process: the store version it answers for and its background warming."""

    store_version: str
    warming: Literal["off", "warming", "warm", "behind"] = Field(
        description="warm: the dashboard's first views are computed for this store version; "
        "warming: a pass is running; behind: the last pass was for an older version (events "
        "streaming in) and the next starts soon; off: DVCFLOW_WEB_WARM_CACHE is false"
    )
    warmed_version: str | None = Field(None, description="the store version of the last pass")
    warmed_figures: int
    figures_to_warm: int | None = None
    last_warming_seconds: float | None = None


class StreamHealth(BaseModel):
    model_config = ConfigDict(extra="allow")

    available: bool
    data: dict[str, Any] = Field(default_factory=dict)
