"""The service's shared logs: a filter's figures all read one loaded log, which gives mining's
own figures, and the kept logs stay within ``web_kept_logs``."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

import mining.log
from dashboard.service import Service
from dvcflow.settings import Settings
from ingest.pseudonym import Pseudonymizer
from ingest.schema import rows_to_table, validate_event
from ingest.store import EventStore
from mining.analysis import AnalysisOptions, analyze
from mining.filters import LogFilter
from mining.reform import candidates, impact, kpi, readiness, whatif
from tests.conftest import TEST_KEY
from tests.dashboard.conftest import fill_store, hand_made_events

CASES = 120
PROC = "1.001193"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    return fill_store(tmp_path_factory.mktemp("service") / "data", CASES)


@pytest.fixture
def reads(monkeypatch) -> list[LogFilter]:
    """Every read of the store by ``mining.log.load_log``, by filter."""
    seen: list[LogFilter] = []
    real = mining.log.load_log

    def counted(store, flt, *args, **kwargs):
        seen.append(flt)
        return real(store, flt, *args, **kwargs)

    monkeypatch.setattr(mining.log, "load_log", counted)
    return seen


def same(a: object, b: object) -> bool:
    def dump(value: object) -> bytes:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NAIVE_UTC, default=str)

    return dump(a) == dump(b)


def service(store: EventStore, **settings) -> Service:
    return Service(Settings(data_dir=store.data_dir, web_warm_cache=False, **settings))


def test_a_filters_figures_share_one_read_and_equal_minings_own(store, reads):
    """What-if and impact first (they must not alter the shared log), then the rest: each
    equals the ``mining`` function that reads the store itself."""
    svc = service(store)
    flt = LogFilter(procedure=PROC, province="79")
    step = candidates(store, flt)["candidates"][0]["step"]
    received = sorted(c["first_ts"] for c in svc.cases(flt, limit=500)["items"])
    when = received[len(received) // 2].date()  # as many dossiers before as after
    reads.clear()
    svc = service(store)
    got = {
        # the filter's own log, its communes compared (the API's view for a province key)
        "whatif": svc.reform("whatif", flt, remove=[step], by="commune_code"),
        "impact": svc.reform("impact", flt, when=when, window_days=365),
        "drill": svc.cases(flt, activity=step, limit=500),
        "analysis": svc.analysis(flt),
        "candidates": svc.reform("candidates", flt, by="commune_code"),
        "readiness": svc.reform("readiness", flt),
        "index": svc.reform("service_index", flt, by="commune"),
    }
    assert reads == [flt]  # one read of the store for all of them
    assert same(got["whatif"], whatif(store, flt, remove=[step], compare_outside=False))
    assert same(got["impact"], impact(store, flt, when, window_days=365))
    assert same(got["candidates"], candidates(store, flt, compare_outside=False))
    assert same(got["readiness"], readiness(store, flt))
    assert same(got["index"], kpi(store, flt, by="commune"))
    direct = analyze(store, flt, AnalysisOptions(discover=False), use_cache=False)
    assert same(got["analysis"], direct)
    # The drill-down: every dossier whose events name the step, counted from the events.
    with_step = {
        e["case_id"]
        for e in hand_made_events(CASES)
        if e["procedure_code"] == PROC and e.get("activity") == step
    }
    in_province = {c["case_id"] for c in svc.cases(flt, limit=500)["items"]}
    assert got["drill"]["total"] == len(with_step & in_province) > 0


def test_kept_logs_are_the_last_asked_and_no_more(store, reads):
    svc = service(store, web_kept_logs=1)
    first, second = LogFilter(procedure=PROC), LogFilter(procedure=PROC, province="79")
    svc.cases(first, limit=5)
    svc.cases(first, limit=10)  # a kept log: no read
    svc.cases(second, limit=5)  # cut from the kept one, then kept instead of it
    svc.cases(first, limit=20)  # read again
    assert reads == [first, first]


def test_narrower_picks_are_cut_from_the_procedures_log_and_equal_minings_own(store, reads):
    """A province, a commune, a channel: no read of the store once the procedure's log is
    kept, and the same figures as ``mining.analysis.analyze`` reading the store itself."""
    svc = service(store)
    whole = LogFilter(procedure=PROC)
    svc.analysis(whole)
    commune = svc.cases(LogFilter(procedure=PROC, province="79"), limit=1)["items"][0]
    picks = [
        LogFilter(procedure=PROC, province="79"),
        LogFilter(procedure=PROC, province="79", commune=commune["commune_code"]),
        LogFilter(procedure=PROC, channel="online"),
    ]
    for flt in picks:
        direct = analyze(store, flt, AnalysisOptions(discover=False), use_cache=False)
        assert same(svc.analysis(flt), direct), flt.describe()
    assert [f for f in reads if f in picks] == []
    assert reads.count(whole) == 1
    # with the procedure's log not kept, a pick reads its own dossiers, not the procedure's
    reads.clear()
    service(store).cases(picks[0], limit=5)
    assert reads == [picks[0]]


def test_the_whole_store_is_never_kept(store, reads):
    svc = service(store)
    svc.cases(LogFilter(), limit=5)
    svc.cases(LogFilter(), limit=10)
    assert reads == [LogFilter(), LogFilter()]


class _OnePass(threading.Event):
    """A stop event that ends ``Service.warm`` when its first pass waits for new data."""

    def wait(self, timeout: float | None = None) -> bool:
        self.set()
        return True


def test_warming_reads_each_filter_once_and_keeps_none(store, reads):
    svc = service(store, web_warm_provinces=2)
    svc.warm(_OnePass())
    assert reads, "the warming read nothing"
    assert len(reads) == len({f.key() for f in reads})  # one read per filter
    assert len(svc._logs._entries) == 0  # the users' kept logs are not pushed out
    reads.clear()
    svc.cases(reads_filter := LogFilter(procedure=PROC), limit=5)
    assert reads == [reads_filter]


@pytest.mark.parametrize("page", ["overview", "reform"])
def test_a_drawn_page_has_its_whatif_read_ahead(store, reads, monkeypatch, page):
    """The page's figures come from the warmed cache (no read); drawing it loads the filter's
    log and builds its StepLog in the background, so the what-if click that follows reads
    and builds nothing."""
    from dashboard import pages
    from mining.reform import steps as reform_steps

    svc = service(store, web_warm_provinces=1)
    svc.warm(_OnePass())
    flt = LogFilter(procedure=PROC)
    step = svc.reform("candidates", flt)["candidates"][0]["step"]
    reads.clear()
    builds: list[int] = []
    real_build = reform_steps.build_step_log
    monkeypatch.setattr(
        reform_steps, "build_step_log", lambda *a, **k: builds.append(1) or real_build(*a, **k)
    )
    getattr(pages, page).render(svc, (PROC, None, None, None, None, None, svc.version()), "vi")
    svc._prefetcher.submit(lambda: None).result()  # the read-ahead is done
    assert reads == [flt]
    assert builds == [1]
    svc.reform("whatif", flt, remove=[step])
    assert reads == [flt]
    assert builds == [1]


def test_only_the_latest_filter_is_read_ahead(store, reads):
    """Filters picked while an earlier read-ahead runs are skipped but the last one."""
    svc = service(store)
    busy = threading.Event()
    svc._prefetcher.submit(busy.wait, 10)  # the read-ahead thread is taken
    picked = [LogFilter(procedure=PROC, province=p) for p in ("79", "01", None)]
    for flt in picked:
        svc.prefetch(flt)
    busy.set()
    svc._prefetcher.submit(lambda: None).result()
    assert reads == [picked[-1]]


def test_the_dashboard_reads_the_store_version_once_a_second(tmp_path, monkeypatch):
    """The API reads the version for each figure; the dashboard's view once a second, and
    sees a new store version after that second."""

    from dashboard import service as service_module

    store = fill_store(tmp_path / "data", 20)  # its own: new files are written into it
    api = service(store)
    view = api.for_dashboard()
    real = EventStore.version
    counted: list[str] = []

    def counting(self: EventStore) -> str:
        counted.append(self.data_dir.name)
        return real(self)

    monkeypatch.setattr(EventStore, "version", counting)
    for _ in range(5):
        assert view.version() == real(store)
    assert len(counted) == 1
    for _ in range(5):
        api.version()
    assert len(counted) == 6
    monkeypatch.setattr(service_module, "VERSION_REUSE_SECONDS", 0.2)
    before = view.version()
    extra = fill_store(tmp_path / "extra", 10)
    for path in extra.files():  # new files: a new version
        target = store.root / path.relative_to(extra.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    assert view.version() == before  # within the reuse time
    time.sleep(0.25)
    assert view.version() == real(store) != before


def test_the_warming_waits_while_a_users_figure_is_computed(store):
    """A user's figure in progress holds the warming back (on two cores they would share
    them); once it is done the warming goes on and ends warm."""
    svc = Service(Settings(data_dir=store.data_dir, web_warm_provinces=0))
    started, release = threading.Event(), threading.Event()

    def slow() -> int:
        started.set()
        release.wait(10)
        return 1

    user = threading.Thread(target=svc._cached, args=("slow", None, (), slow))
    user.start()
    assert started.wait(5)
    warming = threading.Thread(target=svc.warm, args=(_OnePass(),))
    warming.start()
    time.sleep(1.0)
    assert svc.status()["warming"] == "warming"
    assert svc.status()["figures_to_warm"] > 0
    assert svc.status()["warmed_figures"] == 0  # waiting for the user's figure
    release.set()
    warming.join(60)
    user.join(5)
    status = svc.status()
    assert status["warming"] == "warm"
    assert status["warmed_figures"] == status["figures_to_warm"]


def test_the_api_status_says_when_the_first_views_are_warm(tmp_path, reads):
    """``/api/v1/status``: warm once the pass is done (the overview then reads nothing), back
    to warming when new events change the store version, and warm again after."""
    from fastapi.testclient import TestClient

    from dashboard.server import create_app

    store = fill_store(tmp_path / "data", 20)  # its own: a new batch is written into it
    settings = Settings(data_dir=store.data_dir, web_warm_provinces=1, web_stale_seconds=0.1)

    def status_when(client: TestClient, wanted: str) -> dict:
        deadline = time.monotonic() + 60
        while True:
            got = client.get("/api/v1/status")
            assert got.status_code == 200, got.text
            if got.json()["warming"] == wanted or time.monotonic() > deadline:
                return got.json()
            time.sleep(0.1)

    with TestClient(create_app(settings)) as client:
        warm = status_when(client, "warm")
        assert warm["warming"] == "warm", warm
        assert warm["warmed_figures"] == warm["figures_to_warm"] > 0
        assert warm["store_version"] == store.version()
        reads.clear()
        assert client.get("/api/v1/process-map", params={"procedure": PROC}).status_code == 200
        assert reads == []  # computed by the warming

        pseudo = Pseudonymizer(TEST_KEY.encode())
        later = [validate_event(e, pseudo) for e in hand_made_events(3, seed=9)]
        store.write(rows_to_table(later), "later")
        again = client.get("/api/v1/status").json()
        assert again["warming"] == "behind"  # the next pass starts after its pause (5 s)
        assert again["store_version"] == store.version() != warm["store_version"]
        assert again["warmed_version"] == warm["store_version"]
        assert status_when(client, "warm")["warming"] == "warm"


def test_pages_redraw_once_more_when_a_new_version_has_settled(tmp_path, monkeypatch):
    """A new store version is redrawn at once (figures may still be the ones computed just
    before it, ``web_stale_seconds``) and once more when that window has passed, so the last
    write of a stream is shown; the first version of a process needs no second redraw."""
    from dashboard import service as service_module

    monkeypatch.setattr(service_module, "VERSION_REUSE_SECONDS", 0.0)
    store = fill_store(tmp_path / "data", 20)
    view = Service(Settings(data_dir=store.data_dir, web_stale_seconds=0.5)).for_dashboard()
    first = view.page_version()
    assert first == f"{store.version()}+settled"
    pseudo = Pseudonymizer(TEST_KEY.encode())
    store.write(rows_to_table([validate_event(e, pseudo) for e in hand_made_events(3, 9)]), "b")
    changed = view.page_version()
    assert changed == store.version() != first.removesuffix("+settled")
    assert view.page_version() == changed  # unchanged within the window: no redraw
    time.sleep(0.6)
    assert view.page_version() == f"{changed}+settled"
    assert view.page_version() == f"{changed}+settled"


def test_a_live_redraw_of_the_same_filter_is_not_read_ahead_again(tmp_path, reads):
    """A page redrawn after each write of a stream would read its filter again each time: the
    filter last read ahead is not read ahead again, another filter is."""
    store = fill_store(tmp_path / "data", 20)
    svc = service(store)
    flt = LogFilter(procedure=PROC)
    svc.prefetch(flt)
    svc._prefetcher.submit(lambda: None).result()
    assert reads == [flt]
    pseudo = Pseudonymizer(TEST_KEY.encode())
    store.write(rows_to_table([validate_event(e, pseudo) for e in hand_made_events(3, 9)]), "b")
    svc.prefetch(flt)  # the live refresh's redraw
    svc._prefetcher.submit(lambda: None).result()
    assert reads == [flt]
    other = LogFilter(procedure=PROC, province="79")
    svc.prefetch(other)
    svc._prefetcher.submit(lambda: None).result()
    assert reads == [flt, other]
