"""Streaming verbs: ``broker``, ``sink``, ``replay``, ``gateway`` and ``keys add``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer

from dvcflow.commands.common import JsonOpt, cli_settings, console, print_json, user_errors

keys_app = typer.Typer(help="API keys of the HTTP gateway and read tokens of the API.")


def _stop_on_signals() -> threading.Event:
    """SIGTERM and Ctrl-C ask the worker to finish what it holds and exit (for ``sink`` this
    has been so since the CLI's first line: ``dvcflow.early_stop``)."""
    from dvcflow.early_stop import listen

    return listen()


def broker() -> None:
    """Start the embedded Kafka-compatible broker (or check DVCFLOW_KAFKA_BOOTSTRAP's) and
    create the topics; prints the bootstrap address."""
    from ingest.broker import EmbeddedBroker, default_topics, ensure_topics
    from ingest.kafka_config import client_config

    settings = cli_settings()
    with user_errors():
        if settings.kafka_bootstrap:
            ensure_topics(client_config(settings), default_topics(settings))
            console.print(f"topics ready on {settings.kafka_bootstrap}")
            typer.echo(settings.kafka_bootstrap)
            return
        stop = _stop_on_signals()
        with EmbeddedBroker(settings) as embedded:
            console.print(
                f"embedded broker (Tansu, in memory) ready; topics {settings.topic_events} "
                f"({settings.topic_partitions} partitions) and {settings.topic_dlq}. "
                f"Use: export DVCFLOW_KAFKA_BOOTSTRAP={embedded.bootstrap}",
                highlight=False,
                soft_wrap=True,
            )
            typer.echo(embedded.bootstrap)
            while not stop.is_set():
                if embedded.process is None or embedded.process.poll() is not None:
                    raise typer.Exit(1)
                stop.wait(0.5)


def sink() -> None:
    """Consume dvc.events into the store until SIGTERM (finishes the batch in hand)."""
    stop = _stop_on_signals()
    from ingest.sink import run_sink

    settings = cli_settings()
    with user_errors():
        settings.require_pseudonym_key()
        console.print(
            f"sink: {settings.topic_events} -> {settings.data_dir} "
            f"(group {settings.consumer_group})",
            highlight=False,
        )
        stats = run_sink(settings, stop)
    if not stats.joined:
        console.print(
            "sink stopped during start-up, before joining the consumer group: "
            "nothing read, nothing to commit",
            highlight=False,
        )
        return
    console.print(
        f"sink stopped: {stats.written} events written, {stats.dlq} to the DLQ, "
        f"{stats.batches} batches",
        highlight=False,
    )


def replay(
    file: Annotated[Path, typer.Argument(help="a log file that `dvcflow import` reads")],
    speed: Annotated[
        float | None, typer.Option("--speed", help="X times real time (by event timestamps)")
    ] = None,
    max_speed: Annotated[bool, typer.Option("--max", help="as fast as possible")] = False,
    fmt: Annotated[str, typer.Option("--format", help="auto, csv, xes, parquet, portal-json")] = (
        "auto"
    ),
    procedure: Annotated[
        str | None, typer.Option("--procedure", help="procedure code when the file has none")
    ] = None,
    org_unit: Annotated[
        str | None, typer.Option("--org-unit", help="org unit when the file has none")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Stream a log file into Kafka, keyed by case_id, in timestamp order."""
    from ingest.importers import ImportOptions
    from ingest.replay import ReplayError, replay_file

    settings = cli_settings()
    with user_errors():
        if speed is not None and max_speed:
            raise ReplayError("give either --speed X or --max, not both.")
        options = ImportOptions(
            format=fmt, procedure=procedure, org_unit=org_unit, local_timezone=settings.timezone
        )
        report = replay_file(file, options, settings, speed=None if max_speed else speed)
    if json:
        print_json(report.to_dict())
    else:
        console.print(
            f"replayed {report.sent} events from {file} to {settings.topic_events} "
            f"in {report.seconds:.1f}s",
            highlight=False,
        )


def gateway(
    host: Annotated[str | None, typer.Option(help="default: DVCFLOW_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default: DVCFLOW_PORT")] = None,
) -> None:
    """Run the HTTP gateway alone (POST /api/v1/events); `dvcflow serve` also serves it."""
    import uvicorn

    settings = cli_settings()
    uvicorn.run(
        "ingest.gateway:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
    )


@keys_app.command("add")
def keys_add(
    name: Annotated[str, typer.Argument(help="who the key is for, e.g. hcm-one-stop")],
    role: Annotated[
        str, typer.Option(help="integrator (writes events), official, reform_team, admin")
    ] = "integrator",
    province: Annotated[list[str] | None, typer.Option(help="allowed province (repeat)")] = None,
    commune: Annotated[list[str] | None, typer.Option(help="allowed commune (repeat)")] = None,
    org_unit: Annotated[
        list[str] | None, typer.Option("--org-unit", help="allowed org unit, 'P79.*' (repeat)")
    ] = None,
) -> None:
    """Create a key: prints the token once; only its SHA-256 is stored."""
    from dvcflow.access import add_key, keys_path

    settings = cli_settings()
    path = keys_path(settings)
    with user_errors():
        token = add_key(path, name, role, province, commune, org_unit)  # type: ignore[arg-type]
    console.print(f"key '{name}' ({role}) added to {path}. Its token, shown only now:")
    typer.echo(token)


def status_stream(json: JsonOpt = False) -> None:
    """Stream health: events/s in and out, consumer lag, DLQ count, last write."""
    from ingest.health import read_stream_health

    health = read_stream_health(cli_settings().data_dir)
    health.pop("processes")
    if json:
        print_json(health)
        return
    for key, value in health.items():
        console.print(f"{key:28s} {value}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this area's verbs to ``app``."""
    app.command("broker")(broker)
    app.command("sink")(sink)
    app.command("replay")(replay)
    app.command("gateway")(gateway)
    app.command("stream-health")(status_stream)
    app.add_typer(keys_app, name="keys")
