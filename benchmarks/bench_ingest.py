"""Ingest throughput: events/s through the sink (decode, validate, pseudonymise, write) and
through the HTTP gateway, with where the sink's time goes.

    .venv/bin/python benchmarks/bench_ingest.py [--events 200000] [--gateway-events 100000]

Targets (issue 3): >= 50,000 events/s per sink process on librdkafka's mock cluster,
>= 10,000 events/s through the gateway with batched requests on loopback. All figures of
the table are measured in this one run, on this machine, under its current load.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import orjson
from confluent_kafka import Producer
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ingest.batch as batch_module  # noqa: E402
import ingest.sink as sink_module  # noqa: E402
from dvcflow.access import hash_token  # noqa: E402
from dvcflow.settings import Settings  # noqa: E402
from ingest.broker import EmbeddedBroker, ensure_topics, free_port  # noqa: E402
from ingest.pseudonym import Pseudonymizer  # noqa: E402
from ingest.store import EventStore  # noqa: E402

VN = timezone(timedelta(hours=7))
KEY = "bench-key-not-a-secret"
PARTITIONS = 6
MOCK_ROUND = 40_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_events(n: int) -> list[bytes]:
    rng = random.Random(1)
    out = []
    start = datetime(2025, 7, 1, 8, tzinfo=VN)
    for i in range(n):
        case = i // 6
        out.append(
            orjson.dumps(
                {
                    "event_id": f"E{i:09d}",
                    "case_id": f"79.26734-{case:08d}",
                    "procedure_code": rng.choice(["1.001193", "1.000894", "2.000488"]),
                    "activity": rng.choice(["submit", "receive", "appraise", "approve", "pay"]),
                    "timestamp": (start + timedelta(minutes=i % 80_000)).isoformat(),
                    "org_unit": "C26734",
                    "province_code": "79",
                    "commune_code": "26734",
                    "channel": rng.choice(["online", "counter"]),
                    "actor_role": "officer",
                    "resource": f"officer-{rng.randrange(40)}",
                    "applicant_id": f"0792030{case % 50_000:05d}",
                    "attributes": {"fee": 50_000, "digitised": True},
                }
            )
        )
    return out


def mock_cluster() -> tuple[Producer, str]:
    """librdkafka's in-process mock cluster; alive as long as the returned producer is."""
    owner = Producer({"test.mock.num.brokers": 1, "bootstrap.servers": "", "log_level": 3})
    broker = next(iter(owner.list_topics(timeout=10).brokers.values()))
    return owner, f"{broker.host}:{broker.port}"


def settings_for(bootstrap: str, data_dir: Path, tag: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        kafka_bootstrap=bootstrap,
        topic_events=f"bench-{tag}",
        topic_dlq=f"bench-{tag}-dlq",
        consumer_group=f"bench-{tag}",
        pseudonym_key=SecretStr(KEY),
        compact_min_files=10_000,
    )


def preload(settings: Settings, values: list[bytes], create: bool = True) -> None:
    """The mock cluster has no controller for CreateTopics: it auto-creates on produce."""
    config = {"bootstrap.servers": settings.kafka_bootstrap}
    if create:
        ensure_topics(config, {settings.topic_events: PARTITIONS, settings.topic_dlq: 1})
    producer = Producer({**config, "linger.ms": 50, "queue.buffering.max.messages": 1_000_000})
    for value in values:
        key = orjson.loads(value)["case_id"].encode()
        while True:
            try:
                producer.produce(settings.topic_events, value, key)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(60) == 0


class Phases:
    """Wall time spent inside the sink's phases (patched in for the run)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn):  # noqa: ANN001, ANN201
        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t

        return timed


class TimedConsumer:
    """The real consumer, with consume and commit timed (its C methods cannot be patched)."""

    def __init__(self, consumer, phases: Phases):  # noqa: ANN001
        self._consumer = consumer
        self.consume = phases.wrap("kafka consume (poll, fetch)", consumer.consume)
        self.commit = phases.wrap("offset commit", consumer.commit)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._consumer, name)


def run_sink(settings: Settings, n: int) -> tuple[float, float, dict[str, float]]:
    """Events per wall second and per CPU second of this process (sink, librdkafka and, for
    the mock cluster, the broker threads) from the first consumed message to the last
    written one, and the share of wall time per phase."""
    phases = Phases()
    sink = sink_module.Sink(settings)
    originals = (sink_module.decode_batch, EventStore.write)
    sink_module.decode_batch = phases.wrap("decode+validate+pseudonymise", originals[0])
    EventStore.write = phases.wrap("parquet write (fsync, rename)", originals[1])
    sink.consumer = TimedConsumer(sink.consumer, phases)  # type: ignore[assignment]
    stop = threading.Event()
    worker = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    worker.start()
    try:
        while sink.stats.consumed == 0:
            time.sleep(0.002)
        first = time.perf_counter()
        first_cpu = time.process_time()
        phases.seconds.clear()  # the group join is not throughput
        progress, last_change = 0, time.monotonic()
        while sink.stats.written < n:
            if sink.stats.written != progress:
                progress, last_change = sink.stats.written, time.monotonic()
            if time.monotonic() - last_change > 60:
                raise RuntimeError(f"the sink stalled at {progress} of {n} events")
            time.sleep(0.002)
        seconds = time.perf_counter() - first
        cpu_seconds = time.process_time() - first_cpu
        spent = dict(phases.seconds)  # not the idle polls while the thread winds down
    finally:
        stop.set()
        worker.join(30)
        sink_module.decode_batch, EventStore.write = originals[0], originals[1]
    shares = {k: v / seconds for k, v in spent.items()}
    return n / seconds, n / cpu_seconds, shares


def bench_decode(values: list[bytes]) -> tuple[float, float]:
    ps = Pseudonymizer(KEY.encode())
    settings = Settings()
    now = datetime.now(UTC)
    best = {}
    for _ in range(3):  # alternate, keep the best CPU time of each: load on a shared box varies
        for fn in (batch_module.decode_batch_reference, batch_module.decode_batch):
            t = time.process_time()
            for start in range(0, len(values), 20_000):
                fn(values[start : start + 20_000], ps, settings, now)
            best[fn] = min(best.get(fn, 1e9), time.process_time() - t)
    return (
        len(values) / best[batch_module.decode_batch_reference],
        len(values) / best[batch_module.decode_batch],
    )


def bench_gateway(bootstrap: str, values: list[bytes], batch: int, clients: int) -> float:
    token = "bench-token"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DVCFLOW_DATA_DIR": tmp,
            "DVCFLOW_KAFKA_BOOTSTRAP": bootstrap,
            "DVCFLOW_API_KEYS": orjson.dumps(
                [{"name": "bench", "token_sha256": hash_token(token), "role": "integrator"}]
            ).decode(),
            "DVCFLOW_GATEWAY_MAX_REQUEST_BYTES": str(50 * 1024 * 1024),
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "ingest.gateway:create_app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=Path(__file__).resolve().parents[1],
        )
        try:
            url = f"http://127.0.0.1:{port}/api/v1/events"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/api/v1/stream/health", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            bodies = [b"\n".join(values[i : i + batch]) for i in range(0, len(values), batch)]
            headers = {"X-API-Key": token, "Content-Type": "application/x-ndjson"}
            with httpx.Client(timeout=60) as client:
                assert client.post(url, content=bodies[0], headers=headers).status_code == 202

                def send(body: bytes) -> int:
                    r = client.post(url, content=body, headers=headers)
                    assert r.status_code == 202, r.text[:300]
                    return r.json()["accepted"]

                t = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    accepted = sum(pool.map(send, bodies[1:]))
                seconds = time.perf_counter() - t
            return accepted / seconds
        finally:
            server.terminate()
            server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=120_000, help="through the mock cluster")
    parser.add_argument("--tansu-events", type=int, default=100_000)
    parser.add_argument("--gateway-events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2_000, help="events per gateway request")
    args = parser.parse_args()

    values = make_events(max(args.events, args.tansu_events, args.gateway_events))
    rows: list[tuple[str, float | None, float | None, int | None]] = []
    ref, fast = bench_decode(values[: min(args.events, 100_000)])
    rows.append(("decode only: validate_event per row (reference)", None, ref, None))
    rows.append(("decode only: sink batch decoder", None, fast, None))
    log(f"decode: reference {ref:,.0f}/s, batch {fast:,.0f}/s")

    # The mock cluster keeps about 5 MB per partition (older messages are dropped), so it
    # is measured in rounds of MOCK_ROUND events on fresh topics; rates are per round.
    owner, bootstrap = mock_cluster()
    rates, cpu_rates, phase_runs = [], [], []
    for start in range(0, args.events, MOCK_ROUND):
        chunk = values[start : min(start + MOCK_ROUND, args.events)]
        with tempfile.TemporaryDirectory() as tmp:
            settings = settings_for(bootstrap, Path(tmp), f"mock{start}")
            preload(settings, chunk, create=False)
            rate, cpu_rate, phases = run_sink(settings, len(chunk))
        rates.append(rate)
        cpu_rates.append(cpu_rate)
        phase_runs.append(phases)
        log(f"mock cluster round {len(rates)}: {rate:,.0f} events/s")
    mock_rate = statistics.median(rates)
    phases = {k: statistics.mean(p.get(k, 0.0) for p in phase_runs) for k in phase_runs[0]}
    mock_cpu = statistics.median(cpu_rates)
    rows.append(
        (f"sink, 1 process, mock cluster (median of {len(rates)})", mock_rate, mock_cpu, 50_000)
    )

    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(Settings(), topics={}) as tansu:
        settings = settings_for(tansu.bootstrap, Path(tmp), "tansu")
        preload(settings, values[: args.tansu_events])
        tansu_rate, tansu_cpu, _ = run_sink(settings, args.tansu_events)
    rows.append(("sink, 1 process, embedded Tansu broker", tansu_rate, tansu_cpu, None))
    log(f"tansu: {tansu_rate:,.0f} events/s")

    gw_rate = bench_gateway(bootstrap, values[: args.gateway_events], args.batch, clients=4)
    rows.append((f"gateway, NDJSON x{args.batch}, 4 clients, mock cluster", gw_rate, None, 10_000))
    del owner

    print(f"\nload average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("per CPU-s: events per CPU second of this process (what one free core would do)\n")
    print(f"{'path':52s} {'events/s':>9s} {'per CPU-s':>10s} {'target':>7s} {'ratio':>6s}")
    for name, rate, cpu_rate, target in rows:
        wall = f"{rate:9,.0f}" if rate else f"{'':9s}"
        cpu = f"{cpu_rate:10,.0f}" if cpu_rate else f"{'':10s}"
        ratio = f"{rate / target:6.2f}" if rate and target else ""
        print(f"{name:52s} {wall} {cpu} {target or '':>7} {ratio}")
    print(f"{'batch decoder / reference (CPU)':52s} {'':9s} {fast / ref:10.2f}")
    print("\nwhere the sink's wall time goes (mock cluster run, share of wall time):")
    for name, share in sorted(phases.items(), key=lambda kv: -kv[1]):
        print(f"  {name:40s} {share:6.1%}")


if __name__ == "__main__":
    main()
