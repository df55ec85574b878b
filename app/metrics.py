"""Prometheus metrics, one registry per app so several apps can live in one process (tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connections = Gauge("parley_connections", "Open WebSocket connections", registry=self.registry)
        self.messages_sent = Counter("parley_messages_sent", "Messages stored", registry=self.registry)
        self.messages_delivered = Counter(
            "parley_messages_delivered", "Message frames queued to connections", registry=self.registry
        )
        self.fanout_seconds = Histogram(
            "parley_fanout_seconds",
            "From a message stored to its frame queued on a connection of this node",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.errors = Counter("parley_errors", "Errors answered, by protocol code", ["code"], registry=self.registry)
        self.slow_consumers = Counter(
            "parley_slow_consumers", "Connections closed because their send queue filled", registry=self.registry
        )
        self.bus_failures = Counter("parley_bus_failures", "Events the bus failed to publish", registry=self.registry)

        self.history_reads = Counter(
            "parley_history_reads",
            "History and sync reads by the database that served them, when a replica is configured",
            ["source"],
            registry=self.registry,
        )

    def replica_read(self, served: bool) -> None:
        self.history_reads.labels("replica" if served else "primary").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
