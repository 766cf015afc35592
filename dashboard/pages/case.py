"""Case: one dossier's timeline, step by step (``/case?id=...`` or typed in).

Events in the deployment's local time (``settings.timezone``) and in process order
(``mining.dossier``: as mining orders them), steps and units by name with their ids on hover,
and the statutory due date drawn on the timeline: the due date of ``mining.deadlines``, with
the working days used against the legal limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from dash import Dash, Input, Output, State, dcc, html

from dashboard import auth, fmt
from dashboard.components import (
    Namer,
    card,
    figure,
    guarded,
    namer,
    section,
    shielded,
    table,
    viewer,
)
from dashboard.i18n import t
from dashboard.service import NotFound, Service
from mining.dossier import DossierDeadline, DossierTimeline
from sample_logs.catalog import get_procedure

PATH = "/case"
COLUMNS = ["position", "timestamp", "activity", "lifecycle", "org_unit", "channel", "resource"]
COLUMNS_OUTCOME = [*COLUMNS, "outcome"]
TONES = {"early": "good", "on_time": "good", "within": "good", "at_risk": "warn"}
DUE_COLOUR = "#c0392b"


def render(svc: Service, values: tuple, lang: str, search: str | None = None) -> html.Div:
    """The page, showing the dossier named in the URL (``?id=``) if any."""
    case_id = case_from(search)
    return html.Div(
        [
            html.Div(
                [
                    html.Label(t("case.id", lang), htmlFor="case-id"),
                    dcc.Input(id="case-id", type="text", debounce=True, size="40", value=case_id),
                    html.Button(t("case.show", lang), id="case-show", n_clicks=0),
                ],
                className="toolbar",
            ),
            html.Div(shielded(show, svc, 0, case_id, None, lang), id="case-body"),
        ],
        id="page-case",
    )


def case_from(search: str | None) -> str | None:
    ids = parse_qs((search or "").lstrip("?")).get("id")
    return ids[0] if ids else None


def show(svc: Service, _clicks: int, case_id: str | None, _version: str | None, lang: str) -> Any:
    if not case_id or not case_id.strip():
        return html.P(t("case.pick", lang))
    case_id = case_id.strip()
    try:
        owner = svc.case_owner(case_id)
        auth.check_dossier(viewer(svc), case_id, owner)
        found: DossierTimeline = svc.case(case_id)
    except NotFound:
        return html.Div(
            html.P(t("case.not_found", lang).format(id=case_id)),
            className="notice notice-calm",
            id="case-missing",
        )
    tz = ZoneInfo(svc.settings.timezone)
    names = namer(svc, lang, found.procedure_code)
    procedure = get_procedure(found.procedure_code, svc.settings)
    where = names.name("commune_path", owner.commune_code) if owner.commune_code else ""
    if not where and owner.province_code:
        where = names.name("province", owner.province_code)
    title = html.H3(
        [
            html.Span(case_id, id="case-code"),
            " · ",
            html.Span(
                procedure_label(procedure, lang) or found.procedure_code,
                title=found.procedure_code,
                id="case-procedure",
            ),
        ],
        id="case-title",
    )
    rows = event_rows(found, tz, lang)
    columns = COLUMNS_OUTCOME if any(r["outcome"] for r in rows) else COLUMNS
    return html.Div(
        [
            title,
            html.P(where, className="hint", id="case-where", title=owner.commune_code or ""),
            deadline_cards(found.deadline, tz, lang),
            section(
                t("case.timeline", lang),
                dcc.Graph(
                    figure=timeline(found, names, tz),
                    id="case-chart",
                    config={"displaylogo": False},
                ),
                "case-timeline",
            ),
            table(rows, "case-events", lang, columns=columns, page_size=50, namer=names),
        ]
    )


def event_rows(found: DossierTimeline, tz: ZoneInfo, lang: str) -> list[dict[str, Any]]:
    """The events as table rows, numbered in process order, times local and formatted."""
    return [
        {
            "position": i,
            "timestamp": fmt.moment(e.timestamp, lang, tz),
            "activity": e.activity,
            "lifecycle": e.lifecycle,
            "org_unit": e.org_unit,
            "channel": e.channel,
            "resource": e.resource or "",
            "outcome": e.outcome,
        }
        for i, e in enumerate(found.events, start=1)
    ]


def deadline_cards(d: DossierDeadline, tz: ZoneInfo, lang: str) -> html.Div:
    """Received, due, end of processing, status and working days used of the legal limit."""
    limit = d.deadline_working_days
    used = fmt.days(d.working_days_used, lang)
    if limit is not None:
        share = fmt.percent(d.elapsed_share, lang, 0)
        note: list[Any] = [
            t("case.used_of", lang).format(
                limit=fmt.days(float(limit), lang, digits=0), share=share
            )
        ]
    else:
        note = [t("case.no_limit", lang)]
    if d.supplement_wait_working_days > 0:
        days = fmt.days(d.supplement_wait_working_days, lang)
        note += [html.Br(), t("case.supplement_out", lang).format(days=days)]
    status = t(f"st.{d.status}", lang) if d.status else t("case.no_due", lang)
    end = d.processed_at if d.finished else None
    return html.Div(
        [
            card(t("case.received", lang), fmt.moment(d.received_at, lang, tz), "case-received"),
            card(
                t("case.due", lang),
                fmt.moment(d.due_at, lang, tz) if d.due_at else fmt.DASH,
                "case-due",
                note=due_note(d, lang),
            ),
            card(
                t("case.processed", lang),
                fmt.moment(end, lang, tz) if end else t("case.open_now", lang),
                "case-processed",
            ),
            card(
                t("case.used", lang),
                used,
                "case-used",
                note=note,
                tone=TONES.get(d.status or "", "bad") if d.status else None,
            ),
            card(
                t("case.status", lang),
                status,
                "case-status",
                tone=TONES.get(d.status or "", "bad") if d.status else None,
            ),
        ],
        className="cards case-cards",
        id="case-deadline",
        **{"data-status": d.status or "", "data-due": d.due_at.isoformat() if d.due_at else ""},
    )


def procedure_label(procedure: Any, lang: str) -> str | None:
    return (procedure.name.en if lang == "en" else procedure.name.vi) if procedure else None


def due_note(d: DossierDeadline, lang: str) -> str | None:
    """Where the due date comes from: the source system, or the catalog's rule."""
    if d.due_at is None:
        return None
    if d.due_from_source or d.deadline_working_days is None:
        return t("case.due_source", lang)
    return t("case.due_rule", lang).format(n=d.deadline_working_days)


def _local(moment: datetime, tz: ZoneInfo) -> str:
    """A local wall-clock time as Plotly reads it (no offset: Plotly draws what it is given)."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def timeline(found: DossierTimeline, names: Namer, tz: ZoneInfo) -> dict[str, Any]:
    """Steps top-down in process order, one colour per unit (filled: completed, hollow:
    started, a line between the two: the service time); the time allowed shaded from receipt
    to the due date, the due date a red dashed line."""
    lang = names.lang
    order = list(dict.fromkeys(e.activity for e in found.events))
    step_names = {a: names.name("step", a) for a in order}
    traces = []
    for i, unit in enumerate(dict.fromkeys(e.org_unit for e in found.events)):
        colour = PALETTE[i % len(PALETTE)]
        mine = [e for e in found.events if e.org_unit == unit]
        label = names.name("unit", unit) if unit else fmt.DASH
        traces.append(_service_lines(mine, step_names, tz, colour, label))
        starts = [e for e in mine if e.lifecycle == "start"]
        ends = [e for e in mine if e.lifecycle != "start"]
        for events, symbol in ((ends, "circle"), (starts, "circle-open")):
            if events:
                traces.append(
                    _marks(events, step_names, names, tz, colour, label, symbol)
                    | {"showlegend": symbol == "circle" or not ends}
                )
    shapes, notes = _allowed_time(found, tz, lang)
    return figure(
        traces,
        lang=lang,
        shapes=shapes,
        annotations=notes,
        height=max(300, 34 * len(order) + 140),
        margin={"l": 10, "r": 10, "t": 60, "b": 50},
        hovermode="closest",
        legend={"orientation": "h", "y": -0.18, "x": 0, "title": {"text": ""}},
        xaxis={
            "type": "date",
            "title": {"text": t("case.time", lang)},
            "tickformat": "%d/%m/%Y" if lang == "vi" else "%Y-%m-%d",
            "hoverformat": "%d/%m/%Y %H:%M" if lang == "vi" else "%Y-%m-%d %H:%M",
        },
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": [step_names[a] for a in order],
            "autorange": "reversed",
            "automargin": True,
            "title": {"text": ""},
        },
    )


PALETTE = ("#2a5d9f", "#e08a1e", "#27965a", "#8e44ad", "#16a0a8", "#7f8c8d", "#b8860b")


def _marks(events, step_names, names: Namer, tz, colour, label, symbol) -> dict[str, Any]:
    """One unit's starts or completions; hover: step and unit names with their ids."""
    lang = names.lang
    mark = t("lc.start" if symbol == "circle-open" else "lc.complete", lang)
    return {
        "type": "scatter",
        "mode": "markers",
        "name": label,
        "legendgroup": label,
        "x": [_local(e.timestamp, tz) for e in events],
        "y": [step_names[e.activity] for e in events],
        "marker": {"size": 12, "color": colour, "symbol": symbol, "line": {"width": 2}},
        "customdata": [
            [e.activity, e.org_unit or "", fmt.moment(e.timestamp, lang, tz)] for e in events
        ],
        "hovertemplate": "%{y} (%{customdata[0]})<br>" + mark + " · %{customdata[2]}<br>"
        "%{fullData.name} (%{customdata[1]})<extra></extra>",
    }


def _service_lines(events, step_names, tz, colour, label) -> dict[str, Any]:
    """A line from each start to the completion of the same step that follows it."""
    x: list[str | None] = []
    y: list[str | None] = []
    for i, e in enumerate(events):
        if e.lifecycle != "start":
            continue
        done = next(
            (c for c in events[i + 1 :] if c.activity == e.activity and c.lifecycle != "start"),
            None,
        )
        if done is not None:
            x += [_local(e.timestamp, tz), _local(done.timestamp, tz), None]
            y += [step_names[e.activity]] * 2 + [None]
    return {
        "type": "scatter",
        "mode": "lines",
        "x": x,
        "y": y,
        "line": {"color": colour, "width": 3},
        "legendgroup": label,
        "showlegend": False,
        "hoverinfo": "skip",
    }


def _allowed_time(found: DossierTimeline, tz: ZoneInfo, lang: str) -> tuple[list, list]:
    """Shapes and notes: the time allowed (receipt → due) shaded, the due date a red line;
    for an open dossier "now" (the data's last event) a grey one."""
    d = found.deadline
    lines = []
    if d.due_at is not None:
        lines.append(
            (
                d.due_at,
                DUE_COLOUR,
                "dash",
                f"{t('case.due', lang)}: {fmt.day(d.due_at.astimezone(tz), lang)}",
            )
        )
    if not d.finished:
        lines.append(
            (
                found.as_of,
                "#5b6b7d",
                "dot",
                f"{t('case.now', lang)}: {fmt.day(found.as_of.astimezone(tz), lang)}",
            )
        )
    if not lines:
        return [], []
    moments = [e.timestamp for e in found.events] + [m for m, *_ in lines]
    first, last = min(moments), max(moments)
    span = (last - first).total_seconds() or 1.0
    shapes: list[dict[str, Any]] = []
    notes = []
    if d.due_at is not None:
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": _local(d.received_at, tz),
                "x1": _local(d.due_at, tz),
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(39,150,90,0.08)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
    for pause in d.pauses:  # the clock stopped: waiting for the citizen's supplements
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": _local(pause.start, tz),
                "x1": _local(pause.end, tz),
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(230,170,40,0.25)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
        notes.append(
            {
                "x": _local(pause.start + (pause.end - pause.start) / 2, tz),
                "xref": "x",
                "yref": "paper",
                "y": 1.0,
                "yanchor": "top",
                "showarrow": False,
                "bgcolor": "rgba(255,255,255,0.75)",
                "text": t("case.paused", lang),
                "font": {"color": "#8a6100", "size": 12},
            }
        )
    for i, (moment, colour, dash, text) in enumerate(lines):
        at = _local(moment, tz)
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": at,
                "x1": at,
                "y0": 0,
                "y1": 1,
                "line": {"color": colour, "width": 2, "dash": dash},
            }
        )
        # text on the side with room: left of a line in the right part of the chart
        right = (moment - first).total_seconds() / span > 0.6
        notes.append(
            {
                "x": at,
                "xref": "x",
                "yref": "paper",
                "y": 1.0 + 0.07 * i,
                "yanchor": "bottom",
                "xanchor": "right" if right else "left",
                "showarrow": False,
                "text": text,
                "font": {"color": colour, "size": 13},
            }
        )
    return shapes, notes


def register(app: Dash, svc: Service) -> None:
    # ``render`` fills the page when it opens: these run only when something changes after.
    @app.callback(Output("case-id", "value"), Input("url", "search"), prevent_initial_call=True)
    def from_url(search: str | None) -> Any:
        return case_from(search)

    @app.callback(
        Output("case-body", "children"),
        Input("case-show", "n_clicks"),
        Input("case-id", "value"),
        Input("version", "data"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    @guarded
    def _show(*args: Any) -> Any:
        return show(svc, *args)
