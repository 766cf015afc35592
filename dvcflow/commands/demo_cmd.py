"""``dvcflow demo``: the whole pipeline on the embedded defaults, in one command.

History goes straight into the store (so the dashboard has data at once); the newest
dossiers then stream live through the embedded broker and the sink while the web runs.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import typer

from dvcflow.commands.common import cli_settings, console, show_logs, user_errors
from dvcflow.commands.store_cmds import summary_table
from dvcflow.settings import Settings
from ingest.store import EventStore

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_logs" / "data"


def _sample_log(settings: Settings, cases: int | None) -> Path:
    """The shipped sample log, or a freshly generated one when asked for another size."""
    shipped = SAMPLE_DIR / "events.parquet"
    if cases is None and shipped.exists():
        return shipped
    from sample_logs.generator import generate

    out = settings.data_dir / "demo" / "generated"
    with console.status(f"generating a sample log of {cases or 3000:,} dossiers…"):
        generate(procedures="all", cases=cases or 3000, seed=7, out=out)
    return out / "events.parquet"


def split_history(source: Path, out_dir: Path, live_share: float) -> tuple[Path, Path]:
    """Split a log by dossier receipt time: the newest ``live_share`` of dossiers is 'live'."""
    table = pq.read_table(source)
    ts = table["timestamp"]
    if not pa.types.is_timestamp(ts.type):
        raise typer.BadParameter(f"{source}: column 'timestamp' is not a timestamp")
    firsts = table.group_by("case_id").aggregate([("timestamp", "min")])
    cut = pc.quantile(firsts["timestamp_min"].cast(pa.int64()), q=1 - live_share)[0].as_py()
    live_cases = firsts.filter(pc.greater(firsts["timestamp_min"].cast(pa.int64()), int(cut)))
    is_live = pc.is_in(table["case_id"], value_set=live_cases["case_id"])
    out_dir.mkdir(parents=True, exist_ok=True)
    history, live = out_dir / "history.parquet", out_dir / "live.parquet"
    pq.write_table(table.filter(pc.invert(is_live)), history)
    pq.write_table(table.filter(is_live), live)
    return history, live


def _wait_for_store(store: EventStore, expected: int, timeout: float) -> None:
    """Until the sink has written every streamed event (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    with console.status("waiting for the sink to write the stream…"):
        while time.monotonic() < deadline:
            if sum(r["events"] for r in store.summary()) >= expected:
                return
            time.sleep(1)
    console.print(f"[yellow]the sink had not written all {expected:,} events in {timeout:.0f} s")


def print_summary(store: EventStore) -> None:
    console.print(summary_table(store.summary(), title="the event store"))


def demo(
    port: Annotated[int, typer.Option(help="web port")] = 8050,
    cases: Annotated[
        int | None, typer.Option(help="generate this many dossiers instead of the shipped sample")
    ] = None,
    live_share: Annotated[
        float, typer.Option(help="share of the newest dossiers that stream live")
    ] = 0.15,
    speed: Annotated[
        float | None,
        typer.Option(
            help="live replay speed, × real time (default: a day per 2 s; max without web)"
        ),
    ] = None,
    web: Annotated[bool, typer.Option("--web/--no-web", help="serve the dashboard")] = True,
) -> None:
    """Run the whole pipeline: sample history imported, live stream through the embedded
    broker and sink, dashboard at http://127.0.0.1:PORT (Ctrl-C stops everything)."""
    from ingest.broker import EmbeddedBroker
    from ingest.importers import import_file
    from ingest.pseudonym import Pseudonymizer
    from ingest.replay import replay_file
    from ingest.sink import run_sink

    with user_errors():
        settings = cli_settings()
        settings.ensure_demo_key()
        settings.port = port
        store = EventStore(settings.data_dir)
        source = _sample_log(settings, cases)
        history, live = split_history(source, settings.data_dir / "demo", live_share)
        key = Pseudonymizer(settings.require_pseudonym_key())  # the demo key, not the env's
        report = import_file(history, store, pseudonymizer=key)
        console.print(f"imported the history: {report.written:,} events from {history}")
        print_summary(store)

        if speed is None:
            speed = 43_200.0 if web else None
        with EmbeddedBroker(settings) as broker:
            settings.kafka_bootstrap = broker.bootstrap
            console.print(f"embedded Kafka-compatible broker at [bold]{broker.bootstrap}[/]")
            stop = threading.Event()
            sink = threading.Thread(target=run_sink, args=(settings, stop), daemon=True)
            sink.start()
            streamer = threading.Thread(
                target=replay_file,
                args=(live, None, settings),
                kwargs={"speed": speed},
                daemon=True,
            )
            streamer.start()
            pace = f"{speed:,.0f}× real time" if speed else "full speed"
            console.print(f"streaming {live.name} through the broker at {pace}")
            try:
                if web:
                    from dashboard.server import run

                    console.print(f"dashboard at [bold]http://{settings.host}:{port}[/]")
                    show_logs()
                    run(settings)
                else:
                    streamer.join()
                    expected = report.written + pq.read_metadata(live).num_rows
                    _wait_for_store(store, expected, timeout=120)
                    print_summary(store)
            finally:
                stop.set()
                sink.join(timeout=30)


def register(app: typer.Typer) -> None:
    app.command()(demo)
