"""Bottlenecks: steps and handoffs ranked by the delay they cause, with a drill-down to the
dossiers behind a number."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dcc, html

from dashboard.components import (
    filter_inputs,
    get,
    guarded,
    make_filter,
    records,
    section,
    table,
)
from dashboard.i18n import t
from dashboard.service import Service

PATH = "/bottlenecks"
DRILL_COLUMNS = [
    "case_id",
    "province_code",
    "commune_code",
    "channel",
    "first_ts",
    "last_ts",
    "duration_s",
    "outcome",
]


def layout(lang: str) -> html.Div:
    return html.Div(
        [
            dcc.Store(id="bn-rows"),
            html.Div(id="bn-body"),
            section(
                t("bn.drill", lang),
                html.Div(id="bn-drill", children=t("bn.hint", lang)),
                "bn-drill-panel",
            ),
        ],
        id="page-bottlenecks",
    )


def split(value: Any) -> tuple[list[dict], list[dict]]:
    """Mining's bottlenecks as (steps, handoffs), each ranked by total delay."""
    if isinstance(value, dict):
        steps = records(get(value, "steps", "activities", "waits") or [])
        handoffs = records(get(value, "handoffs", "transfers") or [])
        return steps, handoffs
    return records(value), []


def register(app: Dash, svc: Service) -> None:
    @app.callback(Output("bn-body", "children"), Output("bn-rows", "data"), *filter_inputs())
    async def body(procedure, province, commune, start, end, channel, version, lang):
        inner = guarded(_body)
        out = await inner(procedure, province, commune, start, end, channel, version, lang)
        return out if isinstance(out, tuple) else (out, None)

    def _body(procedure, province, commune, start, end, channel, _version, lang):
        flt = make_filter(procedure, province, commune, start, end, channel)
        steps, handoffs = split(svc.section(flt, "bottlenecks"))
        return (
            html.Div(
                [
                    section(
                        t("bn.steps", lang),
                        table(steps, "bn-steps", lang, selectable=True),
                        "bn-steps-p",
                    ),
                    section(
                        t("bn.handoffs", lang),
                        table(handoffs, "bn-handoffs", lang, selectable=True),
                        "bn-handoffs-p",
                    ),
                ]
            ),
            {"steps": steps[:200], "handoffs": handoffs[:200]},
        )

    @app.callback(
        Output("bn-drill", "children"),
        Input("bn-steps", "selected_rows"),
        Input("bn-steps", "derived_virtual_data"),
        *filter_inputs(),
    )
    @guarded
    def drill(selected, shown, procedure, province, commune, start, end, channel, _v, lang):
        if not selected or not shown:
            return t("bn.hint", lang)
        row = shown[selected[0]]
        activity = get(row, "activity", "step", "target")
        flt = make_filter(procedure, province, commune, start, end, channel)
        page = svc.cases(flt, activity=activity, limit=100, sort="duration_s", descending=True)
        return html.Div(
            [
                html.P(f"{activity}: {page['total']:,}", id="bn-drill-total"),
                table(page["items"], "bn-drill-table", lang, columns=DRILL_COLUMNS),
            ]
        )

    _ = State  # kept for symmetry with other pages
