"""Compare units: the same procedure across provinces or communes, side by side."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html

from dashboard.components import (
    Namer,
    content_callback,
    figure,
    keep_key,
    make_filter,
    namer,
    section,
    shielded,
    table,
)
from dashboard.i18n import column, t
from dashboard.pages.overview import RANK_COLUMNS, kpi_rows
from dashboard.service import Service

PATH = "/compare"


def render(svc: Service, values: tuple, lang: str) -> html.Div:
    """The page with its figures for the filter ``values`` (see ``filter_inputs``)."""
    return html.Div(
        [
            html.Div(
                [
                    html.Label(t("cmp.by", lang), htmlFor="cmp-by"),
                    dcc.RadioItems(
                        id="cmp-by",
                        options=[
                            {"label": t("cmp.province", lang), "value": "province"},
                            {"label": t("cmp.commune", lang), "value": "commune"},
                        ],
                        value="province",
                        inline=True,
                    ),
                ],
                className="toolbar",
            ),
            html.Div(shielded(body, svc, "province", *values, lang), id="cmp-body"),
        ],
        id="page-compare",
    )


def body(svc: Service, by, procedure, province, commune, start, end, channel, _v, lang):
    by = by or "province"
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    rows = kpi_rows(svc.reform("service_index", flt, by=by), by)
    columns = [by, *RANK_COLUMNS]
    names = namer(svc, lang, procedure)
    parts: list = [
        table(
            rows,
            "cmp-table",
            lang,
            columns=columns,
            page_size=40,
            keep=keep_key(by, procedure, province, commune, start, end, channel),
            namer=names,
        )
    ]
    if rows:
        fig = chart(rows, by, names)
        parts.insert(0, dcc.Graph(figure=fig, id="cmp-chart"))
    return section(t("nav.compare", lang), html.Div(parts), "cmp-panel")


def chart(rows: list[dict[str, Any]], by: str, names: Namer | None = None) -> dict[str, Any]:
    """The on-time, online-submission and full-online shares of each unit, grouped bars;
    units and measures by name when ``names`` is given."""
    traces = [
        {
            "type": "bar",
            "x": [names.name(by, r[by]) if names else str(r[by]) for r in rows],
            "y": [r.get(measure) for r in rows],
            "name": column(measure, names.lang) if names else measure,
        }
        for measure in ("on_time", "online_submission", "full_online")
    ]
    return figure(
        traces,
        **({"lang": names.lang} if names else {}),
        barmode="group",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=320,
        yaxis={"tickformat": ".0%"},
        legend={"orientation": "h"},
    )


def register(app: Dash, svc: Service) -> None:
    # ``render`` fills the page when it opens; these run for a later change or a stale page.
    @content_callback(app, Output("cmp-body", "children"), Input("cmp-by", "value"))
    def _body(*args: Any) -> Any:
        return body(svc, *args)
