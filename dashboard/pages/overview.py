"""Overview: service-index and on-time cards, trends, ranking of units, live stream health."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html

from dashboard.components import (
    card,
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
from dashboard.i18n import t
from dashboard.service import NotAvailable, Service
from dvcflow.errors import DvcflowError

PATH = "/"


def layout(lang: str) -> html.Div:
    return html.Div(
        [
            html.Div(id="ov-body"),
            section(t("ov.stream", lang), html.Div(id="ov-stream"), "ov-stream-panel"),
        ],
        id="page-overview",
    )


def _try(fn: Any) -> Any:
    try:
        return fn()
    except (NotAvailable, DvcflowError):
        return None


def kpis(svc: Service, flt: Any) -> dict[str, Any]:
    """The headline figures, each from its own mining function (None when unavailable)."""
    sla = _try(lambda: svc.section(flt, "sla")) or {}
    ready = _try(lambda: svc.reform("readiness", flt)) or {}
    index = _try(lambda: svc.reform("service_index", flt, by="procedure"))
    return {
        "cases": svc.cases(flt, limit=1)["total"],
        "on_time_rate": get(sla, "on_time_rate"),
        "full_online_share": get(ready, "full_online_share", "full_online_rate"),
        "service_index": get(index, "total", "score", "index") if isinstance(index, dict) else None,
    }


def register(app: Dash, svc: Service) -> None:
    @app.callback(Output("ov-body", "children"), *filter_inputs())
    @guarded
    def body(procedure, province, commune, start, end, channel, _version, lang) -> Any:
        flt = make_filter(procedure, province, commune, start, end, channel)
        k = kpis(svc, flt)
        cards = html.Div(
            [
                card(t("card.cases", lang), fmt(k["cases"]), "card-cases"),
                card(t("card.service_index", lang), fmt(k["service_index"]), "card-index"),
                card(t("card.on_time", lang), pct(k["on_time_rate"]), "card-on-time"),
                card(t("card.full_online", lang), pct(k["full_online_share"]), "card-online"),
            ],
            className="cards",
        )
        months = svc.trend(flt)
        fig = go.Figure(go.Bar(x=[m["month"] for m in months], y=[m["cases"] for m in months]))
        fig.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=260)
        trend = section(t("ov.trend", lang), dcc.Graph(figure=fig, id="ov-trend"), "ov-trend-p")
        by = "commune" if flt.province else "province"
        try:
            ranking = records(svc.reform("service_index", flt, by=by))
            ranked = table(ranking, "ov-ranking-table", lang, page_size=10)
        except NotAvailable as exc:
            ranked = notice("na", lang, str(exc))
        return html.Div([cards, trend, section(t("ov.ranking", lang), ranked, "ov-ranking")])

    @app.callback(
        Output("ov-stream", "children"), Input("tick", "n_intervals"), State("lang", "value")
    )
    @guarded
    def stream(_n: int | None, lang: str) -> Any:
        health = svc.stream_health()
        if not health:
            return html.P(t("ov.stream_off", lang))
        items = [
            ("st.in", get(health, "events_in_per_s", "in_per_s", "events_per_s_in")),
            ("st.out", get(health, "events_out_per_s", "out_per_s", "events_per_s_out")),
            ("st.lag", get(health, "lag", "consumer_lag")),
            ("st.dlq", get(health, "dlq", "dlq_count", "dead_letters")),
            ("st.last", get(health, "last_write", "last_write_at")),
        ]
        return html.Div(
            [card(t(k, lang), fmt(v), f"stream-{k[3:]}") for k, v in items], className="cards"
        )
