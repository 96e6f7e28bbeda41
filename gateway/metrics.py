"""Prometheus metrics. Labels carry codes from the catalogue and the protocol only: never
personal data, never a value a client can invent (unknown types count as `unknown`)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from gateway.kpi import within_sla

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self, document_types: Iterable[str]) -> None:
        self.registry = CollectorRegistry()
        self._types = frozenset(document_types)
        self.requests = Counter(
            "gateway_requests",
            "Requests answered, by transport, document type, status and problem code.",
            ["transport", "document_type", "status", "problem"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "Time from intake to sealed response, by document type.",
            ["document_type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.provider_latency = Histogram(
            "gateway_provider_duration_seconds",
            "Time a provider took to answer, by provider.",
            ["provider"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "gateway_dead_letters",
            "Messages sent to gateway.dead, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.replays = Counter(
            "gateway_duplicate_replays",
            "Repeated requests answered from the store.",
            registry=self.registry,
        )
        self.ready = Gauge(
            "gateway_ready", "1 when the broker, the store and the seal key are usable.", registry=self.registry
        )
        self.broker_writes = Gauge(
            "gateway_broker_writes",
            "1 while the broker confirms writes (0: a cluster without its majority, for instance).",
            registry=self.registry,
        )
        self.sla = Counter(
            "gateway_sla_answers",
            "SLA-bound answers by document type: issued or not-found within the type's "
            "deadline (true), later or failed (false).",
            ["document_type", "within_sla"],
            registry=self.registry,
        )
        self.breaker_open = Gauge(
            "gateway_breaker_open",
            "1 while a provider's circuit breaker is open.",
            ["provider"],
            registry=self.registry,
        )
        self.misuse_open = Gauge(
            "gateway_misuse_alerts_open",
            "Misuse alerts that no operator has acknowledged or dismissed yet, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.misuse_raised = Counter(
            "gateway_misuse_alerts_raised",
            "Misuse alerts raised, by kind (by the worker that watches the journal).",
            ["kind"],
            registry=self.registry,
        )
        self.sla_breach_eta = Gauge(
            "gateway_sla_breach_eta_seconds",
            "Foreseen time until the SLA share drops under 95 % (0: now), by provider or queue; absent when "
            "no breach is foreseen within two hours.",
            ["subject", "kind"],
            registry=self.registry,
        )
        self.load_forecast = Gauge(
            "gateway_load_forecast_requests",
            "Requests forecast over all wilayas by today's load forecast, by document type: for today (days=1) "
            "and for the 7 days from today (days=7).",
            ["document_type", "days"],
            registry=self.registry,
        )
        self.queue_messages = Gauge(
            "gateway_queue_messages", "Messages waiting in a queue the gateway uses.", ["queue"], registry=self.registry
        )
        self.queue_consumers = Gauge(
            "gateway_queue_consumers", "Consumers of a queue the gateway uses.", ["queue"], registry=self.registry
        )

    def know(self, document_types: Iterable[str]) -> None:
        """Labels these types by name from now on (types added while the worker runs)."""
        self._types = frozenset(document_types)

    def type_label(self, document_type: str | None) -> str:
        return document_type if document_type in self._types else "unknown"

    def observe(
        self,
        transport: str,
        document_type: str | None,
        status: str,
        problem: str | None,
        seconds: float,
        sla_seconds: float | None = None,
    ) -> None:
        label = self.type_label(document_type)
        self.requests.labels(transport, label, status, problem or "").inc()
        self.latency.labels(label).observe(seconds)
        verdict = within_sla(status, seconds * 1000, sla_seconds)
        if verdict is not None:
            self.sla.labels(label, "true" if verdict else "false").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
