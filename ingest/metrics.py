"""Prometheus metrics: the gateway's own counters plus every sink's, read from health files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ingest.health import read_stream_health

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StreamHealthCollector(Collector):
    """Sink counters of all processes sharing the data dir (see ``ingest.health``)."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def collect(self) -> Iterator[Metric]:
        h = read_stream_health(self.data_dir)
        yield CounterMetricFamily(
            "dvcflow_sink_events_consumed", "Events read from Kafka by sinks", h["events_consumed"]
        )
        yield CounterMetricFamily(
            "dvcflow_sink_events_written", "Events written to the store", h["events_written"]
        )
        yield CounterMetricFamily(
            "dvcflow_sink_dlq_events", "Events sent to the DLQ", h["dlq_count"]
        )
        yield GaugeMetricFamily("dvcflow_sink_events_in_per_second", "", h["events_in_per_s"])
        yield GaugeMetricFamily("dvcflow_sink_events_out_per_second", "", h["events_out_per_s"])
        yield GaugeMetricFamily("dvcflow_sink_live", "Sinks reporting recently", h["sinks_live"])
        if h["consumer_lag"] is not None:
            yield GaugeMetricFamily(
                "dvcflow_sink_consumer_lag", "Messages not yet consumed", h["consumer_lag"]
            )
        if h["seconds_since_last_write"] is not None:
            yield GaugeMetricFamily(
                "dvcflow_sink_seconds_since_last_write",
                "Age of the newest store write",
                h["seconds_since_last_write"],
            )


class GatewayMetrics:
    """The gateway process's counters, in their own registry (several apps per process ok)."""

    def __init__(self, data_dir: Path):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dvcflow_gateway_requests",
            "Requests by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.events = Counter(
            "dvcflow_gateway_events",
            "Events by result: accepted, invalid, forbidden, unavailable",
            ["result"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dvcflow_gateway_request_seconds",
            "Time to answer POST /v1/events (broker acknowledgement included)",
            registry=self.registry,
        )
        self.registry.register(StreamHealthCollector(data_dir))

    def render(self) -> bytes:
        return generate_latest(self.registry)
