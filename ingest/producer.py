"""One confluent-kafka producer per process, usable from plain code and from asyncio.

A background thread serves delivery reports, so ``send`` can await the broker's
acknowledgement of every event without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from dvcflow.settings import Settings
from ingest.kafka_config import producer_config


class EventProducer:
    """Keyed messages to Kafka; ``send`` resolves when the broker acknowledged each one."""

    def __init__(
        self,
        settings: Settings,
        bootstrap: str | None = None,
        overrides: dict[str, Any] | None = None,
    ):
        self._producer = Producer({**producer_config(settings, bootstrap), **(overrides or {})})
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kafka-delivery", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            self._producer.poll(0.05)

    def produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        on_delivery: Any = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Queue one message, waiting for room when the local queue is full."""
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, on_delivery=on_delivery, headers=headers
                )
                return
            except BufferError:
                self._producer.flush(0.1)

    async def send(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes]],
        headers: list[tuple[str, bytes]] | None = None,
    ) -> list[str | None]:
        """Produce all (each with ``headers``), then wait for every delivery report: per
        message ``None`` or the error."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[str | None]] = [loop.create_future() for _ in messages]

        def reporter(future: asyncio.Future[str | None]) -> Any:
            def delivered(err: KafkaError | None, _msg: Message) -> None:
                outcome = None if err is None else str(err)
                loop.call_soon_threadsafe(_settle, future, outcome)

            return delivered

        for (key, value), future in zip(messages, futures, strict=True):
            self.produce(topic, key, value, reporter(future), headers)
        return list(await asyncio.gather(*futures))

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still undelivered."""
        return self._producer.flush(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        self._closed.set()
        self._thread.join(timeout=2)


def _settle(future: asyncio.Future[str | None], outcome: str | None) -> None:
    if not future.done():
        future.set_result(outcome)
