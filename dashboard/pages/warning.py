"""Early warning: the morning list of open dossiers at risk of finishing late, for the
signed-in official's province or commune, counts by unit, and the quality card.

Each dossier links to its timeline (``/case?id=…``). The list is ``Service.warnings``, the
same call as ``GET /api/v1/warnings``, so the page shows what the API answers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dash import Dash, Output, dcc, html

from dashboard import fmt
from dashboard.components import card, content_callback, make_filter, section, shielded
from dashboard.i18n import pick, t
from dashboard.service import Service

PATH = "/warning"
TOP = 50  # the API's default list length


def render(svc: Service, values: tuple, lang: str) -> html.Div:
    return html.Div(html.Div(shielded(body, svc, *values, lang), id="wn-body"), id="page-warning")


def body(svc: Service, procedure, province, commune, start, end, channel, _version, lang) -> Any:
    if not procedure:
        return html.P(t("wn.pick", lang), id="wn-pick")
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    result = svc.warnings(flt, top=TOP)
    parts: list[Any] = []
    if result.message is not None:
        message = pick(result.message.model_dump(), lang)
        parts.append(html.Div(message, className="notice", id="wn-message"))
    parts.append(_cards(result, lang))
    parts.append(section(t("wn.list", lang), _list(result, lang), "wn-list-panel"))
    parts.append(section(t("wn.units", lang), _units(result, lang), "wn-units-panel"))
    if result.quality is not None:
        parts.append(section(t("wn.quality", lang), _quality(result.quality, lang), "wn-q"))
    return html.Div(parts)


def _cards(result: Any, lang: str) -> html.Div:
    return html.Div(
        [
            card(t("wn.as_of", lang), fmt.moment(result.as_of, lang), "wn-card-as-of"),
            card(t("wn.open", lang), fmt.number(result.open_dossiers, lang), "wn-card-open"),
            card(t("wn.flagged", lang), fmt.number(result.flagged, lang), "wn-card-flagged"),
            card(t("wn.method", lang), t(f"wn.method.{result.method}", lang), "wn-card-method"),
            card(t("wn.trained", lang), fmt.number(result.trained_on, lang), "wn-card-trained"),
            card(t("wn.model_at", lang), _model_at(result, lang), "wn-card-model-at"),
        ],
        className="cards",
    )


def _model_at(result: Any, lang: str) -> str:
    """When the answering model was trained, and whether a newer one is training."""
    if result.method == "rule" or result.model_trained_at is None:
        return fmt.DASH
    text = fmt.moment(result.model_trained_at, lang)
    return text + (f" ({t('wn.retraining', lang)})" if result.retraining else "")


def _unit(code: str | None, name: Any, lang: str) -> Any:
    if not code:
        return fmt.DASH
    return html.Span(pick(name.model_dump(), lang) if name else code, title=code)


def _table(table_id: str, header: list[str], rows: list[list[Any]]) -> html.Table:
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in header])),
            html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows]),
        ],
        id=table_id,
        className="wn-table",
    )


def _list(result: Any, lang: str) -> Any:
    if not result.items:
        return html.P(t("empty", lang), className="empty")
    header = ["rank", "case", "prob", "rule", "step", "unit", "waited", "due", "finish", "reasons"]
    rows = []
    for i in result.items:
        finish = (
            f"{fmt.day(i.expected_finish, lang)} ({fmt.day(i.expected_finish_low, lang)} – "
            f"{fmt.day(i.expected_finish_high, lang)})"
            if i.expected_finish
            else fmt.DASH
        )
        rows.append(
            [
                fmt.number(i.rank, lang),
                dcc.Link(i.case_id, href=f"/case?id={quote(i.case_id)}", className="wn-case"),
                fmt.percent(i.probability_late, lang, 0),
                t(f"wn.st.{i.rule_status}", lang) if i.rule_status else fmt.DASH,
                pick(i.step_label.model_dump(), lang) if i.step_label else fmt.DASH,
                _unit(i.unit, i.unit_name, lang),
                f"{fmt.days(i.waited_days, lang)} / {fmt.days(i.usual_wait_days, lang)}",
                fmt.day(i.due, lang),
                finish,
                html.Ul([html.Li(pick(r.model_dump(), lang)) for r in i.reasons]),
            ]
        )
    return _table("wn-list", [t(f"wn.{h}", lang) for h in header], rows)


def _units(result: Any, lang: str) -> Any:
    header = [t(k, lang) for k in ("wn.unit", "wn.open", "wn.flagged", "wn.mean_prob")]
    rows = [
        [
            _unit(u.unit, u.unit_name, lang),
            fmt.number(u.open, lang),
            fmt.number(u.flagged, lang),
            fmt.percent(u.mean_probability, lang, 0),
        ]
        for u in result.by_unit
    ]
    return _table("wn-units", header, rows)


def _quality(q: Any, lang: str) -> Any:
    keys = (
        "share",
        "dossiers",
        "late",
        "auc_model",
        "auc_rule",
        "brier_model",
        "brier_rule",
        "precision",
    )
    rows = [fmt.quality_cells(p, lang) for p in q.points]
    parts: list[Any] = [_table("wn-quality", [t(f"wn.{k}", lang) for k in keys], rows)]
    if q.lead_time is not None:
        text = t("wn.lead", lang).format(
            m=fmt.days(q.lead_time.model_days, lang),
            r=fmt.days(q.lead_time.rule_days, lang),
            e=fmt.days(q.remaining_mae_days, lang),
        )
        parts.append(html.P(text, id="wn-lead"))
    return html.Div(parts)


def register(app: Dash, svc: Service) -> None:
    # ``render`` fills the page when it opens; this runs for a later change or a stale page.
    @content_callback(app, Output("wn-body", "children"))
    def _body(*args: Any) -> Any:
        return body(svc, *args)
