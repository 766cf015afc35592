"""The provinces as a tile map: one square per province in its rough place on the map of
Viet Nam, coloured by a KPI on an absolute scale; a province's communes as a ranked grid.

Why tiles and not boundaries: the shapes of the 34 provinces and 3,321 communes after the
July 2025 merger are data with a licence, and no source we could verify both covers the new
units and allows redistribution. A deployment that holds such shapes can draw them; the
tiles are honest about being approximate (the page says so).
"""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard import fmt
from sample_logs import names

# Province code -> (column, row): north at the top, the coast to the right.
TILES: dict[str, tuple[int, int]] = {
    "12": (1, 0), "15": (2, 0), "08": (3, 0), "04": (4, 0),
    "11": (0, 1), "14": (1, 1), "25": (2, 1), "19": (3, 1), "20": (4, 1),
    "01": (2, 2), "24": (3, 2), "22": (4, 2),
    "37": (2, 3), "33": (3, 3), "31": (4, 3),
    "38": (2, 4),
    "40": (2, 5),
    "42": (3, 6),
    "44": (3, 7),
    "46": (3, 8),
    "48": (4, 9),
    "51": (4, 10),
    "52": (4, 11),
    "66": (4, 12),
    "68": (3, 13), "56": (4, 13),
    "80": (1, 14), "75": (3, 14),
    "82": (1, 15), "79": (2, 15),
    "91": (0, 16), "92": (1, 16), "86": (2, 16),
    "96": (1, 17),
}  # fmt: skip

# KPI -> (mining column, bad end, good end): the colour scale is absolute, not relative to
# the units on screen, so a tile's colour means the same in every view.
KPIS: dict[str, tuple[float, float]] = {
    "on_time": (0.5, 1.0),
    "full_online": (0.0, 1.0),
    "index_100": (40.0, 100.0),
}


def colour(value: float | None, kpi: str) -> str:
    """Red (bad) → amber → green (good) on the KPI's fixed scale; grey without a value."""
    if value is None:
        return "#e3e7ec"
    lo, hi = KPIS[kpi]
    x = min(max((value - lo) / (hi - lo), 0.0), 1.0)
    stops = [(0.0, (192, 57, 43)), (0.5, (230, 170, 40)), (1.0, (39, 150, 90))]
    for (x0, c0), (x1, c1) in zip(stops, stops[1:], strict=False):
        if x <= x1:
            f = (x - x0) / (x1 - x0)
            r, g, b = (round(a + (b_ - a) * f) for a, b_ in zip(c0, c1, strict=True))
            return f"rgb({r},{g},{b})"
    return "rgb(39,150,90)"


def shown(value: float | None, kpi: str, lang: str) -> str:
    if value is None:
        return fmt.DASH
    return fmt.number(value, lang, 1) if kpi == "index_100" else fmt.percent(value, lang, 0)


def tile(kind: str, code: str, label: str, value: float | None, kpi: str, lang: str, **style):
    return html.Button(
        [html.Span(label, className="tile-name"), html.Span(shown(value, kpi, lang))],
        id={"type": "ov-tile", "kind": kind, "code": code},
        className="tile" if value is not None else "tile tile-empty",
        title=f"{label} ({code})",
        style={"background": colour(value, kpi), **style},
        n_clicks=0,
        **{"data-code": code, "data-value": "" if value is None else f"{value:.4f}"},
    )


def province_tiles(rows: dict[str, dict[str, Any]], kpi: str, lang: str) -> html.Div:
    """Every province on its tile; those without dossiers grey and still clickable."""
    tiles = []
    for code, (col, row) in TILES.items():
        value = (rows.get(code) or {}).get(kpi)
        label = names.province_name(code).replace("TP. ", "")
        tiles.append(
            tile("province", code, label, value, kpi, lang, gridColumn=col + 1, gridRow=row + 1)
        )
    unknown = [c for c in rows if c not in TILES]  # codes outside the 34: listed, not dropped
    extra = [tile("province", c, c, rows[c].get(kpi), kpi, lang) for c in unknown]
    return html.Div(
        [html.Div(tiles, className="tilemap", id="ov-tilemap"), html.Div(extra)],
        className="tilemap-wrap",
    )


def commune_tiles(rows: dict[str, dict[str, Any]], kpi: str, lang: str) -> html.Div:
    """A province's communes with dossiers, best first, as a grid of tiles."""
    ranked = sorted(rows.items(), key=lambda kv: -((kv[1].get(kpi)) or -1))
    return html.Div(
        [
            tile("commune", code, names.commune_name(code), row.get(kpi), kpi, lang)
            for code, row in ranked
        ],
        className="tilegrid",
        id="ov-tilemap",
    )


def legend(kpi: str, lang: str) -> html.Div:
    lo, hi = KPIS[kpi]
    steps = [lo + (hi - lo) * i / 4 for i in range(5)]
    return html.Div(
        [
            html.Span(
                shown(v, kpi, lang), className="legend-chip", style={"background": colour(v, kpi)}
            )
            for v in steps
        ],
        className="legend",
    )
