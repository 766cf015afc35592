"""How fast the dashboard answers: every interaction timed in a real headless Chromium.

Builds (once, then reuses) a store of about ``--events`` generated events, starts
``dvcflow serve`` on it, and times each interaction from the browser's own input event (the
click or key press, not Selenium's command) until the page shows its answer: the DOM updated
by the last Dash callback it caused, and painted (two animation frames after the last change
of the page, or the last answer if it changed nothing later). The earlier definition, up to
the last callback's answer without the rendering after it, is printed beside it ("answered").
Interactions: a filter picked, a page opened, the process-map overlay, a drill-down, a what-if
run, the language switched. The store-version timer is set to an hour so its polls do not fall into
the timings (the live refresh is tested in tests/e2e/test_dashboard_live.py).

Cold, first and warm are reported apart:

- cold: each procedure's figures asked for through the API right after the server started,
  while the background warming computes them too: the mining cost a user meets after a
  restart or a store change (``cases`` with a channel filter is never warmed);
- first: the first browser round, once ``/api/v1/status`` says the warming is done, so the
  overview, explorer, bottlenecks, compare and reform pages come from the cache, but a what-if
  or a drill-down is computed (on the filter's log, which the reform or bottlenecks page
  started reading ahead);
- warm: later rounds, everything cached for this store version.

    flock /tmp/dvcflow-bench.lock .venv/bin/python benchmarks/bench_dashboard.py \
        [--events 1000000] [--quick] [--rounds 3] [--procedures 2]

Prints one table with p50 / p95 per interaction kind, the ratio to the 0.5 s target and the
load average before and after.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyarrow as pa
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest.pseudonym import Pseudonymizer  # noqa: E402
from ingest.schema import conform_table  # noqa: E402
from ingest.store import EventStore  # noqa: E402
from tests.conftest import TEST_KEY  # noqa: E402
from tests.e2e.browser import chromium, settled, wait_for, web_server  # noqa: E402

TARGET_S = 0.5
console = Console()
ANSWERED: dict[str, list[float]] = {}  # the same interactions, timed to the last answer only


def build_store(data_dir: Path, events: int) -> EventStore:
    """Generated dossiers until ``events`` events, written in monthly partitions."""
    store = EventStore(data_dir)
    if store.files():
        return store
    from sample_logs.generator import generate

    cases = max(100, events // 11)  # the generator writes about 11 events per dossier
    began = time.perf_counter()
    table = generate("all", cases, 5, None).table
    pseudo = Pseudonymizer(TEST_KEY.encode())
    ids = table["applicant_id"].to_pylist()
    refs = pa.array([pseudo.ref(a) for a in ids], pa.string())
    table = table.drop_columns(["applicant_id"]).append_column("applicant_ref", refs)
    now = pa.array([datetime.now(UTC)] * table.num_rows, pa.timestamp("us", "UTC"))
    store.write(conform_table(table.append_column("ingested_at", now)), "bench")
    console.print(
        f"store: {table.num_rows:,} events, {cases:,} dossiers, "
        f"built in {time.perf_counter() - began:.1f} s"
    )
    return store


def timed(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


MARK = """
performance.clearResourceTimings();
window.__t0 = null;
window.__painted = null;
const first = (e) => { if (window.__t0 === null) window.__t0 = e.timeStamp; };
for (const kind of ['pointerdown', 'mousedown', 'keydown']) {
    document.addEventListener(kind, first, {capture: true, once: true});
}
// Each change of the page: the time of the second animation frame after it, i.e. once the
// browser has laid it out and painted it.
if (window.__watch) window.__watch.disconnect();
window.__watch = new MutationObserver(() => requestAnimationFrame(
    () => requestAnimationFrame(() => { window.__painted = performance.now(); })));
window.__watch.observe(document.body,
    {subtree: true, childList: true, attributes: true, characterData: true});
"""
LATENCY = """
const calls = performance.getEntriesByType('resource')
    .filter(e => e.name.includes('_dash-update-component'));
if (!calls.length || window.__t0 === null) return null;
const answered = Math.max(...calls.map(e => e.responseEnd));
const shown = Math.max(answered, window.__painted || 0);
return [(answered - window.__t0) / 1000, (shown - window.__t0) / 1000];
"""


def interaction(driver, act, ready=None) -> tuple[float, float] | None:
    """Seconds from the user's input event until (answered) the last callback it caused has
    answered and (shown) the page has been updated and painted after it.

    Measured by the browser itself (the event's timestamp, the resource timings of Dash's
    callback requests, animation frames after the last DOM change), so neither Selenium's
    command round trip nor the test's polling is counted.
    """
    driver.execute_script(MARK)
    act()
    if ready:
        wait_for(driver, ready, timeout=600)
    settled(driver, timeout=600)
    got = driver.execute_script(LATENCY)  # None: the action changed nothing
    return tuple(got) if got else None


def open_dropdown(driver, dropdown: str) -> None:
    driver.find_element("css selector", f"#{dropdown}").click()
    wait_for(driver, "[role=option]")


def choose(driver, value: str) -> None:
    """Click an option of the open dropdown: the interaction timed (opening it is not)."""
    driver.find_element("css selector", f"[role=option]:has(input[value='{value}'])").click()


def browser_interactions(base: str, procedures: list[str], provinces: list[str], rounds: int):
    """{kind: [seconds]} for each in-page interaction, cold (first round) and warm."""
    times: dict[str, list[float]] = {}

    def record(kind: str, seconds: tuple[float, float] | None) -> None:
        if seconds is not None:
            answered, shown = seconds
            times.setdefault(kind, []).append(shown)
            ANSWERED.setdefault(kind, []).append(answered)

    def nav(name: str, ready: str):
        return lambda: driver.find_element("css selector", f"#nav-{name}").click()

    with chromium() as driver:
        driver.get(f"{base}/?procedure=&province=")
        wait_for(driver, "#card-cases", timeout=600)
        settled(driver, timeout=600)
        for rnd in range(rounds):
            temp = "first" if rnd == 0 else "warm"
            for proc in procedures:
                driver.find_element("css selector", "#nav-overview").click()
                wait_for(driver, "#card-cases", timeout=600)
                settled(driver, timeout=600)
                open_dropdown(driver, "f-procedure")
                record(
                    f"pick a procedure ({temp})",
                    interaction(driver, lambda p=proc: choose(driver, p)),
                )
                for prov in provinces:
                    open_dropdown(driver, "f-province")
                    record(
                        f"pick a province ({temp})",
                        interaction(driver, lambda v=prov: choose(driver, v)),
                    )
                for name, ready in (
                    ("explorer", "#ex-cytoscape"),
                    ("bottlenecks", "#bn-steps"),
                    ("reform", "#rf-candidates"),
                    ("compare", "#cmp-table"),
                ):
                    record(f"open {name} ({temp})", interaction(driver, nav(name, ready), ready))
                    if name == "explorer":
                        record(
                            f"process map overlay ({temp})",
                            interaction(
                                driver,
                                lambda: driver.find_element(
                                    "css selector", "#ex-overlay input[value=time]"
                                ).click(),
                            ),
                        )
                    if name == "bottlenecks":
                        record(
                            f"drill down a step ({temp})",
                            interaction(
                                driver,
                                lambda: driver.find_element(
                                    "css selector", "#bn-steps input[type=radio]"
                                ).click(),
                                "#bn-drill-total",
                            ),
                        )
                    if name == "reform":
                        box = driver.find_element(
                            "css selector", "#rf-candidates input[type=checkbox]:not([disabled])"
                        )
                        if not box.is_selected():
                            box.click()
                        record(
                            f"what-if run ({temp})",
                            interaction(
                                driver,
                                lambda: driver.find_element("css selector", "#rf-run").click(),
                                "#rf-whatif-table",
                            ),
                        )
            for lang in ("en", "vi"):
                record(
                    f"language switch ({temp})",
                    interaction(
                        driver,
                        lambda lg=lang: driver.find_element(
                            "css selector", f"#lang input[value={lg}]"
                        ).click(),
                    ),
                )
    return times


def api_calls(base: str, procedures: list[str], rounds: range, temp: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    paths = (  # what the pages show first, i.e. what the server warms, then one it does not
        "process-map",
        "bottlenecks",
        "variants",
        "service-index",
        "reform/candidates",
        "reform/readiness",
        "cases",
    )
    with httpx.Client(base_url=f"{base}/api/v1", timeout=900) as client:
        for _ in rounds:
            for proc in procedures:
                for path in paths:
                    params = {"procedure": proc}
                    if path == "service-index":
                        params["by"] = "province"  # as the overview asks
                    if path == "cases":  # a filter no page warmed: computed on demand
                        params["channel"] = "online"
                    began = time.perf_counter()
                    got = client.get(f"/{path}", params=params)
                    got.raise_for_status()
                    kind = f"API {path} ({temp})"
                    times.setdefault(kind, []).append(time.perf_counter() - began)
    return times


def province_calls(base: str, procedures: list[str], provinces: list[str], temp: str):
    """A procedure narrowed to a province, as the overview asks for it (analysis and service
    index by commune): computed on demand unless the warming got there first."""
    times: dict[str, list[float]] = {}
    with httpx.Client(base_url=f"{base}/api/v1", timeout=900) as client:
        for proc in procedures:
            for province in provinces:
                for path, extra in (("process-map", {}), ("service-index", {"by": "commune"})):
                    began = time.perf_counter()
                    params = {"procedure": proc, "province": province, **extra}
                    got = client.get(f"/{path}", params=params)
                    got.raise_for_status()
                    kind = f"API {path}, a province ({temp})"
                    times.setdefault(kind, []).append(time.perf_counter() - began)
    return times


def wait_until_warm(base: str) -> dict:
    """``/api/v1/status`` once the server's background warming is done: the browser rounds
    then time the users' interactions, not their share of two cores with the warming."""
    while True:
        status = httpx.get(f"{base}/api/v1/status", timeout=60).json()
        if status["warming"] != "warming":
            return status
        time.sleep(1.0)


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/dvcflow-bench-dashboard"))
    parser.add_argument("--quick", action="store_true", help="50k events, 2 procedures")
    parser.add_argument("--rounds", type=int, default=3, help="1 cold + N-1 warm rounds")
    parser.add_argument("--procedures", type=int, default=4, help="busiest procedures to visit")
    args = parser.parse_args()
    events = 50_000 if args.quick else args.events
    data_dir = args.data_dir / f"{events}"
    store = build_store(data_dir, events)
    summary = store.summary()
    total = sum(r["events"] for r in summary)
    ranked = sorted(summary, key=lambda r: -r["cases"])
    procedures = [r["procedure_code"] for r in ranked[: 2 if args.quick else args.procedures]]
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    env = {"DVCFLOW_WEB_REFRESH_SECONDS": "3600"}
    with web_server(data_dir, env, startup_seconds=600) as base:
        began = time.perf_counter()
        # Right after start: each figure waits for (or is) its first computation. Every
        # procedure, so that the warming is over when the browser rounds start.
        everything = [r["procedure_code"] for r in ranked]
        times = api_calls(base, everything, range(1), "cold")
        got = httpx.get(
            f"{base}/api/v1/cases",
            params={"procedure": procedures[0], "limit": 500},
            timeout=600,
        )
        assert got.status_code == 200, got.text
        cases = got.json()
        provinces = sorted({c["province_code"] for c in cases["items"]})[:2]
        # Still while warming: it reaches the provinces after every procedure's own views.
        times |= province_calls(base, procedures, provinces, "cold")
        cold_round = time.perf_counter() - began
        status = wait_until_warm(base)
        warmed_in = time.perf_counter() - began
        times |= browser_interactions(base, procedures, provinces, args.rounds)
        times |= api_calls(base, procedures, range(args.rounds - 1), "warm")
        times |= province_calls(base, procedures, provinces, "warm")
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    table = Table(title=f"dashboard responsiveness on {total:,} events ({len(summary)} procedures)")
    columns = ("interaction", "n", "p50 s", "p95 s", "p95 / 0.5 s target", "p95 answered s")
    for col in columns:
        table.add_column(col, justify="left" if col == "interaction" else "right")
    order = {"(warm)": 0, "(first)": 1, "(cold)": 2}

    def rank(kind: str) -> tuple[int, str]:
        return next(v for k, v in order.items() if kind.endswith(k)), kind

    for kind, values in sorted(times.items(), key=lambda kv: rank(kv[0])):
        ratio = p95(values) / TARGET_S
        style = "green" if ratio <= 1 else "red"
        table.add_row(
            kind,
            str(len(values)),
            f"{statistics.median(values):.3f}",
            f"{p95(values):.3f}",
            f"[{style}]{ratio:.2f}[/]",
            f"{p95(ANSWERED[kind]):.3f}" if kind in ANSWERED else "",
        )
    warm = [
        v for k, vs in times.items() if k.endswith("(warm)") and not k.startswith("API") for v in vs
    ]
    console.print(table)
    console.print(
        "browser rows: until shown (DOM updated and painted); 'p95 answered': until the last "
        "callback answered (the earlier definition); API rows: the HTTP round trip"
    )
    answered = [v for k, vs in ANSWERED.items() if k.endswith("(warm)") for v in vs]
    console.print(
        f"all warm browser interactions: n={len(warm)}, p95 = {p95(warm):.3f} s shown, "
        f"{p95(answered):.3f} s answered"
    )
    first = [
        v
        for k, vs in times.items()
        if k.endswith("(first)") and not k.startswith(("what-if", "drill"))
        for v in vs
    ]
    if first:
        console.print(f"first views after warming (pages, filters): p95 = {p95(first):.3f} s")
    console.print(
        f"cold API round took {cold_round:.1f} s; the warming was done {warmed_in:.1f} s after "
        f"it began ({status.get('figures_to_warm')} figures, one pass "
        f"{status.get('last_warming_seconds')} s); "
        f"load average before {' '.join(load_before)}, after {' '.join(load_after)}"
    )


if __name__ == "__main__":
    main()
