"""The Dash app: the shell (navigation, filters, language, live refresh) and page routing.

Every page reads the same filter bar and the ``version`` store. A timer polls the store
version; when the sink writes new data, ``version`` changes and every page on screen
recomputes, so the dashboard is live without a restart.

One round trip per interaction: opening a page or switching the language runs ``route``, which
returns the page already filled with its figures (the pages' own callbacks are
``prevent_initial_call`` and run only when a filter or a page control changes afterwards, or
when the browser finds the page was drawn for filters changed meanwhile: ``STALE_JS``). The
commune options are computed in the browser (``COMMUNES_JS``), so a province pick is one round
trip too.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from dash import Dash, Input, Output, State, dcc, html, no_update
from fastapi import FastAPI

from dashboard import auth, fmt
from dashboard.components import FILTER_IDS, REDRAW_ID, STAMP_ID, viewer
from dashboard.i18n import pick, t
from dashboard.pages import PAGES
from dashboard.service import Service
from mining.filters import CHANNELS
from sample_logs import names

ASSETS = Path(__file__).resolve().parent / "assets"


def create_dash(server: FastAPI, svc: Service) -> Dash:
    """Build the Dash app on ``server`` (FastAPI) and register every page's callbacks."""
    refresh_ms = int(svc.settings.web_refresh_seconds * 1000)
    app = Dash(
        "dvcflow",
        server=server,
        title="dvcflow",
        assets_folder=str(ASSETS),
        suppress_callback_exceptions=True,
        update_title=None,
    )
    # A function: each page load gets the store version it is drawn for, so the first poll
    # of the version does not make the page compute again.
    app.layout = lambda: _shell(refresh_ms, svc.page_version())
    _register_shell(app, svc)
    for page in PAGES.values():
        page.register(app, svc)
    # Dash 4.4's FastAPI backend runs this on the first request to "/" or "/_dash-*" only; a
    # first visit to /explorer would get a page without its stylesheet and callbacks.
    app._setup_server()
    return app


def _shell(refresh_ms: int, version: str | None = None) -> html.Div:
    return html.Div(
        [
            dcc.Location(id="url"),
            dcc.Interval(id="tick", interval=refresh_ms),
            dcc.Store(id="version", data=version),
            dcc.Store(id="routed"),  # set once the first page is drawn (see ``route``)
            dcc.Store(id="url-applied"),  # the shared link the filter bar took (``filter_options``)
            dcc.Store(id=STAMP_ID),  # the filters the page on screen was drawn for (``route``)
            dcc.Store(id=REDRAW_ID),  # bumped by ``STALE_JS`` when a page arrived stale
            dcc.Store(id="units"),  # province → readable communes, for ``COMMUNES_JS``
            html.Header(
                [
                    html.H1(id="title"),
                    html.Nav(id="nav"),
                    dcc.RadioItems(
                        id="lang",
                        options=[
                            {"label": "Tiếng Việt", "value": "vi"},
                            {"label": "English", "value": "en"},
                        ],
                        value="vi",
                        persistence=True,
                        persistence_type="local",
                        inline=True,
                    ),
                ],
                className="top",
            ),
            html.Section(
                [
                    _filter("f-procedure", _dropdown("f-procedure")),
                    _filter("f-province", _dropdown("f-province")),
                    _filter("f-commune", _dropdown("f-commune")),
                    _filter(
                        "f-dates",
                        dcc.DatePickerRange(
                            id="f-dates",
                            display_format="DD/MM/YYYY",
                            month_format="MMMM/YYYY",
                            first_day_of_week=1,
                            clearable=True,
                            persistence=True,
                            persistence_type="session",
                        ),
                    ),
                    _filter("f-channel", _dropdown("f-channel")),
                ],
                className="filters",
            ),
            PAGES["explorer"].warm_up_graph(),
            html.Main(
                dcc.Loading(
                    html.Div(id="page"),
                    id="page-loading",
                    type="circle",
                    delay_show=200,
                    custom_spinner=_spinner("vi"),
                    # The figures stay readable (dimmed) under the notice while they update.
                    overlay_style={"visibility": "visible", "opacity": 0.55},
                )
            ),
        ]
    )


def _spinner(lang: str) -> html.Div:
    """The loading state: says what is being computed, not just that something is."""
    return html.Div(
        [html.Div(className="spinner-ring"), html.P(t("loading.compute", lang))],
        className="page-loading",
    )


def _dropdown(key: str) -> dcc.Dropdown:
    return dcc.Dropdown(id=key)


def _filter(key: str, control: Any) -> html.Div:
    return html.Div([html.Label(id=f"{key}-label", htmlFor=key), control], className="filter")


def _register_shell(app: Dash, svc: Service) -> None:
    @app.callback(Output("version", "data"), Input("tick", "n_intervals"), State("version", "data"))
    async def poll_version(_n: int | None, current: str | None) -> Any:
        """Store version (``Service.page_version``); unchanged versions do not trigger the
        pages again."""
        version = await asyncio.to_thread(svc.page_version)
        return no_update if version == current else version

    @app.callback(
        Output("title", "children"),
        Output("nav", "children"),
        Output("f-procedure-label", "children"),
        Output("f-province-label", "children"),
        Output("f-commune-label", "children"),
        Output("f-dates-label", "children"),
        Output("f-channel-label", "children"),
        Output("f-channel", "options"),
        Output("page-loading", "custom_spinner"),
        *(Output(d, prop) for d in DROPDOWNS for prop in ("placeholder", "labels")),
        Output("f-dates", "start_date_placeholder_text"),
        Output("f-dates", "end_date_placeholder_text"),
        Input("lang", "value"),
        Input("url", "pathname"),
    )
    def chrome(lang: str, path: str | None) -> tuple:
        nav = [
            dcc.Link(
                t(f"nav.{name}", lang),
                href=page.PATH,
                id=f"nav-{name}",
                className="active" if path == page.PATH else "",
            )
            for name, page in PAGES.items()
        ]
        channels = [{"label": t(f"ch.{c}", lang), "value": c} for c in CHANNELS[:3]]
        labels = [t(k, lang) for k in ("f.procedure", "f.province", "f.commune", "f.dates")]
        title = t("app.title", lang)
        texts = [(t("f.all", lang), dropdown_labels(lang)) for _ in DROPDOWNS]
        return (
            title,
            nav,
            *labels,
            t("f.channel", lang),
            channels,
            _spinner(lang),
            *(x for pair in texts for x in pair),
            t("f.from", lang),
            t("f.to", lang),
        )

    @app.callback(
        Output("f-procedure", "options"),
        Output("f-province", "options"),
        Output("units", "data"),
        Output("f-procedure", "value"),
        Output("f-province", "value"),
        Output("f-dates", "start_date"),
        Output("f-dates", "end_date"),
        Output("f-channel", "value"),
        Output("url-applied", "data"),
        Output("f-dates", "min_date_allowed"),
        Output("f-dates", "max_date_allowed"),
        Output("f-dates", "initial_visible_month"),
        Input("version", "data"),
        Input("lang", "value"),
        Input("url", "search"),
        Input("f-procedure", "value"),
        State("url-applied", "data"),
        *(State(cid, prop) for cid, prop in FILTER_IDS[1:2] + FILTER_IDS[3:]),
    )
    async def filter_options(
        _version: str | None,
        lang: str,
        search: str | None,
        procedure: str | None,
        applied: str | None,
        *current: str | None,
    ) -> tuple:
        """Options from the store; values from the URL (``/?procedure=1.001193&province=79``)
        the first time the bar sees that link, so links can be shared. Provinces and communes
        are named, searchable without diacritics, with the code on hover and the dossier
        counts of the chosen procedure (so a procedure pick redraws them).

        "First time" is kept in ``url-applied``, not read from what triggered the call: Dash
        drops the answer of a call re-triggered while in flight (the language restored from
        the browser, a new store version), and the link's filters must not be lost with it.
        """
        wanted = url_filters(search)
        applying = wanted is not None and applied != search
        picked = procedure
        if applying:
            procedure = wanted[0]
        scope = auth.procedure_scope(viewer(svc))
        procs, units = await asyncio.to_thread(
            lambda: (svc.procedures(scope), svc.units(procedure or None))
        )
        options = (
            [procedure_option(p, lang) for p in procs],
            *unit_options(units, lang),
        )
        first = min((p["first"] for p in procs if p.get("first")), default=None)
        last = max((p["last"] for p in procs if p.get("last")), default=None)
        span = (
            first.date().isoformat() if first else None,
            last.date().isoformat() if last else None,
            last.date().replace(day=1).isoformat() if last else None,
        )
        if not applying:  # the user's picks stay
            return *options, *(no_update,) * len(URL_NAMES), no_update, *span
        # A value sent back unchanged would still make the page compute again.
        now = (picked, *current)
        return (
            *options,
            *(no_update if w == c else w for w, c in zip(wanted, now, strict=True)),
            search,
            *span,
        )

    def unit_options(units: list[dict[str, Any]], lang: str) -> tuple[list, dict]:
        """Provinces and communes the viewer may read, as picker entries (``unit_option``)."""
        who = viewer(svc)
        units = [u for u in units if auth.may_read_unit(who, u["province_code"], None)]
        provinces = [
            unit_option(
                u["province_code"], names.province_name(u["province_code"]), u["cases"], lang
            )
            for u in units
        ]
        communes = {
            u["province_code"]: [
                unit_option(
                    c["commune_code"], names.commune_path(c["commune_code"]), c["cases"], lang
                )
                for c in u["communes"]
                if auth.may_read_unit(who, u["province_code"], c["commune_code"])
            ]
            for u in units
        }
        return provinces, communes

    # In the browser: a province pick would otherwise wait for a round trip before the page's
    # own (the commune is an Input of every page).
    app.clientside_callback(
        COMMUNES_JS,
        Output("f-commune", "options"),
        Output("f-commune", "value"),
        Input("f-province", "value"),
        Input("units", "data"),
        State("f-commune", "value"),
    )
    app.clientside_callback(
        DATE_LOCALE_JS,
        Output("f-dates", "month_format"),
        Input("lang", "value"),
    )
    app.clientside_callback(
        STALE_JS,
        Output(REDRAW_ID, "data"),
        Input(STAMP_ID, "data"),
        *(Input(cid, prop) for cid, prop in FILTER_IDS),
        Input("version", "data"),
    )

    @app.callback(
        Output("page", "children"),
        Output("routed", "data"),
        Output(STAMP_ID, "data"),
        Input("url", "pathname"),
        Input("lang", "value"),
        State("url", "search"),
        State("routed", "data"),
        *(State(cid, prop) for cid, prop in FILTER_IDS),
        State("version", "data"),
    )
    async def route(
        path: str | None, lang: str, search: str | None, routed: bool | None, *values: Any
    ) -> Any:
        """The page at ``path``, filled with its figures for the current filters.

        On the first draw the filters come from the URL when it names any: the filter bar
        gets them in the same moment (``filter_options``), too late for this page.
        """
        wanted = url_filters(search)
        if wanted is not None and not routed:
            procedure, province, start, end, channel = wanted
            values = (procedure, province, None, start, end, channel, values[-1])
        page = next((p for p in PAGES.values() if path == p.PATH), PAGES["overview"])
        extra = (search,) if page is PAGES["case"] else ()
        drawn = await asyncio.to_thread(page.render, svc, values, lang, *extra)
        # What the page was drawn for (``STALE_JS`` redraws it if that is stale); the time
        # makes each stamp new, so the browser checks every page that arrives.
        return drawn, True, {"values": list(values), "at": time.time()}


URL_NAMES = ("procedure", "province", "from", "to", "channel")

# The commune options of the picked province (every readable one without a province), from
# the ``units`` store; an unchanged value is not sent back, or every page would recompute.
COMMUNES_JS = """
function(province, units, current) {
    const nu = window.dash_clientside.no_update;
    const options = [];
    for (const [prov, communes] of Object.entries(units || {})) {
        if (province && prov !== province) continue;
        for (const option of communes) options.push(option);
    }
    const keep = options.some(o => o.value === current) ? current : null;
    return [options, keep === (current ?? null) ? nu : keep];
}
"""

# The date picker's month and weekday names follow ``window.dateFns.locale`` (Dash 4 takes the
# locale from there): Vietnamese (``assets/date_vi.js``) in the Vietnamese UI, the built-in
# English otherwise. A new ``month_format`` makes the picker draw itself again.
DATE_LOCALE_JS = """
function(lang) {
    window.dateFns = window.dateFns || {};
    window.dateFns.locale = lang === "en" ? {} : {vi: window.dvcflowDateVi};
    return lang === "en" ? "MMMM YYYY" : "MMMM/YYYY";
}
"""

DROPDOWNS = ("f-procedure", "f-province", "f-commune", "f-channel")


def dropdown_labels(lang: str) -> dict[str, str]:
    """The dropdowns' own words (search box, nothing found …) in ``lang``."""
    if lang == "en":
        return {"search": "Search (type a name)", "no_options_found": "Nothing found"}
    return {
        "select_all": "Chọn tất cả",
        "deselect_all": "Bỏ chọn tất cả",
        "selected_count": "Đã chọn {num_selected}",
        "search": "Tìm (gõ tên, không cần dấu)",
        "clear_search": "Xoá tìm kiếm",
        "clear_selection": "Bỏ chọn",
        "no_options_found": "Không tìm thấy",
    }


def unit_option(code: str, name: str, cases: int, lang: str) -> dict[str, Any]:
    """A picker entry: the unit's name and dossier count, found by its name with or without
    diacritics or by its code; the code on hover."""
    return {
        "label": f"{name} ({fmt.number(cases, lang)})",
        "value": code,
        "search": f"{names.fold(name)} {code}",
        "title": code,
    }


def procedure_option(p: dict[str, Any], lang: str) -> dict[str, Any]:
    code = p["procedure_code"]
    name = pick(p["name"], lang) if p.get("name") else code
    return {
        "label": f"{name} · {code}" if p.get("name") else code,
        "value": code,
        "search": f"{names.fold(name)} {code}",
        "title": code,
    }


# A page just drawn (``route`` set ``page-stamp``) for other filters than the bar now holds:
# bump the redraw store so its content callbacks draw it for the bar. Nothing on a filter
# change alone (the content callbacks take the filters as Inputs themselves).
STALE_JS = """
function(stamp, ...values) {
    const nu = window.dash_clientside.no_update;
    const fired = (window.dash_clientside.callback_context.triggered || [])
        .map(t => t.prop_id).filter(id => id && id !== ".");
    if (!stamp || !fired.includes("page-stamp.data")) return nu;
    const drawn = stamp.values;
    const same = drawn.length === values.length
        && drawn.every((v, i) => (v ?? null) === (values[i] ?? null));
    return same ? nu : Date.now();
}
"""


def url_filters(search: str | None) -> tuple[str | None, ...] | None:
    """The filters a shared link names (``/?procedure=1.001193&province=79``), in
    ``URL_NAMES`` order; None when the link names none."""
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    if not any(n in query for n in URL_NAMES):
        return None
    return tuple(query.get(n, [""])[0] or None for n in URL_NAMES)
