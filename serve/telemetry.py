"""Prometheus metrics of the service, in a registry of its own (one per app, so tests can build
many apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dispo_requests", "HTTP requests by route, method and status", ["route", "method", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "dispo_request_seconds", "HTTP request latency by route", ["route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.live_updates = Histogram(
            "dispo_live_update_seconds", "Time to update a live suggestion after a turn",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.model_info = Gauge(
            "dispo_model_info", "The model version being served (value 1)", ["version", "backend"],
            registry=self.registry,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "dispo_inference_queue_depth", "Requests waiting for the model", registry=self.registry
        )
        self.batch_size = Histogram(
            "dispo_inference_batch_contacts", "Contacts per forward pass",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=self.registry,
        )  # fmt: skip
        self.live_sessions = Gauge("dispo_live_sessions", "Open live sessions", registry=self.registry)
        self.suggestions = Counter("dispo_suggestions", "Suggestions served", ["source"], registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
