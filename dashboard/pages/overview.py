"""Overview: headline cards (with the change on the previous period and the target), the
provinces (or a province's communes) as a tile map and a ranking, both narrowing the filter
on a click, dossiers in progress over time, live stream health."""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, State, dcc, html

from dashboard import fmt, tilemap
from dashboard.components import (
    card,
    content_callback,
    figure,
    get,
    guarded,
    keep_key,
    make_filter,
    namer,
    notice,
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
MAP_KPIS = ("on_time", "full_online", "index_100")
# A pattern id: the callbacks taking its clicks must not fail while the page shows a notice.
RANKING_ID = {"type": "ov-ranking", "name": "table"}


def render(svc: Service, values: tuple, lang: str) -> html.Div:
    """The page with its figures for the filter ``values`` (see ``filter_inputs``)."""
    return html.Div(
        [
            html.Div(
                [
                    html.Label(t("ov.map_kpi", lang), htmlFor="ov-map-kpi"),
                    dcc.RadioItems(
                        id="ov-map-kpi",
                        options=[{"label": t(f"map.{k}", lang), "value": k} for k in MAP_KPIS],
                        value="on_time",
                        inline=True,
                    ),
                ],
                className="toolbar",
            ),
            html.Div(shielded(body, svc, "on_time", *values, lang), id="ov-body"),
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
    counts = sla.get("counts") or {}
    return {
        "cases": cases.get("count"),
        "service_index": get(overall, "index_100"),
        "on_time_rate": sla.get("on_time_rate"),
        "judged": sum(counts.get(s, 0) for s in ("early", "on_time", "late")),
        "full_online_share": component_share(overall, "full_online"),
        "cycle_wd": _try(lambda: svc.cycle_working_days(flt)),
        "limit": (_try(lambda: svc.section(flt, "procedure")) or {}).get("deadline_working_days"),
        "change": _try(lambda: svc.period_change(flt)),
    }


def tone(value: float | None, target: float | None, margin: float) -> str | None:
    """good at or above the target, warn within ``margin`` below it, bad further below."""
    if value is None or target is None:
        return None
    if value >= target:
        return "good"
    return "warn" if value >= target - margin else "bad"


def change_note(now: float | None, before: float | None, lang: str, kind: str) -> str | None:
    """ "+3,2 điểm % so với kỳ trước" — the period's figure against the one before."""
    if now is None or before is None:
        return None
    delta = now - before
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    if kind == "share":
        text = fmt.number(abs(delta) * 100, lang, 1) + (" điểm %" if lang != "en" else " pts")
    elif kind == "days":
        text = fmt.days(abs(delta), lang)
    else:
        text = fmt.number(abs(int(delta)), lang)
    return t("card.change", lang).format(sign=sign, delta=text)


def cards(svc: Service, k: dict[str, Any], lang: str) -> html.Div:
    s = svc.settings
    targets, margin = s.kpi_targets, s.kpi_target_margin
    change = k["change"]
    cur, prev = (change.current, change.previous) if change else (None, None)

    def target(name: str, shown: str) -> str | None:
        goal = targets.get(name)
        return None if goal is None else t("card.target", lang).format(target=shown.format(goal))

    few = k["judged"] < s.kpi_min_finished
    on_time_value = (
        t("card.too_few", lang).format(
            n=fmt.number(k["judged"], lang), min=fmt.number(s.kpi_min_finished, lang)
        )
        if few
        else fmt.percent(k["on_time_rate"], lang)
    )
    on_time_goal = targets.get("on_time_rate")
    limit = k["limit"]
    limit_text = None
    if limit is not None:
        shown_limit = t("card.same_day", lang) if limit == 0 else fmt.days(limit, lang, digits=0)
        limit_text = t("card.limit", lang).format(limit=shown_limit)
    index_goal = targets.get("service_index")
    online_goal = targets.get("full_online_share")
    return html.Div(
        [
            card(
                t("card.cases", lang),
                fmt.number(k["cases"], lang),
                "card-cases",
                note=change_note(cur and cur.dossiers, prev and prev.dossiers, lang, "count"),
            ),
            card(
                t("card.service_index", lang),
                fmt.number(k["service_index"], lang, 2),
                "card-index",
                note=target("service_index", "{:.0f}") if index_goal else None,
                tone=tone(k["service_index"], index_goal, margin * 100),
            ),
            card(
                t("card.on_time", lang),
                on_time_value,
                "card-on-time",
                note=[
                    html.Div(
                        change_note(
                            cur and cur.on_time_rate, prev and prev.on_time_rate, lang, "share"
                        )
                    ),
                    html.Div(
                        t("card.target", lang).format(target=fmt.percent(on_time_goal, lang, 0))
                    )
                    if on_time_goal
                    else None,
                ],
                tone=None if few else tone(k["on_time_rate"], on_time_goal, margin),
            ),
            card(
                t("card.full_online", lang),
                fmt.percent(k["full_online_share"], lang),
                "card-online",
                note=t("card.target", lang).format(target=fmt.percent(online_goal, lang, 0))
                if online_goal
                else None,
                tone=tone(k["full_online_share"], online_goal, margin),
            ),
            card(
                t("card.cycle_wd", lang),
                fmt.days(k["cycle_wd"], lang),
                "card-cycle",
                note=[
                    html.Div(limit_text),
                    html.Div(
                        change_note(
                            cur and cur.median_working_days,
                            prev and prev.median_working_days,
                            lang,
                            "days",
                        )
                    ),
                ],
                tone=None
                if (limit is None or k["cycle_wd"] is None)
                else ("good" if k["cycle_wd"] <= max(limit, 1) else "bad"),
            ),
        ],
        className="cards",
        title=f"{fmt.day(cur.start, lang)} – {fmt.day(cur.end, lang)}" if cur else None,
    )


def body(
    svc: Service, map_kpi, procedure, province, commune, start, end, channel, _version, lang
) -> Any:
    flt = make_filter(svc, procedure, province, commune, start, end, channel)
    svc.prefetch(flt)  # the next page's drill-down or what-if on these filters reads none
    by = "commune" if flt.province else "province"
    keep = keep_key(procedure, province, commune, start, end, channel)
    names = namer(svc, lang, procedure)
    rows: list[dict[str, Any]] = []
    try:
        kpi = svc.reform("service_index", flt, by=by)
        rows = kpi_rows(kpi, by)
        ranked = table(rows, RANKING_ID, lang, columns=[by, *RANK_COLUMNS], keep=keep, namer=names)
    except NotAvailable as exc:
        kpi, ranked = None, notice("na", lang, str(exc))
    k = headline(svc, flt, kpi)
    wip = (svc.section(flt, "bottlenecks") or {}).get("wip") or {}
    series = wip.get("series", [])
    fig = trend_figure(series, t("ov.wip", lang), lang)
    trend = section(t("ov.trend", lang), dcc.Graph(figure=fig, id="ov-trend"), "ov-trend-p")
    return html.Div(
        [
            cards(svc, k, lang),
            html.Div(
                [
                    geography(rows, by, map_kpi or "on_time", flt.province, lang),
                    section(t("ov.ranking", lang), ranked, "ov-ranking"),
                ],
                className="two-columns",
            ),
            trend,
        ]
    )


def geography(rows: list[dict], by: str, kpi: str, province: str | None, lang: str):
    """The tile map of provinces, or the ranked grid of a province's communes."""
    by_code = {str(r[by]): r for r in rows if r.get(by) is not None}
    if by == "province":
        title, tiles = t("ov.map", lang), tilemap.province_tiles(by_code, kpi, lang)
    else:
        title = t("ov.map_communes", lang).format(province=tilemap.names.province_name(province))
        tiles = tilemap.commune_tiles(by_code, kpi, lang)
    note = html.P(t("ov.map_note", lang), className="hint")
    return section(title, html.Div([tilemap.legend(kpi, lang), tiles, note]), "ov-map-panel")


def trend_figure(series: list[dict[str, Any]], name: str, lang: str | None = None):
    """Dossiers open per period, as an area; dates as dd/mm/yyyy in Vietnamese."""
    trace = {
        "type": "scatter",
        "x": [p["period"] for p in series],
        "y": [p["open"] for p in series],
        "fill": "tozeroy",
        "name": name,
    }
    if lang is None:
        return figure([trace], margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=260)
    trace["hovertemplate"] = (
        "%{x|" + ("%d/%m/%Y" if lang != "en" else "%Y-%m-%d") + "}: %{y}<extra></extra>"
    )
    return figure(
        [trace],
        lang=lang,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=260,
        xaxis={"tickformat": "%m/%Y" if lang != "en" else "%b %Y"},
    )


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
    last = health.get("last_write_at")
    items = [
        ("st.in", fmt.number(health.get("events_in_per_s"), lang)),
        ("st.out", fmt.number(health.get("events_out_per_s"), lang)),
        ("st.lag", fmt.number(health.get("consumer_lag"), lang)),
        ("st.dlq", fmt.number(health.get("dlq_count"), lang)),
        ("st.last", _moment(last, svc, lang)),
    ]
    if health.get("status") in (None, "none"):
        return html.P(t("ov.stream_off", lang), id="stream-off")
    return html.Div(
        [state, *(card(t(k, lang), v, f"stream-{k[3:]}") for k, v in items)],
        className="cards",
    )


def _moment(iso: str | None, svc: Service, lang: str) -> str:
    if not iso:
        return fmt.DASH
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return fmt.moment(datetime.fromisoformat(iso), lang, ZoneInfo(svc.settings.timezone))


def register(app: Dash, svc: Service) -> None:
    # ``render`` fills the page when it opens; these run for a later change or a stale page.
    @content_callback(app, Output("ov-body", "children"), Input("ov-map-kpi", "value"))
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

    # A click on a tile or a ranking row narrows the filter bar to that unit, in the browser
    # (no round trip of its own: the pages' callbacks then run for the new filter).
    app.clientside_callback(
        NARROW_JS,
        Output("f-province", "value", allow_duplicate=True),
        Output("f-commune", "value", allow_duplicate=True),
        Input({"type": "ov-tile", "kind": ALL, "code": ALL}, "n_clicks"),
        Input({"type": "ov-ranking", "name": ALL}, "active_cell"),
        State({"type": "ov-ranking", "name": ALL}, "derived_viewport_data"),
        State("f-province", "value"),
        prevent_initial_call=True,
    )


NARROW_JS = """
function(clicks, cells, tables, province) {
    const nu = window.dash_clientside.no_update;
    const ctx = window.dash_clientside.callback_context;
    const fired = ctx.triggered_id;
    const cell = (cells || [])[0], rows = (tables || [])[0];
    if (fired && typeof fired === "object" && fired.type === "ov-ranking") {
        if (cell && rows && rows[cell.row]) {
            const row = rows[cell.row];
            if (row.province__code) return [row.province__code, null];
            if (row.commune__code) return [province || nu, row.commune__code];
        }
        return [nu, nu];
    }
    if (fired && typeof fired === "object") {
        if (!ctx.triggered.length || !ctx.triggered[0].value) return [nu, nu];
        return fired.kind === "province" ? [fired.code, null] : [province || nu, fired.code];
    }
    return [nu, nu];
}
"""
