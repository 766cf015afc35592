"""Procedure explorer: the process map (frequency / time overlay, share of paths), variants and
conformance."""

from __future__ import annotations

from typing import Any

import dash_cytoscape as cyto
from dash import Dash, Input, Output, dcc, html

from dashboard import fmt as fmt_
from dashboard import mapstyle
from dashboard.api import process_map_parts
from dashboard.components import (
    content_callback,
    in_hours,
    keep_key,
    legal_limit,
    limit_text,
    make_filter,
    namer,
    notice,
    section,
    shielded,
    table,
)
from dashboard.i18n import t
from dashboard.models import MapEdge, MapNode
from dashboard.service import Service
from mining.discovery import readable_map

PATH = "/explorer"
VARIANT_COLUMNS = [
    "activities",
    "count",
    "share",
    "cycle_wd",
    "limit_share",
    "median_duration_h",
    "on_time_rate",
]
CONFORMANCE_COLUMNS = ["step", "mandatory", "skipped", "skipped_share", "out_of_order_share"]

STYLE = mapstyle.STYLE


def render(svc: Service, values: tuple, lang: str) -> html.Div:
    """The page with its figures for the filter ``values`` (see ``filter_inputs``)."""
    return html.Div(
        [
            html.Div(
                [
                    html.Label(t("ex.overlay", lang), htmlFor="ex-overlay"),
                    dcc.RadioItems(
                        id="ex-overlay",
                        options=[
                            {"label": t("ex.freq", lang), "value": "frequency"},
                            {"label": t("ex.time", lang), "value": "time"},
                        ],
                        value="frequency",
                        inline=True,
                    ),
                    html.Label(t("ex.activities", lang), htmlFor="ex-activities"),
                    dcc.Slider(
                        id="ex-activities",
                        min=0,
                        max=len(ACTIVITY_MARKS) - 1,
                        step=1,
                        value=ACTIVITY_MARKS.index(DEFAULT_ACTIVITIES),
                        allow_direct_input=False,  # its value is a mark's index, not a count
                        marks={
                            i: str(v) if v else t("ex.all", lang)
                            for i, v in enumerate(ACTIVITY_MARKS)
                        },
                    ),
                    html.Label(t("ex.share", lang), htmlFor="ex-share"),
                    dcc.Slider(
                        id="ex-share",
                        min=10,
                        max=100,
                        step=10,
                        value=100,
                        marks={v: f"{v}%" for v in (10, 50, 80, 100)},
                    ),
                ],
                className="toolbar",
            ),
            html.Div(
                shielded(
                    draw,
                    svc,
                    "frequency",
                    100,
                    ACTIVITY_MARKS.index(DEFAULT_ACTIVITIES),
                    *values,
                    lang,
                ),
                id="ex-map",
            ),
            html.Div(shielded(details, svc, *values, lang), id="ex-details"),
        ],
        id="page-explorer",
    )


# Activity slider: how many of the most frequent activities the map shows (0 = all). The
# default keeps a map of a log with hundreds of activities readable.
ACTIVITY_MARKS = (5, 10, 25, 50, 100, 200, 0)
DEFAULT_ACTIVITIES = 25


def map_elements(
    nodes: list,
    edges: list,
    overlay: str,
    share: float,
    activities: int | None = None,
    view: mapstyle.MapView | None = None,
) -> list[dict]:
    """Cytoscape elements: the ``activities`` most frequent activities (None or 0: all) and
    the most frequent paths among them covering ``share`` of their transitions, kept
    connected (``mining.discovery.readable_map``), drawn by ``view`` (names, rows in process
    order, start/end, absolute colours) when given."""
    shown, picked = readable_map(
        {n.id: n.frequency for n in nodes},
        [(e.source, e.target, e.frequency) for e in edges],
        activities or None,
        share,
    )
    kept = [edges[i] for i in picked]
    if view is not None:
        return view.elements([n for n in nodes if n.id in shown], kept, overlay)[0]
    top = max((e.frequency for e in kept), default=1)
    slow = max((e.mean_hours or 0 for e in kept), default=1) or 1
    elements: list[dict] = [
        {"data": {"id": n.id, "label": f"{n.id} ({n.frequency:,})"}} for n in nodes if n.id in shown
    ]
    for e in kept:
        hours = e.mean_hours or 0
        if overlay == "time":
            label, weight = fmt_.hours(e.mean_hours, "en"), hours / slow
        else:
            label, weight = f"{e.frequency:,}", e.frequency / top
        red = int(60 + 180 * (hours / slow)) if overlay == "time" else 60
        elements.append(
            {
                "data": {
                    "source": e.source,
                    "target": e.target,
                    "label": label,
                    "width": 1 + 7 * weight,
                    "color": f"rgb({red},90,{200 - red // 2})",
                    "z": 1,
                }
            }
        )
    return elements


LAYOUT = {"name": "breadthfirst", "directed": True, "spacingFactor": 0.85}  # the warm-up


def warm_up_graph() -> cyto.Cytoscape:
    """A two-step map drawn off screen with the page shell. Chromium compiles cytoscape's
    style, layout and drawing code the first time a map is drawn: here at page load rather
    than at the first explorer open (0.1 s of its 0.5–0.6 s on the busiest procedure)."""
    nodes = [MapNode(id="a", frequency=1), MapNode(id="b", frequency=1)]
    edges = [MapEdge(source="a", target="b", frequency=1, mean_hours=1.0)]
    elements = map_elements(nodes, edges, "frequency", 1.0)
    return cyto.Cytoscape(
        id="ex-warm-up",
        elements=elements,
        layout=LAYOUT,
        stylesheet=STYLE,
        style={"position": "absolute", "left": "-5000px", "width": "300px", "height": "200px"},
    )


def draw(
    svc: Service,
    overlay,
    share,
    activity_mark,
    procedure,
    province,
    commune,
    start,
    end,
    channel,
    _v,
    lang,
):
    if not procedure:
        return html.P(t("ex.pick", lang), className="hint")
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    dfg = svc.section(flt, "dfg")
    nodes, edges = process_map_parts(dfg)
    view = map_view(svc, flt, dfg, lang)
    mark = activity_mark if isinstance(activity_mark, int) else 0
    activities = ACTIVITY_MARKS[min(max(mark, 0), len(ACTIVITY_MARKS) - 1)]
    elements = map_elements(
        nodes, edges, overlay or "frequency", (share or 100) / 100, activities, view
    )
    rows = sum(1 for e in elements if "position" in e) - 2
    graph = cyto.Cytoscape(
        id="ex-cytoscape",
        elements=elements,
        layout=mapstyle.LAYOUT,
        stylesheet=STYLE,
        style={"width": "100%", "height": f"{mapstyle.height(rows)}px"},
        minZoom=0.3,
        maxZoom=2.5,
        wheelSensitivity=0.2,
    )
    return section(t("ex.map", lang), html.Div([mapstyle.legend(lang), graph]), "ex-map-panel")


def map_view(svc: Service, flt, dfg: dict, lang: str) -> mapstyle.MapView:
    """Names, working-day waits per edge and service hours per step for the map."""
    from sample_logs.catalog import get_procedure

    proc = get_procedure(flt.procedure, svc.settings) if flt.procedure else None
    waits = {
        (step, after): r.median_working_days
        for (step, after, f, u), r in svc.step_working_days(flt).items()
        if after is not None and f is None
    }
    found = svc.section(flt, "bottlenecks") or {}
    service = {s["activity"]: (s.get("median_s") or 0) / 3600 for s in found.get("service", [])}
    return mapstyle.MapView(
        namer(svc, lang, flt.procedure),
        waits,
        service,
        proc.step_codes if proc else [],
        dfg.get("start") or {} if isinstance(dfg, dict) else {},
        dfg.get("end") or {} if isinstance(dfg, dict) else {},
    )


def details(svc: Service, procedure, province, commune, start, end, channel, _v, lang):
    if not procedure:
        return None
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    found = svc.section(flt, "variants") or {}
    limit = legal_limit(svc, flt)
    rows = [
        r | {"cycle_wd": r.get("median_working_days"), "limit_share": _share(r, limit)}
        for r in in_hours(found.get("top", []))
    ]
    names = namer(svc, lang, procedure)
    shown_limit = limit_text(svc, flt, lang)
    variants = html.Div(
        [
            html.P(
                [
                    f"{t('ex.distinct', lang)}: {fmt_.number(found.get('distinct'), lang)}",
                    html.Br(),
                    t("ex.variants_limit", lang).format(limit=shown_limit)
                    if shown_limit
                    else t("ex.variants_no_limit", lang),
                ],
                id="ex-variants-note",
            ),
            table(
                rows,
                "ex-variants",
                lang,
                columns=VARIANT_COLUMNS,
                page_size=10,
                keep=keep_key(procedure, province, commune, start, end, channel),
                namer=names,
            ),
        ]
    )
    conf = svc.section(flt, "conformance")
    if conf is None:
        checked = notice("na", lang, t("ex.no_reference", lang))
    else:
        scalars = [
            f"{t(f'ex.{k}', lang)}: {fmt_.percent(conf[k], lang)}"
            for k in ("fitness", "fitting_share", "replayed_share")
            if isinstance(conf.get(k), int | float)
        ]
        checked = html.Div(
            [
                html.P(" · ".join(scalars), id="ex-fitness"),
                table(
                    conf.get("steps", []),
                    "ex-conformance",
                    lang,
                    columns=CONFORMANCE_COLUMNS,
                    page_size=20,
                    namer=names,
                ),
            ]
        )
    return html.Div(
        [
            section(t("ex.variants", lang), variants, "ex-variants-p"),
            section(t("ex.conformance", lang), checked, "ex-conformance-p"),
        ]
    )


def _share(row: dict[str, Any], limit: int | None) -> float | None:
    """A variant's median working days as a share of the legal limit."""
    median = row.get("median_working_days")
    return median / limit if median is not None and limit else None


def register(app: Dash, svc: Service) -> None:
    # ``render`` fills the page when it opens; these run for a later change or a stale page.
    @content_callback(
        app,
        Output("ex-map", "children"),
        Input("ex-overlay", "value"),
        Input("ex-share", "value"),
        Input("ex-activities", "value"),
    )
    def _draw(*args: Any) -> Any:
        return draw(svc, *args)

    @content_callback(app, Output("ex-details", "children"))
    def _details(*args: Any) -> Any:
        return details(svc, *args)
