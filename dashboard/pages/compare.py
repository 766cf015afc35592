"""Compare units: the same procedure across provinces or communes, side by side."""

from __future__ import annotations

import plotly.express as px
from dash import Dash, Input, Output, dcc, html

from dashboard.components import filter_inputs, guarded, make_filter, records, section, table
from dashboard.i18n import t
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
        flt = make_filter(procedure, province, commune, start, end, channel)
        rows = records(svc.reform("service_index", flt, by=by or "province"))
        parts = [table(rows, "cmp-table", lang, page_size=40)]
        if rows:
            key = next((k for k in ("unit", by, f"{by}_code") if k in rows[0]), None)
            value = next((k for k in ("total", "score", "index") if k in rows[0]), None)
            if key and value:
                fig = px.bar(rows, x=key, y=value)
                fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=300)
                parts.insert(0, dcc.Graph(figure=fig, id="cmp-chart"))
        return section(t("nav.compare", lang), html.Div(parts), "cmp-panel")
