"""The one door from the web to ``mining``: every figure the API and the pages show.

The read API and the Dash callbacks both call this class, so a number on a page is the number
the API returns for the same filters. It computes nothing itself beyond listing what the store
holds: analyses come from ``mining`` (and ``mining.reform``), cached per store version. A
function another package has not shipped yet raises ``NotAvailable``, which the API answers as
501 and the pages show as a "not available" notice.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from typing import Any

import duckdb

from dashboard.background import WARM_YIELD_SECONDS, UserWork, WarmProgress, in_background
from dashboard.kept import FigureCache, LoadedLog
from dvcflow.access import Owner
from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings
from ingest.owner import find_owners, owners_sql
from ingest.schema import STORE_SCHEMA
from ingest.store import EventStore
from mining.derived.read import procedure_summary
from mining.filters import LogFilter
from sample_logs.workdays import WorkCalendar, default_calendar

log = logging.getLogger("dvcflow.web")
VERSION_REUSE_SECONDS = 1.0  # the dashboard reads the store's version at most this often
READ_AHEAD_AFTER_SECONDS = 0.5  # a page's read-ahead starts once the browser has drawn it


class NotAvailable(DvcflowError):
    """A figure whose computing function is not installed (yet)."""


class NotFound(DvcflowError):
    """A dossier or other named thing is not in the store."""


def _function(module: str, *names: str) -> Callable[..., Any]:
    """The first of ``names`` found in ``module``; NotAvailable when none is."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or module
        if missing != module and not module.startswith(missing):
            raise  # a real import error inside the module: let it show
        message = f"{module} is not installed yet, so this figure is unavailable."
        raise NotAvailable(message) from None
    for name in names:
        fn = getattr(mod, name, None)
        if callable(fn):
            return fn
    raise NotAvailable(f"{module} has no {names[0]}(), so this figure is unavailable.")


class Service:
    """Figures for one store, cached per store version."""

    def __init__(self, settings: Settings, cache_size: int = 256):
        self.settings = settings
        self.store = EventStore(settings.data_dir)
        self.stale_seconds = 0.0
        self._cache = FigureCache(cache_size)
        # Loaded logs of the filters last asked for (procedure-level or narrower; the whole
        # store's is too big to keep), and the one the warming thread is on.
        self._logs = FigureCache(settings.web_kept_logs)
        self._local = threading.local()
        self._prefetcher = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="dvcflow-prefetch", initializer=in_background
        )
        self._prefetch_latest: list[Any] = [None]  # the filter key last asked for, shared
        self._version_read: list[Any] = [0.0, None]  # (when, version), shared with the views
        self._first_seen: dict[str, float] = {}  # store version -> when the pages first saw it
        self._warming = WarmProgress()  # shared with the dashboard's view, which runs it
        self._user_work = UserWork()

    def for_dashboard(self) -> Service:
        """The same figures and cache, allowed to lag a live stream by ``web_stale_seconds``."""
        view = object.__new__(Service)
        view.__dict__.update(self.__dict__)
        view.stale_seconds = self.settings.web_stale_seconds
        return view

    # --- plumbing ----------------------------------------------------------------------
    def calendar(self) -> WorkCalendar:
        """The working-day calendar of this service's settings (extra holidays, time zone)."""
        return default_calendar(self.settings)

    def version(self) -> str:
        """The store's version; the dashboard's view reuses one read in the last second.

        Reading it stats every file of the store (6 ms on 100 files, more on a real one), and
        a page asks it once per figure: the dashboard, which may lag by ``web_stale_seconds``
        anyway, reads it at most once a second; the API reads it each time.
        """
        if self.stale_seconds <= 0:
            return self.store.version()
        now = time.monotonic()
        at, version = self._version_read
        if version is None or now - at >= min(VERSION_REUSE_SECONDS, self.stale_seconds):
            version = self.store.version()
            self._version_read[:] = [now, version]
        return version

    def page_version(self) -> str:
        """What the dashboard's pages redraw on: the store version when it changes, and once
        more, marked ``+settled``, ``stale_seconds`` after it was first seen. A figure computed
        less than ``stale_seconds`` before a change may be served for the new version
        (``FigureCache``): without the second redraw, a page drawn then would stay behind the store
        until its next write. The first version a process sees is settled (nothing older is
        cached). A warning model trained in the background since (``fits.generation``) is a
        change too: an open early-warning page then redraws with it."""
        version = self.version()
        fits = sys.modules.get("mining.warning.fits")  # not loaded: no model has landed
        landed = fits.generation() if fits is not None else 0
        if landed:
            version = f"{version}+m{landed}"
        now = time.monotonic()
        seen = self._first_seen
        first = seen.setdefault(version, now - self.stale_seconds if not seen else now)
        while len(seen) > 16:  # only the last versions matter
            del seen[next(iter(seen))]
        return version if now - first < self.stale_seconds else f"{version}+settled"

    def _cached(self, what: str, flt: LogFilter | None, options: tuple, fn: Callable[[], Any]):
        key = (what, flt.key() if flt else None, options)
        if not getattr(self._local, "warming", False):
            fn = self._user_work.around(fn)
        return self._cache.get(key, self.version(), fn, self.stale_seconds)

    def _log(self, flt: LogFilter) -> LoadedLog:
        """``flt``'s loaded log: the warming's own, a kept one, or read now (and kept)."""
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == flt.key():
            if held[1] is None:
                held[1] = LoadedLog.read(self.store, flt, self.settings)
            return held[1]
        if not flt.procedure or self._logs.size <= 0:
            return LoadedLog.read(self.store, flt, self.settings)
        return self._logs.get(("log", flt.key()), self.version(), lambda: self._read(flt))

    def _read(self, flt: LogFilter) -> LoadedLog:
        """``flt``'s log: cut in memory from its procedure's log when that is kept (a
        province, commune, channel or date pick inside a procedure already looked at), else
        read from the store. Not the procedure's log read for it: that builds the steps of
        every dossier of the procedure, where a direct read builds only the filter's."""
        whole = LogFilter(procedure=flt.procedure)
        parent = None if flt == whole else self._logs.peek(("log", whole.key()), self.version())
        if parent is None:
            return LoadedLog.read(self.store, flt, self.settings)
        return LoadedLog.narrowed(parent, flt, self.settings)

    def prefetch(self, flt: LogFilter) -> None:
        """Load ``flt``'s log and its ``StepLog`` in the background and keep them: a page
        calls this when drawn for a procedure, so a drill-down, what-if or impact that follows
        skips reading the store. It starts ``READ_AHEAD_AFTER_SECONDS`` later, not while the
        page is drawn, and only for the latest filter asked for then: a procedure picked on the
        way to one of its provinces is not read. Nothing for the whole store (never kept), and
        nothing when the filter is the one last read ahead: the page's other views, or a live
        refresh redrawing it after each write of a stream, which would read it again each time
        for a click that may never come."""
        if not flt.procedure or self._logs.size <= 0 or self._prefetch_latest[0] == flt.key():
            return
        self._prefetch_latest[0] = flt.key()

        def load() -> None:
            time.sleep(READ_AHEAD_AFTER_SECONDS)
            if self._prefetch_latest[0] != flt.key():
                return  # another filter was picked since
            try:
                self._log(flt).steps()
            except Exception:  # the click that needs it reports the error
                log.debug("prefetching %s failed", flt.describe(), exc_info=True)

        self._prefetcher.submit(self._user_work.around(load))

    def _holding(self, flt: LogFilter) -> Callable[[], None]:
        """While warming ``flt``: its figures share one loaded log, read when first needed
        and dropped after (not kept: that would push out the users' filters). Returns the
        function that drops it."""
        self._local.held = [flt.key(), None]
        return lambda: setattr(self._local, "held", None)

    def warm(self, stop: threading.Event) -> None:
        """Keep the likely first views computed for the current store version.

        First the whole store's overview, then every procedure's overview, explorer and reform
        page (analysis, service index, candidates, readiness, step changes), the busiest
        procedures first, then each procedure's busiest ``web_warm_provinces`` provinces (the
        same pages' figures, with the compare page's): a user's first pick of a procedure or
        of a province in it then comes from the cache instead of a mining run. Each filter's
        figures share one read of the store (``_holding``). Before each figure it waits while
        a user's figure is being computed (``UserWork``): users come first.
        """
        self._local.warming = True  # this thread's figures do not count as users'
        in_background()
        progress = self._warming
        while not stop.is_set():
            version = self.version()
            done = progress.version == version and progress.finished
            if not done and not self.store.is_empty():
                began = time.monotonic()
                plan = self._warm_plan()
                # Every warmed figure must fit in the cache with room for the user's own.
                total = sum(len(todo) for _, todo in plan)
                self._cache.size = max(self._cache.size, 2 * total)
                progress.version, progress.done, progress.total = version, 0, total
                progress.finished = False
                for flt, todo in plan:
                    release = self._holding(flt)  # one read of the store for all its figures
                    try:
                        for step in todo:
                            self._user_work.wait_idle(WARM_YIELD_SECONDS)
                            if stop.is_set():
                                return
                            try:
                                step(flt)
                            except Exception:  # a figure that fails here fails on its page
                                log.warning("warming %s failed", flt.describe(), exc_info=True)
                            progress.done += 1
                    finally:
                        release()
                progress.seconds = round(time.monotonic() - began, 1)
                progress.finished = True
                log.info("dashboard cache warm in %.1f s (%d figures)", progress.seconds, total)
            stop.wait(max(3 * self.settings.web_stale_seconds, 5.0))  # a live stream: not nonstop

    def _warm_plan(self) -> list[tuple[LogFilter, list[Callable[[LogFilter], Any]]]]:
        """(filter, figures) in the order the warming computes them (see ``warm``)."""
        ranked = sorted(self.procedures(), key=lambda p: -(p.get("cases") or 0))
        procedures = [LogFilter(procedure=p["procedure_code"]) for p in ranked]
        overview: list[Callable[[LogFilter], Any]] = [
            self.analysis,
            lambda f: self.reform("service_index", f, by="province"),
        ]
        reform_page: list[Callable[[LogFilter], Any]] = [
            lambda f: self.reform("candidates", f),
            lambda f: self.reform("readiness", f),
            self.step_changes,
        ]
        province_views: list[Callable[[LogFilter], Any]] = [
            self.analysis,
            lambda f: self.reform("service_index", f, by="commune"),  # overview
            lambda f: self.reform("service_index", f, by="province"),  # compare page
            *reform_page,
        ]
        plan = [(LogFilter(), overview)]
        plan += [(f, overview + reform_page) for f in procedures]
        plan += [(f, province_views) for f in self._warm_provinces(ranked)]
        return plan

    def status(self) -> dict[str, Any]:
        """The store version and how far the warming of the first views has got: ``warm``
        (done for this version), ``warming`` (a pass is running), ``behind`` (done for an
        older version, the next pass starts within ``3 × web_stale_seconds``, at least 5 s:
        a live stream) or ``off``."""
        version = self.version()
        progress = self._warming
        if not self.settings.web_warm_cache:
            state = "off"
        elif progress.version is not None and not progress.finished:
            state = "warming"
        elif progress.version == version:
            state = "warm"
        elif progress.version is None:
            state = "warm" if self.store.is_empty() else "warming"  # nothing to warm, or soon
        else:
            state = "behind"
        return {
            "store_version": version,
            "warming": state,
            "warmed_version": progress.version,
            "warmed_figures": progress.done,
            "figures_to_warm": progress.total or None,
            "last_warming_seconds": progress.seconds,
        }

    def _warm_provinces(self, ranked: list[dict[str, Any]]) -> list[LogFilter]:
        """(procedure, province) filters to warm: each procedure's busiest
        ``web_warm_provinces`` provinces, procedures in ``ranked`` order."""
        keep = self.settings.web_warm_provinces
        if keep <= 0:
            return []
        rows = self._sql(
            "SELECT procedure_code, province_code, count(DISTINCT case_id) AS cases "
            f"FROM ({self.store.scan_sql()}) WHERE province_code IS NOT NULL "
            "GROUP BY ALL ORDER BY cases DESC, province_code"
        )
        by_procedure: dict[str, list[str]] = {}
        for r in rows:
            by_procedure.setdefault(r["procedure_code"], []).append(r["province_code"])
        return [
            LogFilter(procedure=p["procedure_code"], province=province)
            for p in ranked
            for province in by_procedure.get(p["procedure_code"], [])[:keep]
        ]

    def _sql(self, query: str, params: dict | None = None) -> list[dict[str, Any]]:
        con = duckdb.connect()
        con.register("_dvc_empty_events", STORE_SCHEMA.empty_table())
        return con.sql(query, params=params or None).to_arrow_table().to_pylist()

    # --- what the store holds ----------------------------------------------------------
    def procedures(self, scope: LogFilter | None = None) -> list[dict[str, Any]]:
        """Procedures with data, with their catalog names where the catalog knows them;
        counted over the dossiers ``scope``'s province / commune / org unit owns (``None``:
        all), so an official's list says nothing about other provinces."""
        where = _owner_where(scope)

        def compute() -> list[dict[str, Any]]:
            # the derived layer when it is fresh: one row per dossier, not every event
            rows = procedure_summary(self.store, where)
            if rows is None and where is None:
                rows = self.store.summary()
            elif rows is None:
                owned = f"SELECT case_id FROM ({owners_sql(f'({self.store.scan_sql()})')})"
                rows = self._sql(
                    "SELECT procedure_code, count(*) AS events, count(DISTINCT case_id) AS cases,"
                    f" min(timestamp) AS first, max(timestamp) AS last FROM ("
                    f"{self.store.scan_sql()}) WHERE case_id IN ({owned} WHERE {where[0]}) "
                    "GROUP BY procedure_code ORDER BY procedure_code",
                    where[1],
                )
            names = _catalog_names(self.settings)
            for row in rows:
                row["name"] = names.get(row["procedure_code"])
            return rows

        key = tuple(sorted(where[1].items())) if where else ()
        return self._cached("procedures", None, key, compute)

    def units(self, procedure: str | None = None) -> list[dict[str, Any]]:
        """Province → commune tree with dossier counts (of ``procedure`` when given)."""
        procedures = [procedure] if procedure else None

        def compute() -> list[dict[str, Any]]:
            owners = owners_sql(f"({self.store.scan_sql(procedures=procedures)})")
            rows = self._sql(
                f"WITH firsts AS (SELECT case_id, province_code AS province, "
                f"commune_code AS commune FROM ({owners})) "
                "SELECT province, commune, count(*) AS cases FROM firsts "
                "WHERE province IS NOT NULL GROUP BY ALL ORDER BY province, commune"
            )
            tree: dict[str, dict[str, Any]] = {}
            for r in rows:
                node = tree.setdefault(
                    r["province"], {"province_code": r["province"], "cases": 0, "communes": []}
                )
                node["cases"] += r["cases"]
                if r["commune"] is not None:
                    node["communes"].append({"commune_code": r["commune"], "cases": r["cases"]})
            return list(tree.values())

        return self._cached("units", None, (procedure,), compute)

    def step_changes(self, flt: LogFilter, margin_days: int = 30) -> list[dict[str, Any]]:
        """Candidate reform dates for the impact view (``mining.reform.changes``)."""
        find = _function("mining.reform.changes", "step_changes")
        tz = self.settings.timezone
        return self._cached(
            "step_changes", flt, (margin_days,), lambda: find(self.store, flt, tz, margin_days)
        )

    # --- mining ------------------------------------------------------------------------
    def analysis(self, flt: LogFilter) -> dict[str, Any]:
        """The full analysis of ``mining.analysis.analyze`` (process map, bottlenecks, …)."""
        analyze = _function("mining.analysis", "analyze_loaded")
        options_cls = _function("mining.analysis", "AnalysisOptions")
        options = options_cls(discover=False)  # pm4py models: the CLI's job, not a page's

        def compute() -> dict[str, Any]:  # ``mining.analysis.analyze`` on the shared log
            loaded = self._log(flt)
            result = loaded.query(lambda con: analyze(con, options, self.settings))
            return result | {"filter": flt.describe(), "store_version": loaded.version}

        return self._cached("analysis", flt, (), compute)

    def section(self, flt: LogFilter, key: str) -> Any:
        """One key of the full analysis, e.g. ``dfg`` or ``bottlenecks`` (may be None)."""
        result = self.analysis(flt)
        if key not in result:
            raise NotAvailable(f"mining.analysis.analyze() returned no {key!r} for these filters.")
        return result[key]  # None: not computable here (no catalog entry, no due dates)

    def unit_waits(self, flt: LogFilter, step: str, after: str | None = None) -> Any:
        """The wait at ``step`` (after ``after``) per commune (per province without a
        location) of the dossiers ``flt`` keeps, in working days, with the province's and the
        nation's medians (``mining.unit_waits``). Read on the procedure's nation-wide log for
        the filter's dates and channel: only those two medians come from beyond ``flt``."""
        from mining.unit_waits import unit_waits

        nation = replace(flt, province=None, commune=None, org_unit=None)

        def compute() -> Any:
            calendar = self.calendar()
            return self._log(nation).query(
                lambda con: unit_waits(con, step, flt, after=after, calendar=calendar)
            )

        return self._cached("unit_waits", flt, (step, after), compute)

    def step_working_days(self, flt: LogFilter) -> dict[tuple, Any]:
        """Each step's wait (and each pair's, and each handoff's between two units) in working
        days: ``{(step, after, from_unit, to_unit): …}``."""
        from mining.unit_waits import step_working_days

        def compute() -> dict:
            rows = self._log(flt).query(lambda con: step_working_days(con, self.calendar()))
            return {(r.step, r.after, r.from_unit, r.to_unit): r for r in rows}

        return self._cached("step_working_days", flt, (), compute)

    def cycle_working_days(self, flt: LogFilter) -> float | None:
        """Median receipt-to-end time of the filter's finished dossiers, in working days."""
        from mining.periods import cycle_working_days

        def compute() -> float | None:
            return self._log(flt).query(lambda con: cycle_working_days(con, self.calendar()))

        return self._cached("cycle_wd", flt, (), compute)

    def period_change(self, flt: LogFilter) -> Any:
        """``flt``'s period (its dates, else the last 30 days) beside the one just before
        (``mining.periods``), on the log of ``flt`` without its dates; None without a
        procedure (the whole store's log is not kept, so it would be read again)."""
        from mining.periods import period_change

        if not flt.procedure:
            return None
        undated = replace(flt, date_from=None, date_to=None)

        def compute() -> Any:
            self.analysis(undated)  # its deadlines give the on-time status
            return self._log(undated).query(
                lambda con: period_change(con, flt.date_from, flt.date_to, self.calendar())
            )

        return self._cached("period_change", flt, (), compute)

    def cases(
        self,
        flt: LogFilter,
        *,
        activity: str | None = None,
        offset: int = 0,
        limit: int = 50,
        sort: str = "first_ts",
        descending: bool = False,
    ) -> dict[str, Any]:
        """One page of dossiers (``mining.log`` ``cases``), optionally only those with a step."""

        def page(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
            source, params = "cases", {}
            if activity:
                # ``step_wait_s``: the dossier's longest wait before that step
                source = (
                    "(SELECT c.*, w.* EXCLUDE (case_id) FROM cases c JOIN (SELECT case_id, "
                    "max(wait_s) AS step_wait_s, arg_max(prev_end_ts, wait_s) AS "
                    "step_wait_from, arg_max(greatest(start_ts, prev_end_ts), wait_s) AS "
                    "step_wait_to FROM steps WHERE activity = $activity GROUP BY case_id) w "
                    "USING (case_id))"
                )
                params["activity"] = activity
            columns = [r[0] for r in con.sql(f"DESCRIBE {source}", params=params).fetchall()]
            order = sort if sort in columns else columns[0]
            total = con.sql(f"SELECT count(*) FROM {source}", params=params).fetchone()[0]
            params.update(limit=limit, offset=offset)
            rows = (
                con.sql(
                    f'SELECT * FROM {source} ORDER BY "{order}" '
                    f"{'DESC' if descending else 'ASC'} NULLS LAST, case_id "
                    "LIMIT $limit OFFSET $offset",
                    params=params,
                )
                .to_arrow_table()
                .to_pylist()
            )
            return {"total": total, "offset": offset, "limit": limit, "items": rows}

        options = (activity, offset, limit, sort, descending)
        return self._cached("cases", flt, options, lambda: self._log(flt).query(page))

    def case(self, case_id: str) -> Any:
        """One dossier's timeline (``mining.dossier``): its events in process order and its
        due date, read from its procedure's log so they are what that procedure's figures
        count; NotFound when the store has none."""
        from mining.dossier import dossier_timeline

        def procedure() -> str | None:
            rows = self._sql(
                f"SELECT procedure_code FROM ({self.store.scan_sql('case_id = $case_id')}) LIMIT 1",
                {"case_id": case_id},
            )
            return rows[0]["procedure_code"] if rows else None

        code = self._cached("case_procedure", None, (case_id,), procedure)
        if code is None:
            raise NotFound(f"dossier {case_id!r} is not in the store.")
        flt = LogFilter(procedure=code)
        found = self._cached(
            "case",
            flt,
            (case_id,),
            lambda: self._log(flt).query(
                lambda con: dossier_timeline(con, case_id, settings=self.settings)
            ),
        )
        if found is None:
            raise NotFound(f"dossier {case_id!r} is not in the store.")
        return found

    def case_owner(self, case_id: str) -> Owner:
        """Whom the dossier belongs to (``ingest.owner``); NotFound when the store has none."""
        owners = self._cached(
            "case_owner", None, (case_id,), lambda: find_owners(self.store, [case_id])
        )
        if case_id not in owners:
            raise NotFound(f"dossier {case_id!r} is not in the store.")
        return owners[case_id]

    # --- reform ------------------------------------------------------------------------
    def reform(self, what: str, flt: LogFilter, **options: Any) -> Any:
        """A ``mining.reform`` figure: readiness, candidates, what-if, impact, service index."""
        module, name, verb = _REFORM[what]
        fn = _function(module, name)
        frozen = tuple(sorted((k, _freeze(v)) for k, v in options.items()))

        def compute() -> Any:  # ``mining.reform.<what>`` on the filter's shared StepLog
            if verb:
                require = _function("mining.reform.source", "require_procedure")
                args: tuple = (require(flt, verb),)
            else:
                args = ()
            result = fn(self._log(flt).steps(), *args, **options)  # under the log's settings
            result["filter"] = flt.describe()
            return result

        return self._cached(f"reform.{what}", flt, frozen, compute)

    # --- early warning -----------------------------------------------------------------
    def warnings(self, flt: LogFilter, *, as_of: date | None = None, top: int | None = 50) -> Any:
        """The morning list of ``mining.warning`` (open dossiers ranked by risk of finishing
        late), rescored at every store version; the model is retrained in the background
        (at most every ``warning_retrain_seconds``) while the last one answers, and the
        answer is computed again once it lands (``fits.generation``)."""
        fn = _function("mining.warning", "warnings")
        landed = _function("mining.warning.fits", "generation")()
        return self._cached(
            "warnings",
            flt,
            (as_of.isoformat() if as_of else None, top, landed),
            lambda: fn(
                self.store, flt, as_of=as_of, top=top, settings=self.settings, background=True
            ),
        )

    # --- stream ------------------------------------------------------------------------
    def stream_health(self) -> dict[str, Any]:
        """The sink's counters (events/s, lag, dead letters); never cached: it is live."""
        read = _function("ingest.health", "read_stream_health")
        return read(self.settings.data_dir)


# what -> (module, function over a StepLog, the CLI verb when it needs one procedure): each
# ``mining.reform`` function is its ``*_from`` on ``load_steps(store, flt)`` plus the filter.
_REFORM: dict[str, tuple[str, str, str | None]] = {
    "readiness": ("mining.reform.readiness", "readiness_from", None),
    "candidates": ("mining.reform.candidates", "candidates_from", "reform"),
    "whatif": ("mining.reform.whatif", "whatif_from", "whatif"),
    "impact": ("mining.reform.impact", "impact_from", "impact"),
    "service_index": ("mining.reform.service_index", "kpi_from", None),
}


def _owner_where(scope: LogFilter | None) -> tuple[str, dict[str, str]] | None:
    """SQL over ``ingest.owner`` columns keeping the dossiers of ``scope``'s location."""
    if scope is None:
        return None
    picks = {
        k: v
        for k, v in (
            ("province_code", scope.province),
            ("commune_code", scope.commune),
            ("org_unit", scope.org_unit),
        )
        if v is not None
    }
    if not picks:
        return None
    return " AND ".join(f"{k} = ${k}" for k in picks), picks


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        return tuple(sorted(_freeze(v) for v in value))
    if isinstance(value, date):
        return value.isoformat()
    return value


def _catalog_names(settings: Settings) -> dict[str, dict[str, str]]:
    try:
        from sample_logs.catalog import load_catalog
    except ImportError:
        return {}
    try:
        catalog = load_catalog(settings=settings)
    except DvcflowError:
        return {}
    return {code: {"vi": p.name.vi, "en": p.name.en} for code, p in catalog.items()}
