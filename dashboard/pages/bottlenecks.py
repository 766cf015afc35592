"""Bottlenecks: steps and handoffs ranked by the delay they cause, in working days against
the procedure's legal limit; a picked row shows the wait per commune (or province) and the
dossiers behind the number."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dash import Dash, Input, Output, State, callback_context, dash_table, dcc, html, no_update

from dashboard import fmt
from dashboard.components import (
    Namer,
    filter_inputs,
    filter_states,
    guarded,
    in_hours,
    keep_key,
    legal_limit,
    limit_text,
    make_filter,
    namer,
    notice,
    redraw_input,
    redrawn,
    section,
    shielded,
    table,
)
from dashboard.i18n import t
from dashboard.pages.unit_waits import unit_waits_view
from dashboard.service import Service

PATH = "/bottlenecks"
STEP_COLUMNS = ["activity", "count", "median_wd", "p90_wd", "limit_share", "median_h", "total_h"]
HANDOFF_COLUMNS = [
    "province_code",
    "from_unit",
    "to_unit",
    "from_activity",
    "to_activity",
    "count",
    "median_wd",
    "limit_share",
    "mean_h",
    "total_h",
]
DRILL_COLUMNS = [
    "case_id",
    "province_code",
    "commune_code",
    "channel",
    "first_ts",
    "wait_wd",
    "duration_h",
    "outcome",
]
DRILL_LIMIT = 100


def render(svc: Service, values: tuple, lang: str) -> html.Div:
    """The page with its figures for the filter ``values`` (see ``filter_inputs``)."""
    return html.Div(
        [
            dcc.Store(id="bn-picked"),
            html.Div(shielded(body, svc, *values, None, lang), id="bn-body"),
            section(
                t("su.title", lang),
                html.Div(id="bn-units", children=t("bn.hint", lang)),
                "bn-units-panel",
            ),
            section(
                t("bn.drill", lang),
                html.Div(id="bn-drill", children=t("bn.hint", lang)),
                "bn-drill-panel",
            ),
        ],
        id="page-bottlenecks",
    )


def with_working_days(
    rows: list[dict[str, Any]], wd: dict, limit: int | None, pair: bool
) -> list[dict[str, Any]]:
    """Mining's rows with the median / p90 wait in working days and its share of the limit."""
    out = []
    for row in in_hours(rows):
        if pair:
            key = (row["to_activity"], row["from_activity"], row["from_unit"], row["to_unit"])
        else:
            key = (row["activity"], None, None, None)
        found = wd.get(key)
        median = found.median_working_days if found else None
        out.append(
            row
            | {
                "median_wd": median,
                "p90_wd": found.p90_working_days if found else None,
                "limit_share": median / limit if (median is not None and limit) else None,
            }
        )
    return out


def body(svc: Service, procedure, province, commune, start, end, channel, _v, picked, lang):
    """Steps and handoffs ranked; the step picked before (``picked``) stays selected."""
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    svc.prefetch(flt)  # the drill-down reads the filter's loaded log
    found = svc.section(flt, "bottlenecks")
    if not found:
        return notice("na", lang)
    wd = svc.step_working_days(flt)
    limit = legal_limit(svc, flt)
    waits = with_working_days(found.get("waits", []), wd, limit, pair=False)
    handoffs = with_working_days(found.get("handoffs", []), wd, limit, pair=True)
    keep = keep_key(procedure, province, commune, start, end, channel)
    names = namer(svc, lang, procedure)
    # By name, not position: a live refresh may rank the steps differently.
    selected = [i for i, w in enumerate(waits) if picked and w.get("activity") == picked][:1]
    shown = limit_text(svc, flt, lang)
    return html.Div(
        [
            html.P(t("bn.limit", lang).format(limit=shown), id="bn-limit") if shown else None,
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
                    namer=names,
                ),
                "bn-steps-p",
            ),
            section(
                t("bn.handoffs", lang),
                table(
                    handoffs,
                    "bn-handoffs",
                    lang,
                    columns=HANDOFF_COLUMNS,
                    keep=keep,
                    selectable=True,
                    namer=names,
                )
                if handoffs
                else html.Div(  # kept empty: the drill-down callback takes its selection
                    [
                        html.P(t("empty", lang), className="empty"),
                        dash_table.DataTable(
                            id="bn-handoffs", data=[], columns=[], style_table={"display": "none"}
                        ),
                    ]
                ),
                "bn-handoffs-p",
            ),
        ]
    )


def case_link(case_id: str) -> str:
    """A markdown link to the case page; the id escaped for markdown, quoted in the URL."""
    shown = "".join("\\" + c if c in "\\`*_{}[]()#+-.!<>|" else c for c in case_id)
    return f"[{shown}](/case?id={quote(case_id, safe='')})"


def drill(svc: Service, activity: str, flt: Any, lang: str, names: Namer) -> Any:
    """The dossiers through ``activity``, the longest wait at it first, with the count."""
    page = svc.cases(flt, activity=activity, limit=DRILL_LIMIT, sort="step_wait_s", descending=True)
    rows = in_hours(page["items"])
    calendar = svc.calendar()
    for row in rows:
        a, b = row.get("step_wait_from"), row.get("step_wait_to")
        row["wait_wd"] = None if a is None or b is None else calendar.working_days_between(a, b)
    shown = t("bn.drill_count", lang).format(
        shown=fmt.number(len(rows), lang), total=fmt.number(page["total"], lang)
    )
    tbl = table(rows, "bn-drill-table", lang, columns=DRILL_COLUMNS, namer=names)
    if hasattr(tbl, "columns"):  # dossier ids link to the case page
        for col in tbl.columns:
            if col["id"] == "case_id":
                col["presentation"] = "markdown"
        tbl.data = [d | {"case_id": case_link(str(d["case_id"]))} for d in tbl.data]
        tbl.markdown_options = {"link_target": "_self"}
    return html.Div(
        [
            html.P(
                [html.Strong(names.name("step", activity)), f": {shown}"],
                id="bn-drill-total",
                title=activity,
                **{"data-total": str(page["total"]), "data-step": activity},
            ),
            tbl,
        ]
    )


def picked_row(which: str, selected, rows) -> tuple[str, str | None] | None:
    """(step, previous step) of the row picked in the steps or handoffs table."""
    if not selected or not rows or selected[0] >= len(rows):
        return None
    row = rows[selected[0]]
    if which == "bn-steps":
        return row["activity__code"], None
    return row["to_activity__code"], row["from_activity__code"]


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

    def show(which: str, selected, rows, procedure, province, commune, start, end, channel, lang):
        got = picked_row(which, selected, rows)
        if got is None:
            return t("bn.hint", lang), t("bn.hint", lang), None
        step, after = got
        flt = make_filter(svc, procedure, province, commune, start, end, channel)
        names = namer(svc, lang, procedure)
        by_unit = shielded(unit_waits_view, svc, flt, step, after, lang)
        return by_unit, shielded(drill, svc, step, flt, lang, names), step

    # A new steps table (filters changed, live refresh) brings this back with its selection.
    @app.callback(
        Output("bn-units", "children"),
        Output("bn-drill", "children"),
        Output("bn-picked", "data"),
        Input("bn-steps", "selected_rows"),
        Input("bn-handoffs", "selected_rows"),
        State("bn-steps", "data"),
        State("bn-handoffs", "data"),
        *filter_states()[:6],
        State("lang", "value"),
        prevent_initial_call=True,
    )
    async def _drill(steps_sel, handoffs_sel, steps, handoffs, *args: Any) -> Any:
        fired = [t_["prop_id"] for t_ in callback_context.triggered]
        # A redraw (filters, live refresh) brings both tables back at once: the one with a
        # selection is the one picked, the handoffs only when the user picked one there.
        clicked = any(f.startswith("bn-handoffs") for f in fired) and bool(handoffs_sel)
        which = "bn-handoffs" if clicked or (handoffs_sel and not steps_sel) else "bn-steps"
        selected, rows = (handoffs_sel, handoffs) if which == "bn-handoffs" else (steps_sel, steps)
        got = await guarded(show)(which, selected, rows, *args)
        if not isinstance(got, tuple):
            return got, no_update, no_update
        units, drilled, step = got
        return units, drilled, step if which == "bn-steps" else no_update
