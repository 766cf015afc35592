"""The wait at one step per commune of a province (or per province): a sorted bar chart with
the province's and the nation's medians as reference lines. Shown on the bottlenecks page
for the picked step or handoff; ``GET /api/v1/unit-waits`` answers the same numbers."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import fmt
from dashboard.components import Namer, figure, namer, table
from dashboard.i18n import t
from dashboard.service import Service
from mining.filters import LogFilter

TABLE_COLUMNS = ["unit", "dossiers", "median_working_days", "p90_working_days", "median_hours"]


def unit_waits_view(svc: Service, flt: LogFilter, step: str, after: str | None, lang: str):
    result = svc.unit_waits(flt, step, after)
    names = namer(svc, lang, flt.procedure)
    title = names.name("step", step)
    if after:
        title = f"{names.name('step', after)} → {title}"
    rows = [u.model_dump() for u in result.units]
    kind = "commune" if result.by == "commune" else "province"
    shown = table(
        [r | {"unit": r["unit"]} for r in rows],
        "su-table",
        lang,
        columns=TABLE_COLUMNS,
        page_size=12,
        namer=names,
    )
    if hasattr(shown, "data"):  # the unit column names a commune or a province
        for row, r in zip(shown.data, rows, strict=True):
            row["unit"] = names.name(kind, r["unit"])
    return html.Div(
        [
            html.H3(title, id="su-title", title=f"{after or ''} → {step}"),
            dcc.Graph(figure=chart(result, names, kind), id="su-chart"),
            shown,
        ],
        id="su-view",
        **{"data-step": step, "data-after": after or "", "data-by": result.by},
    )


def chart(result: Any, names: Namer, kind: str) -> dict[str, Any]:
    """Slowest unit on top; hover: code, dossiers, hours."""
    lang = names.lang
    units = list(reversed(result.units))  # plotly draws the first bar at the bottom
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": [u.median_working_days for u in units],
        "y": [names.name(kind, u.unit) for u in units],
        "customdata": [
            [u.unit, fmt.number(u.dossiers, lang), fmt.hours(u.median_hours, lang)] for u in units
        ],
        "hovertemplate": "%{y} (%{customdata[0]})<br>%{x:.2f} "
        + ("working days" if lang == "en" else "ngày LV")
        + "<br>%{customdata[1]} "
        + ("dossiers" if lang == "en" else "hồ sơ")
        + " · %{customdata[2]}<extra></extra>",
        "marker": {"color": "#2a5d9f"},
        "name": t("su.axis", lang),
    }
    lines, notes = [], []
    for value, key, dash in (
        (result.province_median_working_days, "su.province_median", "dash"),
        (result.national_median_working_days, "su.national_median", "dot"),
    ):
        if value is None:
            continue
        lines.append(
            {
                "type": "line",
                "x0": value,
                "x1": value,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "#c0392b" if dash == "dash" else "#555", "dash": dash},
            }
        )
        notes.append(
            {
                "x": value,
                "yref": "paper",
                "y": 1.02 + 0.06 * len(notes),
                "text": f"{t(key, lang)}: {fmt.days(value, lang, digits=2)}",
                "showarrow": False,
                "xanchor": "left",
                "font": {"size": 12},
            }
        )
    return figure(
        [trace],
        lang=lang,
        shapes=lines,
        annotations=notes,
        height=max(260, 26 * len(units) + 110),
        margin={"l": 10, "r": 20, "t": 60, "b": 40},
        xaxis={"title": {"text": t("su.axis", lang)}, "rangemode": "tozero"},
        yaxis={"automargin": True},
        showlegend=False,
    )
