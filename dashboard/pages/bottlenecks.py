"""Bottlenecks: steps and handoffs ranked by the delay they cause, with a drill-down to the
dossiers behind a number."""

from __future__ import annotations

from dash import Dash, Input, Output, html

from dashboard.components import (
    filter_inputs,
    guarded,
    in_hours,
    make_filter,
    notice,
    section,
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


def layout(lang: str) -> html.Div:
    return html.Div(
        [
            html.Div(id="bn-body"),
            section(
                t("bn.drill", lang),
                html.Div(id="bn-drill", children=t("bn.hint", lang)),
                "bn-drill-panel",
            ),
        ],
        id="page-bottlenecks",
    )


def register(app: Dash, svc: Service) -> None:
    @app.callback(Output("bn-body", "children"), *filter_inputs())
    @guarded
    def body(procedure, province, commune, start, end, channel, _version, lang):
        flt = make_filter(svc, procedure, province, commune, start, end, channel)
        found = svc.section(flt, "bottlenecks")
        if not found:
            return notice("na", lang)
        waits, handoffs = in_hours(found.get("waits", [])), in_hours(found.get("handoffs", []))
        return html.Div(
            [
                section(
                    t("bn.steps", lang),
                    table(waits, "bn-steps", lang, columns=STEP_COLUMNS, selectable=True),
                    "bn-steps-p",
                ),
                section(
                    t("bn.handoffs", lang),
                    table(handoffs, "bn-handoffs", lang, columns=HANDOFF_COLUMNS),
                    "bn-handoffs-p",
                ),
            ]
        )

    @app.callback(
        Output("bn-drill", "children"),
        Input("bn-steps", "selected_rows"),
        Input("bn-steps", "derived_virtual_data"),
        *filter_inputs(),
    )
    @guarded
    def drill(selected, shown, procedure, province, commune, start, end, channel, _v, lang):
        if not selected or not shown or selected[0] >= len(shown):
            return t("bn.hint", lang)
        activity = shown[selected[0]]["activity"]
        flt = make_filter(svc, procedure, province, commune, start, end, channel)
        page = svc.cases(flt, activity=activity, limit=100, sort="duration_s", descending=True)
        return html.Div(
            [
                html.P(
                    [html.Strong(activity), f": {page['total']:,}"],
                    id="bn-drill-total",
                    **{"data-total": str(page["total"])},
                ),
                table(in_hours(page["items"]), "bn-drill-table", lang, columns=DRILL_COLUMNS),
            ]
        )
