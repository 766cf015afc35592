"""Reform: candidates with their evidence, and a what-if where an official ticks steps to remove
and sees projected cycle time, on-time and full-online rates."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dcc, html

from dashboard.components import (
    filter_inputs,
    fmt,
    get,
    guarded,
    make_filter,
    notice,
    pct,
    records,
    section,
    table,
)
from dashboard.i18n import pick, t
from dashboard.service import NotAvailable, Service

PATH = "/reform"
CANDIDATE_COLUMNS = [
    "activity",
    "recommendation",
    "frequency",
    "saving_working_days",
    "saving_visits",
    "score",
]


def layout(lang: str) -> html.Div:
    return html.Div(
        [
            html.Div(id="rf-body"),
            section(
                t("rf.whatif", lang),
                html.Div(
                    [
                        dcc.Checklist(id="rf-steps", options=[], value=[], inline=True),
                        html.Button(t("rf.run", lang), id="rf-run", n_clicks=0),
                        dcc.Loading(html.Div(id="rf-result", children=t("rf.pick", lang))),
                    ]
                ),
                "rf-whatif",
            ),
        ],
        id="page-reform",
    )


def register(app: Dash, svc: Service) -> None:
    @app.callback(Output("rf-body", "children"), *filter_inputs())
    @guarded
    def body(procedure, province, commune, start, end, channel, _v, lang):
        if not procedure:
            return html.P(t("ex.pick", lang), className="hint")
        flt = make_filter(procedure, province, commune, start, end, channel)
        parts = []
        try:
            cands = records(svc.reform("candidates", flt))
            rows = [
                {**c, "reasons": " ".join(pick(r, lang) for r in c.get("reasons", []))}
                for c in cands
            ]
            cols = [c for c in CANDIDATE_COLUMNS if rows and c in rows[0]] or None
            if cols:
                cols.append("reasons")
            parts.append(
                section(
                    t("rf.candidates", lang),
                    table(rows, "rf-candidates", lang, columns=cols),
                    "rf-cand",
                )
            )
        except NotAvailable as exc:
            parts.append(section(t("rf.candidates", lang), notice("na", lang, str(exc)), "rf-c"))
        try:
            ready = svc.reform("readiness", flt)
            share = get(ready, "full_online_share", "full_online_rate")
            parts.append(
                section(
                    t("rf.readiness", lang),
                    html.Div(
                        [
                            html.P(f"{t('card.full_online', lang)}: {pct(share)}"),
                            table(records(get(ready, "blockers") or []), "rf-blockers", lang),
                        ]
                    ),
                    "rf-ready",
                )
            )
        except NotAvailable as exc:
            parts.append(section(t("rf.readiness", lang), notice("na", lang, str(exc)), "rf-r"))
        return html.Div(parts)

    @app.callback(Output("rf-steps", "options"), *filter_inputs())
    def step_options(procedure, province, commune, start, end, channel, _v, lang):
        if not procedure:
            return []
        try:
            flt = make_filter(procedure, province, commune, start, end, channel)
            cands = records(svc.reform("candidates", flt))
        except Exception:  # no candidates: nothing to tick
            return []
        return [
            {"label": pick(get(c, "label", "activity"), lang), "value": c["activity"]}
            for c in cands
            if c.get("activity")
        ]

    @app.callback(
        Output("rf-result", "children"),
        Input("rf-run", "n_clicks"),
        State("rf-steps", "value"),
        *[State(i.component_id, i.component_property) for i in filter_inputs()],
    )
    @guarded
    def run(clicks, steps, procedure, province, commune, start, end, channel, _v, lang):
        if not clicks or not steps:
            return t("rf.pick", lang)
        flt = make_filter(procedure, province, commune, start, end, channel)
        result = svc.reform("whatif", flt, remove=list(steps))
        return whatif_view(result, lang)


def whatif_view(result: Any, lang: str) -> html.Div:
    """Baseline versus projected, for each measure mining reports."""
    base = get(result, "baseline") or {}
    proj = get(result, "projected", "scenario", "after") or {}
    rows = []
    for key in sorted(set(base) & set(proj)):
        b, p = base[key], proj[key]
        if isinstance(b, int | float) and isinstance(p, int | float):
            show = pct if "rate" in key or "share" in key else fmt
            rows.append({"measure": key, "baseline": show(b), "projected": show(p)})
    notes = get(result, "assumptions") or []
    return html.Div(
        [
            table(rows, "rf-whatif-table", lang, columns=["measure", "baseline", "projected"]),
            html.Ul([html.Li(pick(n, lang)) for n in notes]) if isinstance(notes, list) else None,
        ],
        id="rf-whatif-result",
    )
