"""confluent-kafka client settings built from ``dvcflow.settings`` (bootstrap, SASL, TLS)."""

from __future__ import annotations

from typing import Any

from dvcflow.errors import DvcflowError
from dvcflow.settings import Settings


class KafkaConfigError(DvcflowError):
    """A Kafka setting is missing or wrong; the message names it."""


def require_bootstrap(settings: Settings) -> str:
    if not settings.kafka_bootstrap:
        raise KafkaConfigError(
            "DVCFLOW_KAFKA_BOOTSTRAP is not set: give the Kafka bootstrap address "
            "(host:port), or start the embedded broker with `dvcflow broker` and use the "
            "address it prints."
        )
    return settings.kafka_bootstrap


def client_config(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """What every client (producer, consumer, admin) shares: where and how to connect."""
    config: dict[str, Any] = {"bootstrap.servers": bootstrap or require_bootstrap(settings)}
    if settings.kafka_security_protocol:
        config["security.protocol"] = settings.kafka_security_protocol
    if settings.kafka_sasl_mechanism:
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
    if settings.kafka_sasl_username:
        config["sasl.username"] = settings.kafka_sasl_username
    if settings.kafka_sasl_password is not None:
        config["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_ssl_ca_location:
        config["ssl.ca.location"] = settings.kafka_ssl_ca_location
    if config.get("sasl.mechanism") and not config.get("security.protocol"):
        raise KafkaConfigError(
            "DVCFLOW_KAFKA_SASL_MECHANISM is set but DVCFLOW_KAFKA_SECURITY_PROTOCOL is not "
            "(use SASL_SSL or SASL_PLAINTEXT)."
        )
    return config


def producer_config(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """Idempotent producer: a retry after a lost ack never writes a message twice."""
    return {
        **client_config(settings, bootstrap),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "batch.num.messages": 10_000,
        "compression.type": "lz4",
        "message.timeout.ms": 30_000,
    }


def consumer_config(settings: Settings, bootstrap: str | None = None) -> dict[str, Any]:
    """Manual commits only: the sink commits an offset after the batch is on disk."""
    return {
        **client_config(settings, bootstrap),
        "group.id": settings.consumer_group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": 6_000,  # the group forms in ~half of this
        "heartbeat.interval.ms": 1_000,
        "max.poll.interval.ms": 300_000,
    }
