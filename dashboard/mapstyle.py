"""How the process map looks: names on the nodes, a top-down layout in process order, start
and end, and colours on absolute scales with a legend.

The layout is computed here (Cytoscape's ``preset``), not by a force or tree layout in the
browser: steps sit in rows in the catalog's order (the order of first appearance for a log
without catalog), so ``return_result`` is never drawn above ``sign``, and the canvas is as
tall as the rows, so labels keep their size when the map is fitted. Edge colours follow the
median wait in working days on a fixed scale, so the same colour means the same wait at any
share of paths.
"""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard import fmt
from dashboard.i18n import t

START, END = "__start__", "__end__"
ROW_PX, COLUMN_PX = 96, 270

# (upper bound in working days, colour): green under half a day … red from five days.
WAIT_SCALE: list[tuple[float, str]] = [
    (0.5, "#2e9e5b"),
    (1.0, "#8bbf3f"),
    (2.0, "#e6aa28"),
    (5.0, "#e0672b"),
    (float("inf"), "#c0392b"),
]
# (upper bound in hours of median service time, node fill).
SERVICE_SCALE: list[tuple[float, str]] = [
    (0.25, "#eef4fb"),
    (1.0, "#cfe0f3"),
    (4.0, "#9fc0e6"),
    (float("inf"), "#6b9bd6"),
]

STYLE = [
    {
        "selector": "node",
        "style": {
            "label": "data(label)",
            "shape": "round-rectangle",
            "width": 230,
            "height": 52,
            "text-wrap": "wrap",
            "text-max-width": 220,
            "text-valign": "center",
            "font-size": 15,
            "background-color": "data(fill)",
            "border-color": "#2a5d9f",
            "border-width": 1,
        },
    },
    {
        "selector": "node.terminal",
        "style": {
            "shape": "ellipse",
            "width": 90,
            "height": 34,
            "background-color": "#123a6b",
            "color": "#fff",
            "font-size": 14,
        },
    },
    {
        "selector": "edge",
        "style": {
            "label": "data(label)",
            "curve-style": "bezier",
            "target-arrow-shape": "triangle",
            "font-size": 14,
            "width": "data(width)",
            "line-color": "data(color)",
            "target-arrow-color": "data(color)",
            "text-background-color": "#ffffff",
            "text-background-opacity": 0.9,
            "text-background-padding": 2,
            "z-index": "data(z)",
        },
    },
    {"selector": "edge.back", "style": {"line-style": "dashed"}},
    {
        "selector": "edge.terminal",
        "style": {"line-color": "#9aa7b5", "target-arrow-color": "#9aa7b5"},
    },
]
LAYOUT = {"name": "preset", "fit": True, "padding": 20}


def scaled(value: float | None, scale: list[tuple[float, str]], none: str = "#9aa7b5") -> str:
    if value is None:
        return none
    return next(colour for bound, colour in scale if value < bound)


def order(activities: list[str], catalog_order: list[str]) -> list[str]:
    """The map's rows: catalog steps in statutory order, then the others as they came."""
    known = [a for a in catalog_order if a in activities]
    return known + [a for a in activities if a not in known]


def positions(rows: list[str], frequency: dict[str, int]) -> dict[str, dict[str, float]]:
    """One row per step; the frequent steps in the middle column, rare ones (optional
    steps, loops, withdrawals) to the side, so skip edges do not run through the nodes."""
    top = max(frequency.values(), default=1) or 1
    out: dict[str, dict[str, float]] = {START: {"x": 0, "y": 0}}
    side = 1
    for i, activity in enumerate(rows, start=1):
        main = frequency.get(activity, 0) >= 0.5 * top
        x = 0 if main else side * COLUMN_PX
        side = side if main else -side
        out[activity] = {"x": x, "y": i * ROW_PX}
    out[END] = {"x": 0, "y": (len(rows) + 1) * ROW_PX}
    return out


def height(rows: int) -> int:
    """The canvas height that keeps labels at their size when the map is fitted."""
    return max(420, (rows + 2) * ROW_PX + 40)


def legend(lang: str) -> html.Div:
    chips = []
    lower = 0.0
    for bound, colour in WAIT_SCALE:
        text = (
            f"≥ {fmt.number(lower, lang)}"
            if bound == float("inf")
            else f"{fmt.number(lower, lang)}–{fmt.number(bound, lang)}"
        )
        chips.append(html.Span(text, className="legend-chip", style={"background": colour}))
        lower = bound
    service = []
    lower = 0.0
    for bound, colour in SERVICE_SCALE:
        text = (
            f"≥ {fmt.hours(lower, lang, 2)}"
            if bound == float("inf")
            else f"< {fmt.hours(bound, lang, 2)}"
        )
        service.append(html.Span(text, className="legend-chip dark", style={"background": colour}))
        lower = bound
    return html.Div(
        [
            html.Span(t("ex.legend", lang), className="legend-title"),
            *chips,
            html.Span(t("ex.legend_service", lang), className="legend-title"),
            *service,
        ],
        className="legend",
        id="ex-legend",
    )


class MapView:
    """What the map needs beyond the DFG to look right: names, waits in working days per
    edge, service hours per step, the catalog order, and the start and end counts."""

    def __init__(
        self,
        namer: Any,
        waits: dict[tuple[str, str], float | None],
        service: dict[str, float | None],
        catalog_order: list[str],
        starts: dict[str, int],
        ends: dict[str, int],
    ):
        self.namer = namer
        self.lang = namer.lang
        self.waits = waits
        self.service = service
        self.catalog_order = catalog_order
        self.starts = starts
        self.ends = ends

    def elements(self, nodes: list, kept: list, overlay: str) -> tuple[list[dict], int]:
        """Cytoscape elements of the kept edges (with start and end), and the row count."""
        shown = {e.source for e in kept} | {e.target for e in kept}
        frequency = {n.id: n.frequency for n in nodes if n.id in shown}
        rows = order([n.id for n in nodes if n.id in shown], self.catalog_order)
        where = positions(rows, frequency)
        rank = {a: i for i, a in enumerate(rows)}
        lang = self.lang
        out: list[dict] = [
            {
                "data": {"id": START, "label": t("ex.start", lang)},
                "classes": "terminal",
                "position": where[START],
            },
            {
                "data": {"id": END, "label": t("ex.end", lang)},
                "classes": "terminal",
                "position": where[END],
            },
        ]
        for activity in rows:
            label = f"{self.namer.name('step', activity)}\n{fmt.number(frequency[activity], lang)}"
            service = self.service.get(activity)
            out.append(
                {
                    "data": {
                        "id": activity,
                        "label": label,
                        "fill": scaled(service, SERVICE_SCALE, "#f4f6f8"),
                        "title": activity,
                    },
                    "position": where[activity],
                }
            )
        top = max((e.frequency for e in kept), default=1) or 1
        for e in kept:
            wd = self.waits.get((e.target, e.source))
            label = fmt.days(wd, lang) if overlay == "time" else fmt.number(e.frequency, lang)
            back = rank.get(e.target, 0) <= rank.get(e.source, 0)
            out.append(
                {
                    "data": {
                        "source": e.source,
                        "target": e.target,
                        "label": label,
                        "width": 1.5 + 6 * e.frequency / top,
                        "color": scaled(wd, WAIT_SCALE),
                        # thin edges drawn last: their labels stay above the thick main flow
                        "z": 1 + round(9 * (1 - e.frequency / top)),
                    },
                    "classes": "back" if back else "",
                }
            )
        for ends, source_end in ((self.starts, True), (self.ends, False)):
            for activity, count in ends.items():
                if activity not in shown:
                    continue
                src, dst = (START, activity) if source_end else (activity, END)
                out.append(
                    {
                        "data": {
                            "source": src,
                            "target": dst,
                            "label": fmt.number(count, lang) if overlay != "time" else "",
                            "width": 1.5,
                            "color": "#9aa7b5",
                            "z": 1,
                        },
                        "classes": "terminal",
                    }
                )
        return out, len(rows)
