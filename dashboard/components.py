"""Small building blocks every page uses: cards, tables, notices, the filter reader."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dash import dash_table, html

from dashboard import auth
from dashboard import fmt as fmt_
from dashboard.i18n import column, pick, t
from dashboard.service import NotAvailable, Service
from dvcflow.errors import DvcflowError, NoMatch
from mining.filters import LogFilter
from sample_logs import names

log = logging.getLogger("dvcflow.web")
SHARES = {  # columns holding a share (0..1), shown as percentages
    "on_time",
    "online_submission",
    "full_online",
    "dossier_share",
    "failure_rate",
    "share",
    "on_time_rate",
    "share_of_blocked",
    "full_online_share",
    "limit_share",
    "skipped_share",
    "out_of_order_share",
    "fitting_share",
    "replayed_share",
}


def notice(kind: str, lang: str, detail: str = "") -> html.Div:
    """A visible "not available" or error box (never a blank page)."""
    title = t("na.title" if kind == "na" else "err.title", lang)
    body = t("na.body", lang) if kind == "na" else ""
    return html.Div(
        [html.Strong(title), html.P(body), html.Small(detail, className="detail")],
        className=f"notice notice-{kind}",
        **{"data-kind": kind},
    )


def shielded(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, its errors turned into notices: a failing figure never blanks a page.

    The last argument is the language.
    """
    lang = args[-1] if args and args[-1] in ("vi", "en") else "vi"
    try:
        return fn(*args)
    except NotAvailable as exc:
        return notice("na", lang, str(exc))
    except NoMatch:  # an empty pick is not an error: say so calmly
        return html.Div(
            html.P(t("dates.empty", lang)), className="notice notice-calm", id="empty-pick"
        )
    except DvcflowError as exc:
        return notice("err", lang, str(exc))
    except Exception as exc:  # a bug elsewhere must not blank the page
        log.exception("dashboard callback %s failed", getattr(fn, "__name__", fn))
        return notice("err", lang, f"{type(exc).__name__}: {exc}")


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A page callback run off the event loop, its errors shown as notices (``shielded``)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any) -> Any:
        return await asyncio.to_thread(shielded, fn, *args)

    return wrapper


STAMP_ID = "page-stamp"  # drawn with each page: the filter values it was drawn for
REDRAW_ID = "page-redraw"  # a shell store the browser bumps when a page arrived stale


def redraw_input() -> Any:
    """The last Input of a page's content callbacks (which are ``prevent_initial_call``).

    ``route`` draws a page with the filters it was asked for. When they changed while the page
    was on its way (a slow first figure), the page arrives stale; the browser compares its
    ``STAMP_ID`` with the filter bar (``app.STALE_JS``, no round trip) and bumps
    ``REDRAW_ID`` only then, so the content callbacks redraw for the bar. A page that arrives
    current costs no further request.
    """
    from dash import Input

    return Input(REDRAW_ID, "data")


def redrawn(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A content callback taking ``redraw_input()`` last: the bump itself carries nothing."""

    @functools.wraps(fn)
    async def wrapper(*args: Any) -> Any:
        return await fn(*args[:-1])

    return wrapper


def content_callback(app: Any, output: Any, *controls: Any) -> Callable[..., Any]:
    """Register a page's content callback: ``output`` from the page's own ``controls``, then
    ``filter_inputs()`` and ``redraw_input()`` last; ``prevent_initial_call`` (``route``
    drew the page already), run off the event loop with errors as notices (``guarded``)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        app.callback(
            output, *controls, *filter_inputs(), redraw_input(), prevent_initial_call=True
        )(redrawn(guarded(fn)))
        return fn

    return register


def make_filter(
    svc: Service,
    procedure: str | None,
    province: str | None,
    commune: str | None,
    start: str | None,
    end: str | None,
    channel: str | None,
) -> LogFilter:
    """The page filters as the shared ``LogFilter``, narrowed to the viewer's read token.

    FilterError when they are wrong; Unauthorized / Forbidden as for the read API.
    """
    flt = LogFilter(
        procedure=procedure or None,
        province=province or None,
        commune=commune or None,
        date_from=date.fromisoformat(start[:10]) if start else None,
        date_to=date.fromisoformat(end[:10]) if end else None,
        channel=channel or None,
    )
    return auth.scoped(flt, viewer(svc))


def viewer(svc: Service) -> Any | None:
    """The principal of the dashboard's session cookie (None in open local mode)."""
    from dash.backends._fastapi import get_current_request

    from dashboard.login import session_principal

    try:
        sid = get_current_request().cookies.get(auth.COOKIE)
    except RuntimeError:  # no request (warming thread, tests calling pages directly)
        sid = None
    return session_principal(svc.settings, sid)


@functools.cache
def _template() -> dict[str, Any]:
    import plotly.io as pio

    return pio.templates[pio.templates.default].to_plotly_json()


def figure(traces: list[dict[str, Any]], lang: str | None = None, **layout: Any) -> dict[str, Any]:
    """A Plotly figure as ``go.Figure(traces).update_layout(**layout)`` writes it (the default
    template included), without ``go.Figure``'s validation: 20 ms a figure, on every redraw.
    Axis numbers use ``lang``'s separators (Vietnamese "2,5" and "1.000")."""
    if lang is not None:
        layout = {"separators": ".," if lang == "en" else ",.", **layout}
    return {"data": traces, "layout": {"template": _template(), **layout}}


def fmt(value: Any, digits: int = 1, lang: str = "en") -> str:
    """``dashboard.fmt.value``, kept for the reform page until it passes its language (the
    other pages call ``dashboard.fmt`` with theirs)."""
    return fmt_.value(value, lang, digits)


def pct(value: float | None, lang: str = "en") -> str:
    """``dashboard.fmt.percent``, kept for the reform page (see ``fmt``)."""
    return fmt_.percent(value, lang)


def card(
    label: str,
    value: str,
    test_id: str,
    note: Any = None,
    tone: str | None = None,
    title: str | None = None,
) -> html.Div:
    """A headline figure; ``note`` under it (change, target), ``tone`` good|warn|bad."""
    parts = [
        html.Div(label, className="card-label"),
        html.Div(value, className="card-value", id=f"{test_id}-value"),
    ]
    if note:
        parts.append(html.Div(note, className="card-note"))
    return html.Div(
        parts, className=f"card card-{tone}" if tone else "card", id=test_id, title=title
    )


NAMED = {  # column -> what its codes name (``Namer``)
    "province_code": "province",
    "province": "province",
    "commune_code": "commune",
    "commune": "commune",
    "unit": "unit",
    "org_unit": "unit",
    "from_unit": "unit",
    "to_unit": "unit",
    "activity": "step",
    "step": "step",
    "from_activity": "step",
    "to_activity": "step",
    "activities": "steps",
    "channel": "channel",
    "outcome": "outcome",
    "lifecycle": "lifecycle",
    "status": "status",
    "recommendation": "recommendation",
}


@dataclass(frozen=True)
class Namer:
    """Codes as officials read them, in the page's language (``sample_logs.names``): provinces,
    communes, org units, steps of ``procedure`` (its catalog labels; the activity itself for
    a log without catalog), channels and outcomes. ``hover`` is the code, for tooltips."""

    lang: str
    procedure: str | None = None
    units_file: Any = None
    catalog_folder: Any = None  # the service's catalog (setting catalog_dir); None: packaged

    def name(self, kind: str, code: Any) -> str:
        if code is None:
            return ""
        if kind == "steps" and isinstance(code, list | tuple):
            return " → ".join(self.name("step", c) for c in code)
        code = str(code)
        if kind == "province":
            return names.province_name(code)
        if kind == "commune":
            return names.commune_name(code)
        if kind == "commune_path":
            return names.commune_path(code)
        if kind == "unit":
            return names.unit_name(code, self.lang, self.units_file)
        if kind == "step":
            return names.step_name(
                self.procedure, code, self.lang, catalog_folder=self.catalog_folder
            )
        if kind in ("channel", "outcome", "lifecycle", "status", "recommendation"):
            key = {"channel": "ch", "outcome": "out", "lifecycle": "lc", "status": "st"}
            label = t(f"{key.get(kind, 'rec')}.{code}", self.lang)
            return code if label == f"{key.get(kind, 'rec')}.{code}" else label
        return code

    def hover(self, kind: str, code: Any) -> str:
        if isinstance(code, list | tuple):
            return " → ".join(str(c) for c in code)
        if kind == "commune":
            return f"{code} · {names.commune_path(str(code))}"
        return "" if code is None else str(code)


def namer(svc: Service | None, lang: str, procedure: str | None = None) -> Namer:
    if svc is None:
        return Namer(lang, procedure)
    from sample_logs.catalog import catalog_dir

    return Namer(lang, procedure, svc.settings.units_file, catalog_dir(svc.settings))


def _cell(value: Any, lang: str) -> Any:
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, dict):
        return pick(value, lang) if ("vi" in value or "en" in value) else str(value)
    if isinstance(value, list | tuple):
        return " → ".join(pick(v, lang) for v in value)
    if isinstance(value, datetime | date):
        return fmt_.value(value, lang)
    if isinstance(value, float):
        return round(value, 3)
    return value


def _column(c: str, lang: str, sample: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": column(c, lang), "id": c}
    if c in SHARES:
        spec.update(type="numeric", format=fmt_.table_format(lang, 1, percent=True))
    elif isinstance(sample, int | float) and not isinstance(sample, bool):
        digits = 0 if isinstance(sample, int) and c not in DECIMALS else 1
        spec.update(type="numeric", format=fmt_.table_format(lang, digits))
    return spec


DECIMALS = {"score", "index_100"}


def table(
    rows: list[dict[str, Any]],
    table_id: str,
    lang: str,
    columns: list[str] | None = None,
    page_size: int = 15,
    selectable: bool = False,
    keep: str | None = None,
    selected: list[int] | None = None,
    namer: Namer | None = None,
) -> Any:
    """A sortable table of records; nested bilingual labels shown in ``lang``, codes shown by
    name (``NAMED``, ``Namer``) with the code on hover, numbers in the language's format.

    ``keep`` (the filters it shows, see ``keep_key``) makes the browser keep the reader's
    sorting, page and column filter when a live refresh redraws the table for the same
    filters; other filters start afresh.
    """
    if not rows:
        return html.P(t("empty", lang), className="empty")
    names_ = namer or Namer(lang)
    columns = columns or [k for k in rows[0] if not isinstance(rows[0][k], dict | list)][:12]
    data, tips = [], []
    for r in rows:
        cells, tip = {}, {}
        for c in columns:
            v = r.get(c)
            if c in NAMED and v is not None and not isinstance(v, dict):
                cells[c] = names_.name(NAMED[c], v)
                cells[f"{c}__code"] = v  # not shown: what callbacks read back
                tip[c] = {"value": names_.hover(NAMED[c], v), "type": "text"}
            else:
                cells[c] = _cell(v, lang)
        data.append(cells)
        tips.append(tip)
    samples = {c: next((r.get(c) for r in rows if r.get(c) is not None), None) for c in columns}
    return dash_table.DataTable(
        id=table_id,
        data=data,
        columns=[_column(c, lang, samples[c]) for c in columns],
        tooltip_data=tips,
        tooltip_delay=300,
        tooltip_duration=None,
        page_size=page_size,
        page_current=0,
        sort_action="native",
        sort_by=[],
        selected_rows=selected or [],
        persistence=keep or False,
        persisted_props=["sort_by", "page_current", "filter_query"],
        persistence_type="memory",
        row_selectable="single" if selectable else False,
        style_table={"overflowX": "auto"},
        style_cell={
            "fontFamily": "system-ui, 'Segoe UI', Roboto, 'Noto Sans', 'DejaVu Sans', sans-serif",
            "fontSize": "13px",
            "padding": "4px 8px",
            "textAlign": "left",
            "maxWidth": "420px",
            "whiteSpace": "normal",
        },
        style_header={"fontWeight": "600"},
    )


FILTER_IDS = [
    ("f-procedure", "value"),
    ("f-province", "value"),
    ("f-commune", "value"),
    ("f-dates", "start_date"),
    ("f-dates", "end_date"),
    ("f-channel", "value"),
]


def filter_inputs() -> list[Any]:
    """What every page's content callback takes, in ``make_filter`` order + version, lang.

    The language is a State: a language switch redraws the whole page at once (``route``), so
    the content callbacks must not also run for it.
    """
    from dash import Input, State

    return [
        *(Input(cid, prop) for cid, prop in FILTER_IDS),
        Input("version", "data"),
        State("lang", "value"),
    ]


def filter_states() -> list[Any]:
    """``filter_inputs`` as States (for callbacks started by a button)."""
    from dash import State

    return [State(d.component_id, d.component_property) for d in filter_inputs()]


def keep_key(*values: Any) -> str:
    """The persistence key of a table: its filter values (not the store version)."""
    return "|".join("" if v is None else str(v) for v in values)


def section(title: str, body: Any, section_id: str) -> html.Section:
    return html.Section([html.H2(title), body], className="panel", id=section_id)


def get(value: Any, *names: str) -> Any:
    """The first of ``names`` present in a mining dict (names vary between figures)."""
    if not isinstance(value, dict):
        return None
    for name in names:
        if value.get(name) is not None:
            return value[name]
    return None


def in_hours(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mining's seconds (``*_s``) shown as hours (``*_h``) with one decimal."""
    out = []
    for row in rows:
        shown = dict(row)
        for key, value in row.items():
            if key.endswith("_s") and isinstance(value, int | float):
                shown[key[:-2] + "_h"] = round(value / 3600, 1)
        out.append(shown)
    return out


def legal_limit(svc: Service, flt: Any) -> int | None:
    """The procedure's legal limit in working days (a same-day procedure counts 1)."""
    proc = svc.section(flt, "procedure") or {}
    limit = proc.get("deadline_working_days")
    return None if limit is None else max(int(limit), 1)


def limit_text(svc: Service, flt: Any, lang: str) -> str | None:
    """The legal limit as the pages write it ("3 ngày LV", "trong ngày"); None without one."""
    proc = svc.section(flt, "procedure") or {}
    limit = proc.get("deadline_working_days")
    if limit is None:
        return None
    return t("card.same_day", lang) if limit == 0 else fmt_.days(limit, lang, digits=0)
