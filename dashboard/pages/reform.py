"""Reform: what to cut and where the delay is, led by a chart of the total working days each
top candidate would save; ticks in the candidate rows run a what-if whose result shows a
before/after waterfall and the differences; and the measured impact of a reform already made
(before versus after its date, with confidence intervals and significance).

Every figure goes through ``dashboard.fmt`` (Vietnamese formats by default), every step by
its catalog name in the page's language.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update

from dashboard import fmt as f
from dashboard.components import (
    content_callback,
    figure,
    filter_states,
    guarded,
    make_filter,
    notice,
    section,
    shielded,
    table,
    viewer,
)
from dashboard.i18n import pick, t
from dashboard.service import NotAvailable, Service
from mining.filters import LogFilter
from mining.reform.source import candidate_options

PATH = "/reform"
TOP_CHART = 10  # candidates in the lead chart
_BY = {"unit": "unit", "province": "province_code", "commune": "commune_code"}
IMPACT_COLUMNS = ["measure", "before", "after", "difference", "ci95", "p_holm", "verdict"]
WHATIF_COLUMNS = ["measure", "baseline", "projected", "difference"]


def reform_view(svc: Service, flt: LogFilter) -> tuple[LogFilter, dict[str, Any]]:
    """The log the page's reform figures read and their options (as ``api.reform_view``):
    a province (commune) filter is the focus, set against the other units the viewer may
    read."""
    from dashboard import auth
    from mining.reform.source import peer_view

    peers, focus, by = peer_view(flt, auth.may_read_unit(viewer(svc), None, None))
    return peers, {"by": by, "focus": tuple(sorted(focus.items())) if focus else None}


def _candidates(svc: Service, procedure, province, commune, start, end, channel) -> dict:
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    peers, options = reform_view(svc, flt)
    options = candidate_options(options["by"], dict(options["focus"] or ()))
    return svc.reform("candidates", peers, **options)


def render(svc: Service, values: tuple, lang: str) -> html.Div:
    """The page with its figures for the filter ``values`` (see ``filter_inputs``)."""
    return html.Div(
        [
            html.Div(shielded(body, svc, *values, lang), id="rf-body"),
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
                                    display_format="DD/MM/YYYY",
                                    month_format="MMMM YYYY" if lang == "en" else "MMMM/YYYY",
                                    first_day_of_week=1,
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


def _what(c: dict, lang: str) -> str:
    """A candidate's display name: its catalog step (or handoff) name, and its unit."""
    name = pick(c.get("label") or c.get("step"), lang)
    unit = pick(c.get("unit_name"), lang) if c.get("unit_name") else ""
    return f"{name} — {unit}" if unit else name


def _total(c: dict) -> float:
    return float((c.get("saving") or {}).get("working_days_total") or 0.0)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def savings_chart(result: dict, lang: str) -> dict[str, Any]:
    """Horizontal bars: total working days saved (days × dossiers) by the top candidates."""
    top = [c for c in result.get("candidates", []) if _total(c) > 0][:TOP_CHART][::-1]
    return figure(
        [
            {
                "type": "bar",
                "orientation": "h",
                "x": [_total(c) for c in top],
                "y": [f"#{c['rank']} {_what(c, lang)}" for c in top],
                "text": [f.days(_total(c), lang) for c in top],
                "textposition": "auto",
                "hovertext": [pick(c.get("recommendation_label"), lang) for c in top],
                "marker": {"color": ["#c0392b" if c["kind"] != "step" else "#2e86c1" for c in top]},
            }
        ],
        title={"text": t("rf.chart_title", lang)},
        xaxis={"title": {"text": t("rf.total_days", lang)}, "separatethousands": True},
        yaxis={"automargin": True},
        height=120 + 34 * max(len(top), 1),
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
        separators=",." if lang == "vi" else ".,",
    )


def _law(c: dict, lang: str) -> str:
    if not c.get("required"):
        return ""
    if c.get("required_inferred"):
        return t("rf.required_inferred", lang)
    basis = c.get("legal_basis") or ""
    check = "" if c.get("legal_basis_verified") else f" ({t('rf.unverified', lang)})"
    return f"{t('rf.required', lang)}: {basis}{check}"


def candidate_row(i: int, c: dict, lang: str) -> html.Tr:
    """One candidate: its tick for the what-if, its figures, its evidence behind a click."""
    s = c.get("saving") or {}
    can_simulate = bool(c.get("whatif")) and c.get("recommendation") != "keep"
    tick = dcc.Checklist(
        id={"type": "rf-tick", "index": i},
        options=[{"label": "", "value": i, "disabled": not can_simulate}],
        value=[],
        className="rf-tick",
    )
    evidence = html.Details(
        [
            html.Summary(t("rf.evidence", lang)),
            html.Ul([html.Li(pick(r, lang)) for r in c.get("reasons", [])]),
        ]
    )
    cells = [
        tick,
        str(c.get("rank")),
        _what(c, lang),
        pick(c.get("recommendation_label"), lang),
        _law(c, lang),
        f.days(s.get("working_days_per_affected_dossier"), lang),
        f.number(s.get("affected_dossiers"), lang),
        f.days(s.get("working_days_total"), lang),
        f.number(_float(s.get("visits_total")), lang, 0),  # expected visits: 0 or "1.283"
        evidence,
    ]
    return html.Tr(
        [html.Td(x) for x in cells],
        className=f"candidate candidate-{c.get('kind')}",
        **{"data-step": str(c.get("step")), "data-kind": str(c.get("kind"))},
    )


CANDIDATE_HEADERS = [
    "rf.tick", "rf.rank", "rf.what", "rf.recommendation", "rf.law", "rf.per_dossier",
    "rf.dossiers", "rf.total", "rf.visits", "rf.evidence",
]  # fmt: skip


def candidates_view(result: dict, lang: str) -> html.Div:
    rows = result.get("candidates", [])
    if not rows:
        return html.P(t("empty", lang), className="empty")
    return html.Div(
        [
            html.P(t("rf.savings_note", lang), id="rf-savings-note", className="hint"),
            dcc.Graph(figure=savings_chart(result, lang), id="rf-chart"),
            html.Div(
                [
                    html.Button(t("rf.run", lang), id="rf-run", n_clicks=0),
                    html.Span(t("rf.pick", lang), className="hint"),
                ],
                className="toolbar",
            ),
            dcc.Loading(html.Div(id="rf-result")),
            html.Table(
                [
                    html.Thead(html.Tr([html.Th(t(h, lang)) for h in CANDIDATE_HEADERS])),
                    html.Tbody([candidate_row(i, c, lang) for i, c in enumerate(rows)]),
                ],
                id="rf-candidates",
                className="rf-candidates",
            ),
            html.Small(pick(result.get("method"), lang), className="detail"),
        ]
    )


def body(svc: Service, procedure, province, commune, start, end, channel, _v, lang):
    if not procedure:
        return html.P(t("ex.pick", lang), className="hint")
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    svc.prefetch(flt)  # the what-if and impact read the filter's StepLog
    parts = []
    try:
        shown = candidates_view(
            _candidates(svc, procedure, province, commune, start, end, channel), lang
        )
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
                "dossiers": f.number(b.get("dossiers"), lang),
                "share_of_blocked": f.percent(b.get("share_of_blocked"), lang),
            }
            for b in ready.get("blockers", [])
        ]
        share = f.percent(ready.get("full_online_share"), lang)
        shown = html.Div(
            [
                html.P(f"{t('card.full_online', lang)}: {share}", id="rf-online-share"),
                table(blockers, "rf-blockers", lang),
            ]
        )
    except NotAvailable as exc:
        shown = notice("na", lang, str(exc))
    parts.append(section(t("rf.readiness", lang), shown, "rf-ready"))
    return html.Div(parts)


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
    svc: Service, clicks, ticks, procedure, province, commune, start, end, channel, _v, lang
):
    """The scenario of the ticked candidates (each row's own ``whatif`` change)."""
    from mining.reform.whatif import Change

    chosen = sorted({i for values in ticks or [] for i in values or []})
    if not clicks or not chosen:
        return html.P(t("rf.pick", lang), className="hint")
    found = _candidates(svc, procedure, province, commune, start, end, channel)["candidates"]
    changes = tuple(Change(**found[i]["whatif"]) for i in chosen if found[i].get("whatif"))
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    peers, options = reform_view(svc, flt)
    result = svc.reform("whatif", peers, changes=changes, **options)
    names = {c["whatif"]["step"]: c for c in (found[i] for i in chosen)}
    return whatif_view(result, lang, names)


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

    @app.callback(
        Output("rf-result", "children"),
        Input("rf-run", "n_clicks"),
        State({"type": "rf-tick", "index": ALL}, "value"),
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


def _signed(value: float | None, show) -> str:
    if value is None:
        return f.DASH
    return ("+" if value > 0 else "") + show(value)


def whatif_rows(result: dict, lang: str) -> list[dict[str, Any]]:
    """Baseline, scenario and their difference for each measure, formatted for ``lang``."""
    base, new = result.get("baseline") or {}, result.get("scenario") or {}

    def cycle(side: dict, key: str) -> float | None:
        return (side.get("cycle_working_days") or {}).get(key)

    measures = [  # (label key, baseline, scenario, formatter, difference formatter)
        ("wi.cycle_mean", cycle(base, "mean"), cycle(new, "mean"), "days"),
        ("wi.cycle_median", cycle(base, "median"), cycle(new, "median"), "days"),
        ("card.on_time", base.get("on_time_rate"), new.get("on_time_rate"), "share"),
        ("card.full_online", base.get("full_online_share"), new.get("full_online_share"), "share"),
        ("wi.visits", base.get("visits_per_dossier"), new.get("visits_per_dossier"), "number"),
    ]
    rows = []
    for key, b, s, kind in measures:
        show = {
            "days": lambda v: f.days(v, lang),
            "share": lambda v: f.percent(v, lang),
            "number": lambda v: f.number(v, lang, 2),
        }[kind]
        diff = None if b is None or s is None else s - b
        shown_diff = (
            _signed(100 * diff, lambda v: f.number(v, lang)) + " " + t("wi.points", lang)
            if kind == "share" and diff is not None
            else _signed(diff, show)
        )
        rows.append(
            {
                "measure": t(key, lang),
                "baseline": show(b),
                "projected": show(s),
                "difference": shown_diff,
                "key": key,
            }
        )
    return rows


def waterfall(result: dict, lang: str, names: dict[str, dict]) -> dict[str, Any]:
    """Mean cycle time before → each change's part → after, in working days."""
    base = ((result.get("baseline") or {}).get("cycle_working_days") or {}).get("mean")
    new = ((result.get("scenario") or {}).get("cycle_working_days") or {}).get("mean")
    labels, values, measure = [t("wi.before", lang)], [base or 0.0], ["absolute"]
    for c in result.get("changes", []):
        cand = names.get(c["step"])
        labels.append(_what(cand, lang) if cand else c["step"])
        values.append(c.get("cycle_working_days_mean_change") or 0.0)
        measure.append("relative")
    labels.append(t("wi.after", lang))
    values.append(new or 0.0)
    measure.append("total")
    return figure(
        [
            {
                "type": "waterfall",
                "x": labels,
                "y": values,
                "measure": measure,
                "text": [f.days(v, lang) for v in values],
                "textposition": "outside",
                "connector": {"line": {"color": "#999"}},
            }
        ],
        title={"text": t("wi.waterfall", lang)},
        yaxis={"title": {"text": t("wi.cycle_mean", lang)}},
        height=360,
        margin={"l": 10, "r": 10, "t": 50, "b": 80},
        separators=",." if lang == "vi" else ".,",
    )


def unit_rows(result: dict, lang: str) -> list[dict[str, Any]]:
    """Per unit: mean working days and on-time rate, baseline beside scenario."""
    from mining.reform.text import unit_name

    by = result.get("by") or "unit"
    rows = []
    for u in result.get("units", []):
        b, s = u.get("baseline") or {}, u.get("scenario") or {}
        rows.append(
            {
                "unit": pick(unit_name(by, str(u.get(by))), lang),
                "dossiers": f.number(b.get("dossiers"), lang),
                "baseline": f.days((b.get("cycle_working_days") or {}).get("mean"), lang),
                "projected": f.days((s.get("cycle_working_days") or {}).get("mean"), lang),
                "on_time_before": f.percent(b.get("on_time_rate"), lang),
                "on_time_after": f.percent(s.get("on_time_rate"), lang),
            }
        )
    return rows


def whatif_view(result: dict, lang: str, names: dict[str, dict] | None = None) -> html.Div:
    """The scenario: waterfall, the measures with their differences, per unit, assumptions."""
    saved = (
        f"{t('wi.affected', lang)}: {f.number(result.get('affected_dossiers'), lang)} · "
        f"{t('rf.per_dossier', lang)}: "
        f"{f.days(result.get('saving_working_days_per_affected_dossier'), lang)} · "
        f"{t('rf.total', lang)}: {f.days(result.get('saving_working_days_total'), lang)}"
    )
    return html.Div(
        [
            html.P(saved, id="rf-affected"),
            dcc.Graph(figure=waterfall(result, lang, names or {}), id="rf-waterfall"),
            table(whatif_rows(result, lang), "rf-whatif-table", lang, columns=WHATIF_COLUMNS),
            html.H3(t("wi.per_unit", lang)),
            table(unit_rows(result, lang), "rf-whatif-units", lang, page_size=40),
            html.Ul([html.Li(pick(n, lang)) for n in result.get("assumptions") or []]),
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
        if m.get("statistic") == "share":
            show = lambda v: f.percent(v, lang)  # noqa: E731
        else:
            show = lambda v: f.number(v, lang, 2)  # noqa: E731
        lo, hi = m.get("ci95") or (None, None)
        p = m.get("p_holm")
        rows.append(
            {
                "measure": label,
                "before": show(m.get("before")),
                "after": show(m.get("after")),
                "difference": show(m.get("difference")),
                "ci95": f"[{show(lo)}, {show(hi)}]",
                "p_holm": f.number(p, lang, 4),
                "verdict": t(f"imp.{m.get('verdict', 'no_change')}", lang),
                "key": key,
            }
        )
    return rows


def impact_view(result: dict, lang: str) -> html.Div:
    """Before versus after a reform date: each measure with its interval and significance."""
    sides = (
        f"{t('imp.sides', lang)}: {f.number(result.get('dossiers_before'), lang)} / "
        f"{f.number(result.get('dossiers_after'), lang)} "
        f"({f.number(result.get('window_days'), lang)} {t('imp.days', lang)})"
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
