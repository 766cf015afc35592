"""Typed response models of the read API (the shapes integrators code against)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mining.dossier import DossierDeadline, DossierEvent


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


class CaseTimeline(BaseModel):
    case_id: str
    procedure_code: str
    province_code: str | None = None
    commune_code: str | None = None
    events: list[DossierEvent]  # in process order: timestamp, then the source's order
    deadline: DossierDeadline | None = None  # due date and working days used (mining.deadlines)


class WhatIfChange(BaseModel):
    """One change of a what-if scenario (``mining.reform.whatif.Change``)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["remove", "automate", "data_reuse", "cut_wait"]
    step: str = Field(max_length=200, description="the step (activity code) changed")
    from_step: str | None = Field(
        None, max_length=200, description="cut_wait: only the wait after this step (a handoff)"
    )
    unit: str | None = Field(
        None, max_length=64, description="only the dossiers of this unit (a value of `by`)"
    )
    target: float | Literal["peer_median"] | None = Field(
        None, description="cut_wait: working days, or the median of the other units"
    )


class WhatIfRequest(BaseModel):
    """The scenario; the filters come from the query string (a province or commune filter is
    the focus, compared with the other units the token may read)."""

    model_config = ConfigDict(extra="forbid")

    remove: list[str] = Field(default_factory=list, max_length=50, examples=[["check_residence"]])
    automate: list[str] = Field(default_factory=list, max_length=50)
    changes: list[WhatIfChange] = Field(
        default_factory=list,
        max_length=50,
        examples=[
            [
                {
                    "action": "cut_wait",
                    "step": "issue_insurance_card",
                    "from_step": "transfer_insurance",
                    "unit": "31",
                    "target": "peer_median",
                }
            ]
        ],
    )
    by: Literal["unit", "province", "commune"] | None = Field(
        None, description="the units compared (default: provinces; a province's communes)"
    )


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
