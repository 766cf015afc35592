"""Bottlenecks: steps and handoffs ranked by the delay they cause, with a drill-down to the
dossiers behind a number."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard.components import (
    filter_inputs,
    filter_states,
    guarded,
    in_hours,
    keep_key,
    make_filter,
    notice,
    redraw_input,
    redrawn,
    section,
    shielded,
    table,
)
from dashboard.i18n import t
from dashboard.service import Service

PATH = "/bottlenecks"
STEP_COLUMNS = ["activity", "count", "median_h", "mean_h", "p90_h", "total_h"]
HANDOFF_COLUMNS = [
    "province_code",
    "from_unit",
    "to_unit",
    "from_activity",
    "to_activity",
    "count",
    "mean_h",
    "total_h",
]
DRILL_COLUMNS = [
    "case_id",
    "province_code",
    "commune_code",
    "channel",
    "first_ts",
    "last_ts",
    "duration_h",
    "outcome",
]


def render(svc: Service, values: tuple, lang: str) -> html.Div:
    """The page with its figures for the filter ``values`` (see ``filter_inputs``)."""
    return html.Div(
        [
            dcc.Store(id="bn-picked"),
            html.Div(shielded(body, svc, *values, None, lang), id="bn-body"),
            section(
                t("bn.drill", lang),
                html.Div(id="bn-drill", children=t("bn.hint", lang)),
                "bn-drill-panel",
            ),
        ],
        id="page-bottlenecks",
    )


def body(svc: Service, procedure, province, commune, start, end, channel, _v, picked, lang):
    """Steps and handoffs ranked; the step picked before (``picked``) stays selected."""
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    svc.prefetch(flt)  # the drill-down reads the filter's loaded log
    found = svc.section(flt, "bottlenecks")
    if not found:
        return notice("na", lang)
    waits, handoffs = in_hours(found.get("waits", [])), in_hours(found.get("handoffs", []))
    keep = keep_key(procedure, province, commune, start, end, channel)
    # By name, not position: a live refresh may rank the steps differently.
    selected = [i for i, w in enumerate(waits) if picked and w.get("activity") == picked][:1]
    return html.Div(
        [
            section(
                t("bn.steps", lang),
                table(
                    waits,
                    "bn-steps",
                    lang,
                    columns=STEP_COLUMNS,
                    selectable=True,
                    keep=keep,
                    selected=selected,
                ),
                "bn-steps-p",
            ),
            section(
                t("bn.handoffs", lang),
                table(handoffs, "bn-handoffs", lang, columns=HANDOFF_COLUMNS, keep=keep),
                "bn-handoffs-p",
            ),
        ]
    )


def drill(svc: Service, selected, rows, procedure, province, commune, start, end, channel, lang):
    """The dossiers behind the selected step, and that step's name (to keep it selected)."""
    if not selected or not rows or selected[0] >= len(rows):
        return t("bn.hint", lang), None
    activity = rows[selected[0]]["activity"]
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    page = svc.cases(flt, activity=activity, limit=100, sort="duration_s", descending=True)
    shown = html.Div(
        [
            html.P(
                [html.Strong(activity), f": {page['total']:,}"],
                id="bn-drill-total",
                **{"data-total": str(page["total"])},
            ),
            table(in_hours(page["items"]), "bn-drill-table", lang, columns=DRILL_COLUMNS),
        ]
    )
    return shown, activity


def register(app: Dash, svc: Service) -> None:
    # ``render`` fills the page when it opens; these run for a later change or a stale page.
    inputs = filter_inputs()

    @app.callback(
        Output("bn-body", "children"),
        *inputs[:-1],
        State("bn-picked", "data"),
        inputs[-1],
        redraw_input(),
        prevent_initial_call=True,
    )
    @redrawn
    @guarded
    def _body(*args: Any) -> Any:
        return body(svc, *args)

    # A new steps table (filters changed, live refresh) brings this back with its selection.
    @app.callback(
        Output("bn-drill", "children"),
        Output("bn-picked", "data"),
        Input("bn-steps", "selected_rows"),
        State("bn-steps", "data"),
        *filter_states()[:6],
        State("lang", "value"),
        prevent_initial_call=True,
    )
    async def _drill(*args: Any) -> Any:
        got = await guarded(drill)(svc, *args)
        return got if isinstance(got, tuple) else (got, no_update)
