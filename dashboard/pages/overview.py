"""Overview: service-index and on-time cards, trends, ranking of units, live stream health."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dcc, html

from dashboard.components import (
    card,
    content_callback,
    figure,
    fmt,
    get,
    guarded,
    keep_key,
    make_filter,
    notice,
    pct,
    section,
    shielded,
    table,
)
from dashboard.i18n import t
from dashboard.service import NotAvailable, Service
from dvcflow.errors import DvcflowError
from mining.filters import LogFilter

PATH = "/"
RANK_COLUMNS = ["dossiers", "finished", "index_100", "on_time", "online_submission", "full_online"]


def render(svc: Service, values: tuple, lang: str) -> html.Div:
    """The page with its figures for the filter ``values`` (see ``filter_inputs``)."""
    return html.Div(
        [
            html.Div(shielded(body, svc, *values, lang), id="ov-body"),
            section(
                t("ov.stream", lang),
                html.Div(shielded(stream, svc, lang), id="ov-stream"),
                "ov-stream-panel",
            ),
        ],
        id="page-overview",
    )


def _try(fn: Any) -> Any:
    try:
        return fn()
    except (NotAvailable, DvcflowError):
        return None


def component_share(kpi: dict | None, name: str) -> float | None:
    """The share of one service-index component (e.g. ``full_online``) in mining's KPI."""
    for comp in get(kpi, "components") or []:
        if comp.get("component") == name:
            return comp.get("share")
    return None


def kpi_rows(result: dict, by: str) -> list[dict[str, Any]]:
    """Mining's KPI rows with each component's share as its own column (for tables)."""
    rows = []
    for row in result.get("rows", []):
        flat = {by: row.get(by), **{k: row.get(k) for k in RANK_COLUMNS[:3]}}
        for comp in row.get("components", []):
            flat[comp["component"]] = comp.get("share")
        rows.append(flat)
    return sorted(rows, key=lambda r: -(r.get("index_100") or 0))


def headline(svc: Service, flt: LogFilter, kpi: dict | None) -> dict[str, Any]:
    """The cards' figures, each straight from its mining function (None if unavailable)."""
    cases = svc.section(flt, "cases") or {}
    sla = _try(lambda: svc.section(flt, "sla")) or {}
    overall = (kpi or {}).get("overall")
    mean_s = cases.get("mean_duration_s")
    return {
        "cases": cases.get("count"),
        "service_index": get(overall, "index_100"),
        "on_time_rate": sla.get("on_time_rate"),
        "full_online_share": component_share(overall, "full_online"),
        "mean_cycle_days": mean_s / 86400 if mean_s is not None else None,
    }


def body(svc: Service, procedure, province, commune, start, end, channel, _version, lang) -> Any:
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    svc.prefetch(flt)  # the next page's drill-down or what-if on these filters reads none
    by = "commune" if flt.province else "province"
    keep = keep_key(procedure, province, commune, start, end, channel)
    try:
        kpi = svc.reform("service_index", flt, by=by)
        ranked = table(
            kpi_rows(kpi, by), "ov-ranking-table", lang, columns=[by, *RANK_COLUMNS], keep=keep
        )
    except NotAvailable as exc:
        kpi, ranked = None, notice("na", lang, str(exc))
    k = headline(svc, flt, kpi)
    cards = html.Div(
        [
            card(t("card.cases", lang), fmt(k["cases"]), "card-cases"),
            card(t("card.service_index", lang), fmt(k["service_index"], 2), "card-index"),
            card(t("card.on_time", lang), pct(k["on_time_rate"]), "card-on-time"),
            card(t("card.full_online", lang), pct(k["full_online_share"]), "card-online"),
            card(t("card.cycle", lang), fmt(k["mean_cycle_days"]), "card-cycle"),
        ],
        className="cards",
    )
    wip = (svc.section(flt, "bottlenecks") or {}).get("wip") or {}
    series = wip.get("series", [])
    fig = trend_figure(series, t("ov.wip", lang))
    trend = section(t("ov.trend", lang), dcc.Graph(figure=fig, id="ov-trend"), "ov-trend-p")
    return html.Div([cards, trend, section(t("ov.ranking", lang), ranked, "ov-ranking")])


def trend_figure(series: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Dossiers open per period, as an area."""
    trace = {
        "type": "scatter",
        "x": [p["period"] for p in series],
        "y": [p["open"] for p in series],
        "fill": "tozeroy",
        "name": name,
    }
    return figure([trace], margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=260)


def stream(svc: Service, lang: str) -> Any:
    """The stream card: its state first (while partitions change owner the lag is unknown,
    shown as –, not 0), then rates, lag, dead letters and last write."""
    health = svc.stream_health()
    state = html.Div(
        [
            html.Div(t("st.status", lang), className="card-label"),
            html.Div(t(f"st.state.{health.get('status')}", lang), className="card-value"),
        ],
        className=f"card stream-{health.get('status')}",
        id="stream-status",
        **{"data-status": health.get("status")},
    )
    items = [
        ("st.in", health.get("events_in_per_s")),
        ("st.out", health.get("events_out_per_s")),
        ("st.lag", health.get("consumer_lag")),
        ("st.dlq", health.get("dlq_count")),
        ("st.last", (health.get("last_write_at") or "")[:19].replace("T", " ") or None),
    ]
    if health.get("status") in (None, "none"):
        return html.P(t("ov.stream_off", lang), id="stream-off")
    return html.Div(
        [state, *(card(t(k, lang), fmt(v), f"stream-{k[3:]}") for k, v in items)],
        className="cards",
    )


def register(app: Dash, svc: Service) -> None:
    # ``render`` fills the page when it opens; these run for a later change or a stale page.
    @content_callback(app, Output("ov-body", "children"))
    def _body(*args: Any) -> Any:
        return body(svc, *args)

    @app.callback(
        Output("ov-stream", "children"),
        Input("tick", "n_intervals"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    @guarded
    def _stream(_n: int | None, lang: str) -> Any:
        return stream(svc, lang)
