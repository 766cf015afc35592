"""Reform: candidates with their evidence; a what-if where an official ticks steps to remove and
sees projected cycle time, on-time and full-online rates; and the measured impact of a reform
already made (before versus after its date, with confidence intervals and significance)."""

from __future__ import annotations

from datetime import date
from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard.components import (
    content_callback,
    filter_states,
    fmt,
    guarded,
    keep_key,
    make_filter,
    notice,
    pct,
    section,
    shielded,
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


IMPACT_COLUMNS = ["measure", "before", "after", "difference", "ci95", "p_holm", "verdict"]


def render(svc: Service, values: tuple, lang: str) -> html.Div:
    """The page with its figures for the filter ``values`` (see ``filter_inputs``)."""
    return html.Div(
        [
            html.Div(shielded(body, svc, *values, lang), id="rf-body"),
            section(
                t("rf.whatif", lang),
                html.Div(
                    [
                        dcc.Checklist(
                            id="rf-steps",
                            options=step_options(svc, *values, lang),
                            value=[],
                            inline=True,
                        ),
                        html.Button(t("rf.run", lang), id="rf-run", n_clicks=0),
                        dcc.Loading(html.Div(id="rf-result", children=t("rf.pick", lang))),
                    ]
                ),
                "rf-whatif",
            ),
            section(
                t("rf.impact", lang),
                html.Div(
                    [
                        html.Div(
                            [
                                html.Label(t("rf.impact_change", lang), htmlFor="rf-impact-change"),
                                dcc.Dropdown(
                                    id="rf-impact-change",
                                    options=change_options(svc, *values, lang),
                                    placeholder=t("rf.impact_change_hint", lang),
                                    style={"minWidth": "420px"},
                                ),
                            ],
                            className="toolbar",
                        ),
                        html.Div(
                            [
                                html.Label(t("rf.impact_date", lang), htmlFor="rf-impact-date"),
                                dcc.DatePickerSingle(
                                    id="rf-impact-date",
                                    display_format="YYYY-MM-DD",
                                    style={"width": "200px"},
                                ),
                                html.Button(
                                    t("rf.impact_run", lang), id="rf-impact-run", n_clicks=0
                                ),
                            ],
                            className="toolbar",
                        ),
                        dcc.Loading(html.Div(id="rf-impact", children=t("rf.impact_pick", lang))),
                    ]
                ),
                "rf-impact-panel",
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


def body(svc: Service, procedure, province, commune, start, end, channel, _v, lang):
    if not procedure:
        return html.P(t("ex.pick", lang), className="hint")
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    svc.prefetch(flt)  # the what-if and impact read the filter's StepLog
    keep = keep_key(procedure, province, commune, start, end, channel)
    parts = []
    try:
        rows = candidate_rows(svc.reform("candidates", flt), lang)
        shown = table(rows, "rf-candidates", lang, columns=CANDIDATE_COLUMNS, keep=keep)
    except NotAvailable as exc:
        shown = notice("na", lang, str(exc))
    parts.append(section(t("rf.candidates", lang), shown, "rf-cand"))
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
        shown = html.Div(
            [
                html.P(f"{t('card.full_online', lang)}: {share}", id="rf-online-share"),
                table(blockers, "rf-blockers", lang, keep=keep),
            ]
        )
    except NotAvailable as exc:
        shown = notice("na", lang, str(exc))
    parts.append(section(t("rf.readiness", lang), shown, "rf-ready"))
    return html.Div(parts)


def step_options(svc: Service, procedure, province, commune, start, end, channel, _v, lang):
    """The candidate steps to tick in the what-if (none when there are no candidates)."""
    if not procedure:
        return []
    try:
        flt = make_filter(svc, procedure, province, commune, start, end, channel)
        found = svc.reform("candidates", flt).get("candidates", [])
    except Exception:  # no candidates, nothing to tick; the body shows why
        return []
    return [{"label": pick(c.get("label") or c["step"], lang), "value": c["step"]} for c in found]


def change_options(svc: Service, procedure, province, commune, start, end, channel, _v, lang):
    """Step changes seen in the store (``Service.step_changes``), each offering its date."""
    if not procedure:
        return []
    try:
        flt = make_filter(svc, procedure, province, commune, start, end, channel)
        found = svc.step_changes(flt)
    except Exception:  # suggestions only: the date can still be picked by hand
        return []
    return [
        {
            "label": t(f"imp.{c['change']}", lang).format(
                step=c["activity"], date=c["date"].isoformat()
            ),
            "value": c["date"].isoformat(),
        }
        for c in found
    ]


def run_whatif(
    svc: Service, clicks, steps, procedure, province, commune, start, end, channel, _v, lang
):
    if not clicks or not steps:
        return t("rf.pick", lang)
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    return whatif_view(svc.reform("whatif", flt, remove=sorted(steps)), lang)


def run_impact(
    svc: Service, clicks, when, procedure, province, commune, start, end, channel, _v, lang
):
    if not clicks or not when:
        return t("rf.impact_pick", lang)
    if not procedure:
        return html.P(t("ex.pick", lang), className="hint")
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    return impact_view(svc.reform("impact", flt, when=date.fromisoformat(when[:10])), lang)


def register(app: Dash, svc: Service) -> None:
    # ``render`` fills the page when it opens; these run for a later change or a stale page.
    @content_callback(app, Output("rf-body", "children"))
    def _body(*args: Any) -> Any:
        return body(svc, *args)

    @content_callback(app, Output("rf-steps", "options"))
    def _step_options(*args: Any) -> Any:
        return step_options(svc, *args)

    @app.callback(
        Output("rf-result", "children"),
        Input("rf-run", "n_clicks"),
        State("rf-steps", "value"),
        *filter_states(),
        prevent_initial_call=True,
    )
    @guarded
    def _run(*args: Any) -> Any:
        return run_whatif(svc, *args)

    @content_callback(app, Output("rf-impact-change", "options"))
    def _change_options(*args: Any) -> Any:
        return change_options(svc, *args)

    @app.callback(
        Output("rf-impact-date", "date"),
        Input("rf-impact-change", "value"),
        prevent_initial_call=True,
    )
    def _change_date(day: str | None) -> Any:
        return day or no_update

    @app.callback(
        Output("rf-impact", "children"),
        Input("rf-impact-run", "n_clicks"),
        State("rf-impact-date", "date"),
        *filter_states(),
        prevent_initial_call=True,
    )
    @guarded
    def _impact(*args: Any) -> Any:
        return run_impact(svc, *args)


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


def impact_rows(result: dict, lang: str) -> list[dict[str, Any]]:
    """Mining's impact measures as table rows: medians in working days, shares in percent."""
    rows = []
    for key, m in (result.get("measures") or {}).items():
        label = pick(m.get("label"), lang) or key
        if not m.get("supported"):
            rows.append({"measure": label, "verdict": t("imp.unsupported", lang), "key": key})
            continue
        show = pct if m.get("statistic") == "share" else (lambda v: fmt(v, 2))
        lo, hi = m.get("ci95") or (None, None)
        p = m.get("p_holm")
        rows.append(
            {
                "measure": label,
                "before": show(m.get("before")),
                "after": show(m.get("after")),
                "difference": show(m.get("difference")),
                "ci95": f"[{show(lo)}, {show(hi)}]",
                "p_holm": "–" if p is None else f"{p:.4f}",
                "verdict": t(f"imp.{m.get('verdict', 'no_change')}", lang),
                "key": key,
            }
        )
    return rows


def impact_view(result: dict, lang: str) -> html.Div:
    """Before versus after a reform date: each measure with its interval and significance."""
    sides = (
        f"{t('imp.sides', lang)}: {fmt(result.get('dossiers_before'))} / "
        f"{fmt(result.get('dossiers_after'))} ({result.get('window_days')} {t('imp.days', lang)})"
    )
    return html.Div(
        [
            html.P(
                [html.Strong(t(f"imp.{result.get('verdict', 'no_change')}", lang)), f" · {sides}"],
                id="rf-impact-verdict",
                **{"data-verdict": str(result.get("verdict"))},
            ),
            table(impact_rows(result, lang), "rf-impact-table", lang, columns=IMPACT_COLUMNS),
            html.Small(pick(result.get("method"), lang), className="detail"),
        ],
        id="rf-impact-result",
    )
