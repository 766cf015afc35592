"""Reform: candidates with their evidence, and a what-if where an official ticks steps to remove
and sees projected cycle time, on-time and full-online rates."""

from __future__ import annotations

import asyncio
from typing import Any

from dash import Dash, Input, Output, State, dcc, html

from dashboard.components import (
    filter_inputs,
    fmt,
    guarded,
    make_filter,
    notice,
    pct,
    section,
    table,
)
from dashboard.i18n import pick, t
from dashboard.service import NotAvailable, Service

PATH = "/reform"
CANDIDATE_COLUMNS = [
    "rank",
    "step",
    "recommendation",
    "dossier_share",
    "wait_hours",
    "failure_rate",
    "saving_working_days",
    "saving_visits",
    "score",
    "reasons",
]
MEASURES = [  # (key in mining's what-if summary, label key, percentage?)
    ("cycle_mean_wd", "wi.cycle_mean", False),
    ("cycle_median_wd", "wi.cycle_median", False),
    ("on_time_rate", "card.on_time", True),
    ("full_online_share", "card.full_online", True),
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


def candidate_rows(result: dict, lang: str) -> list[dict[str, Any]]:
    """Mining's candidates flattened for a table, labels and reasons in ``lang``."""
    rows = []
    for c in result.get("candidates", []):
        ev, saving = c.get("evidence", {}), c.get("saving", {})
        rows.append(
            {
                "rank": c.get("rank"),
                "step": pick(c.get("label") or c.get("step"), lang),
                "recommendation": pick(c.get("recommendation_label"), lang),
                "dossier_share": ev.get("dossier_share"),
                "wait_hours": ev.get("wait_hours"),
                "failure_rate": ev.get("failure_rate"),
                "saving_working_days": saving.get("working_days_per_affected_dossier"),
                "saving_visits": saving.get("visits_per_affected_dossier"),
                "score": c.get("score"),
                "reasons": " ".join(pick(r, lang) for r in c.get("reasons", [])),
            }
        )
    return rows


def summary_values(summary: dict) -> dict[str, Any]:
    cycle = summary.get("cycle_working_days") or {}
    return {
        "cycle_mean_wd": cycle.get("mean"),
        "cycle_median_wd": cycle.get("median"),
        "on_time_rate": summary.get("on_time_rate"),
        "full_online_share": summary.get("full_online_share"),
    }


def register(app: Dash, svc: Service) -> None:
    @app.callback(Output("rf-body", "children"), *filter_inputs())
    @guarded
    def body(procedure, province, commune, start, end, channel, _v, lang):
        if not procedure:
            return html.P(t("ex.pick", lang), className="hint")
        flt = make_filter(svc, procedure, province, commune, start, end, channel)
        parts = []
        try:
            rows = candidate_rows(svc.reform("candidates", flt), lang)
            body = table(rows, "rf-candidates", lang, columns=CANDIDATE_COLUMNS)
        except NotAvailable as exc:
            body = notice("na", lang, str(exc))
        parts.append(section(t("rf.candidates", lang), body, "rf-cand"))
        try:
            procs = svc.reform("readiness", flt).get("procedures") or [{}]
            ready = procs[0]
            blockers = [
                {
                    "step": pick(b.get("label"), lang),
                    "reason": pick(b.get("reason_label"), lang),
                    "dossiers": b.get("dossiers"),
                    "share_of_blocked": b.get("share_of_blocked"),
                }
                for b in ready.get("blockers", [])
            ]
            share = pct(ready.get("full_online_share"))
            body = html.Div(
                [
                    html.P(f"{t('card.full_online', lang)}: {share}", id="rf-online-share"),
                    table(blockers, "rf-blockers", lang),
                ]
            )
        except NotAvailable as exc:
            body = notice("na", lang, str(exc))
        parts.append(section(t("rf.readiness", lang), body, "rf-ready"))
        return html.Div(parts)

    @app.callback(Output("rf-steps", "options"), *filter_inputs())
    async def step_options(procedure, province, commune, start, end, channel, _v, lang):
        if not procedure:
            return []
        try:
            flt = make_filter(svc, procedure, province, commune, start, end, channel)
            found = (await asyncio.to_thread(svc.reform, "candidates", flt)).get("candidates", [])
        except Exception:  # no candidates, nothing to tick; the body shows why
            return []
        return [
            {"label": pick(c.get("label") or c["step"], lang), "value": c["step"]} for c in found
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
        flt = make_filter(svc, procedure, province, commune, start, end, channel)
        return whatif_view(svc.reform("whatif", flt, remove=sorted(steps)), lang)


def whatif_view(result: dict, lang: str) -> html.Div:
    """Baseline versus projected for cycle time, on-time and full-online rates."""
    base = summary_values(result.get("baseline") or {})
    proj = summary_values(result.get("scenario") or {})
    rows = []
    for key, label, is_pct in MEASURES:
        show = pct if is_pct else fmt
        rows.append(
            {
                "measure": t(label, lang),
                "baseline": show(base[key]),
                "projected": show(proj[key]),
                "key": key,
            }
        )
    notes = result.get("assumptions") or []
    affected = result.get("affected_dossiers")
    return html.Div(
        [
            html.P(f"{t('wi.affected', lang)}: {fmt(affected)}", id="rf-affected"),
            table(rows, "rf-whatif-table", lang, columns=["measure", "baseline", "projected"]),
            html.Ul([html.Li(pick(n, lang)) for n in notes]),
        ],
        id="rf-whatif-result",
    )
