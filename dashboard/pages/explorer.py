"""Procedure explorer: the process map (frequency / time overlay, share of paths), variants and
conformance."""

from __future__ import annotations

from typing import Any

import dash_cytoscape as cyto
from dash import Dash, Input, Output, dcc, html

from dashboard.api import process_map_parts
from dashboard.components import (
    content_callback,
    fmt,
    in_hours,
    keep_key,
    make_filter,
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
VARIANT_COLUMNS = ["activities", "count", "share", "median_duration_h", "on_time_rate"]

STYLE = [
    {
        "selector": "node",
        "style": {
            "label": "data(label)",
            "shape": "round-rectangle",
            "width": "label",
            "height": 34,
            "padding": "10px",
            "text-valign": "center",
            "font-size": 14,
            "background-color": "#dbe8f6",
            "border-color": "#2a5d9f",
            "border-width": 1,
        },
    },
    {
        "selector": "edge",
        "style": {
            "label": "data(label)",
            "curve-style": "bezier",
            "target-arrow-shape": "triangle",
            "font-size": 12,
            "width": "data(width)",
            "line-color": "data(color)",
            "target-arrow-color": "data(color)",
            "text-background-color": "#ffffff",
            "text-background-opacity": 0.8,
        },
    },
]


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
    nodes: list, edges: list, overlay: str, share: float, activities: int | None = None
) -> list[dict]:
    """Cytoscape elements: the ``activities`` most frequent activities (None or 0: all) and
    the most frequent paths among them covering ``share`` of their transitions, kept
    connected (``mining.discovery.readable_map``)."""
    shown, picked = readable_map(
        {n.id: n.frequency for n in nodes},
        [(e.source, e.target, e.frequency) for e in edges],
        activities or None,
        share,
    )
    kept = [edges[i] for i in picked]
    top = max((e.frequency for e in kept), default=1)
    slow = max((e.mean_hours or 0 for e in kept), default=1) or 1
    elements: list[dict] = [
        {"data": {"id": n.id, "label": f"{n.id} ({n.frequency:,})"}} for n in nodes if n.id in shown
    ]
    for e in kept:
        hours = e.mean_hours or 0
        if overlay == "time":
            label, weight = f"{fmt(e.mean_hours)} h", hours / slow
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
                }
            }
        )
    return elements


LAYOUT = {"name": "breadthfirst", "directed": True, "spacingFactor": 0.85}


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
    nodes, edges = process_map_parts(svc.section(flt, "dfg"))
    mark = activity_mark if isinstance(activity_mark, int) else 0
    activities = ACTIVITY_MARKS[min(max(mark, 0), len(ACTIVITY_MARKS) - 1)]
    elements = map_elements(nodes, edges, overlay or "frequency", (share or 100) / 100, activities)
    graph = cyto.Cytoscape(
        id="ex-cytoscape",
        elements=elements,
        layout=LAYOUT,
        stylesheet=STYLE,
        style={"width": "100%", "height": "720px"},
    )
    return section(t("ex.map", lang), graph, "ex-map-panel")


def details(svc: Service, procedure, province, commune, start, end, channel, _v, lang):
    if not procedure:
        return None
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    found = svc.section(flt, "variants") or {}
    rows = in_hours(found.get("top", []))
    variants = html.Div(
        [
            html.P(f"{t('ex.distinct', lang)}: {fmt(found.get('distinct'))}"),
            table(
                rows,
                "ex-variants",
                lang,
                columns=VARIANT_COLUMNS,
                page_size=10,
                keep=keep_key(procedure, province, commune, start, end, channel),
            ),
        ]
    )
    conf = svc.section(flt, "conformance")
    if conf is None:
        checked = notice("na", lang, t("ex.no_reference", lang))
    else:
        scalars = {k: v for k, v in conf.items() if isinstance(v, int | float)}
        checked = html.Div(
            [
                html.P(
                    ", ".join(f"{k}: {fmt(v, 3)}" for k, v in scalars.items()),
                    id="ex-fitness",
                ),
                table(conf.get("steps", []), "ex-conformance", lang, page_size=20),
            ]
        )
    return html.Div(
        [
            section(t("ex.variants", lang), variants, "ex-variants-p"),
            section(t("ex.conformance", lang), checked, "ex-conformance-p"),
        ]
    )


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
