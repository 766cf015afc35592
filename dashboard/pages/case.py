"""Case: one dossier's timeline, step by step (``/case?id=...`` or typed in)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import plotly.express as px
from dash import Dash, Input, Output, State, dcc, html

from dashboard import auth
from dashboard.components import guarded, section, table, viewer
from dashboard.i18n import t
from dashboard.service import Service

PATH = "/case"


def layout(lang: str) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label(t("case.id", lang), htmlFor="case-id"),
                    dcc.Input(id="case-id", type="text", debounce=True, size="40"),
                    html.Button(t("case.show", lang), id="case-show", n_clicks=0),
                ],
                className="toolbar",
            ),
            html.Div(id="case-body", children=html.P(t("case.pick", lang))),
        ],
        id="page-case",
    )


def register(app: Dash, svc: Service) -> None:
    @app.callback(Output("case-id", "value"), Input("url", "search"))
    def from_url(search: str | None) -> Any:
        ids = parse_qs((search or "").lstrip("?")).get("id")
        return ids[0] if ids else None

    @app.callback(
        Output("case-body", "children"),
        Input("case-show", "n_clicks"),
        Input("case-id", "value"),
        Input("version", "data"),
        State("lang", "value"),
    )
    @guarded
    def show(_clicks: int, case_id: str | None, _version: str | None, lang: str) -> Any:
        if not case_id:
            return html.P(t("case.pick", lang))
        events = svc.case(case_id.strip())
        if not auth.may_read_unit(
            viewer(svc), events[0]["province_code"], events[0]["commune_code"]
        ):
            raise auth.Forbidden(f"this token may not read dossier {case_id!r}.")
        fig = px.scatter(
            events,
            x="timestamp",
            y="activity",
            color="org_unit",
            symbol="lifecycle",
            hover_data=["resource", "channel", "outcome"],
        )
        fig.update_traces(marker={"size": 12})
        fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=360)
        columns = [
            "timestamp",
            "activity",
            "lifecycle",
            "org_unit",
            "channel",
            "resource",
            "outcome",
        ]
        return html.Div(
            [
                html.H3(f"{case_id} · {events[0]['procedure_code']}", id="case-title"),
                section(t("case.timeline", lang), dcc.Graph(figure=fig), "case-timeline"),
                table(events, "case-events", lang, columns=columns, page_size=50),
            ]
        )
