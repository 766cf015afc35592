"""Compare units: the same procedure across provinces or communes, side by side."""

from __future__ import annotations

import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html

from dashboard.components import filter_inputs, guarded, make_filter, section, table
from dashboard.i18n import t
from dashboard.pages.overview import RANK_COLUMNS, kpi_rows
from dashboard.service import Service

PATH = "/compare"


def layout(lang: str) -> html.Div:
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
            html.Div(id="cmp-body"),
        ],
        id="page-compare",
    )


def register(app: Dash, svc: Service) -> None:
    @app.callback(Output("cmp-body", "children"), Input("cmp-by", "value"), *filter_inputs())
    @guarded
    def body(by, procedure, province, commune, start, end, channel, _v, lang):
        by = by or "province"
        flt = make_filter(svc, procedure, province, commune, start, end, channel)
        rows = kpi_rows(svc.reform("service_index", flt, by=by), by)
        columns = [by, *RANK_COLUMNS]
        parts: list = [table(rows, "cmp-table", lang, columns=columns, page_size=40)]
        if rows:
            fig = go.Figure()
            for measure in ("on_time", "online_submission", "full_online"):
                fig.add_trace(
                    go.Bar(
                        x=[str(r[by]) for r in rows],
                        y=[r.get(measure) for r in rows],
                        name=measure,
                    )
                )
            fig.update_layout(
                barmode="group",
                margin={"l": 10, "r": 10, "t": 10, "b": 10},
                height=320,
                yaxis={"tickformat": ".0%"},
                legend={"orientation": "h"},
            )
            parts.insert(0, dcc.Graph(figure=fig, id="cmp-chart"))
        return section(t("nav.compare", lang), html.Div(parts), "cmp-panel")
