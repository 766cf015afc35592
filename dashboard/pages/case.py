"""Case: one dossier's timeline, step by step (``/case?id=...`` or typed in)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import plotly.express as px
from dash import Dash, Input, Output, State, dcc, html

from dashboard import auth
from dashboard.components import guarded, section, shielded, table, viewer
from dashboard.i18n import t
from dashboard.service import Service

PATH = "/case"


def render(svc: Service, values: tuple, lang: str, search: str | None = None) -> html.Div:
    """The page, showing the dossier named in the URL (``?id=``) if any."""
    case_id = case_from(search)
    return html.Div(
        [
            html.Div(
                [
                    html.Label(t("case.id", lang), htmlFor="case-id"),
                    dcc.Input(id="case-id", type="text", debounce=True, size="40", value=case_id),
                    html.Button(t("case.show", lang), id="case-show", n_clicks=0),
                ],
                className="toolbar",
            ),
            html.Div(shielded(show, svc, 0, case_id, None, lang), id="case-body"),
        ],
        id="page-case",
    )


def case_from(search: str | None) -> str | None:
    ids = parse_qs((search or "").lstrip("?")).get("id")
    return ids[0] if ids else None


def show(svc: Service, _clicks: int, case_id: str | None, _version: str | None, lang: str) -> Any:
    if not case_id:
        return html.P(t("case.pick", lang))
    auth.check_dossier(viewer(svc), case_id, svc.case_owner(case_id.strip()))
    events = svc.case(case_id.strip())
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
    columns = ["timestamp", "activity", "lifecycle", "org_unit", "channel", "resource", "outcome"]
    return html.Div(
        [
            html.H3(f"{case_id} · {events[0]['procedure_code']}", id="case-title"),
            section(t("case.timeline", lang), dcc.Graph(figure=fig), "case-timeline"),
            table(events, "case-events", lang, columns=columns, page_size=50),
        ]
    )


def register(app: Dash, svc: Service) -> None:
    # ``render`` fills the page when it opens: these run only when something changes after.
    @app.callback(Output("case-id", "value"), Input("url", "search"), prevent_initial_call=True)
    def from_url(search: str | None) -> Any:
        return case_from(search)

    @app.callback(
        Output("case-body", "children"),
        Input("case-show", "n_clicks"),
        Input("case-id", "value"),
        Input("version", "data"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    @guarded
    def _show(*args: Any) -> Any:
        return show(svc, *args)
