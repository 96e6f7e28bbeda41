"""The shipped alert rules and Grafana dashboard name only metrics the gateway exports, and
the metrics carry no personal data in their labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from gateway import config as config_module
from gateway.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\b(gateway_[a-z_]+)")


def exported_names() -> set[str]:
    """Every series name /metrics can show, once each metric has had a sample."""
    metrics = Metrics(config_module.load().catalogue)
    metrics.observe("amqp", "birth-certificate", "issued", None, 0.01, 5.0)
    metrics.provider_latency.labels("dz.interieur.etat-civil").observe(0.01)
    metrics.dead_letters.labels("poison_message").inc()
    metrics.replays.inc()
    metrics.breaker_open.labels("dz.finances.dgi").set(0)
    metrics.queue_messages.labels("gateway.dead").set(0)
    metrics.queue_consumers.labels("gateway.dead").set(0)
    metrics.misuse_open.labels("bulk_lookups").set(0)
    metrics.sla_breach_eta.labels("dz.finances.dgi", "provider").set(600)
    text = metrics.render().decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_alert_rules_use_exported_metrics() -> None:
    """Each alert rule parses and every metric its expression names is exported."""
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"][0]["rules"]
    assert {r["alert"] for r in rules} == {
        "GatewaySlaComplianceLow",
        "GatewayDeadLettersWaiting",
        "GatewayProviderCircuitOpen",
        "GatewayNotReady",
        "GatewayBrokerTakesNoWrites",
        "GatewayMisuseAlertOpen",
        "GatewaySlaBreachForeseen",
    }
    exported = exported_names()
    for rule in rules:
        for name in NAME.findall(rule["expr"]):
            assert name in exported, f"{rule['alert']} names {name}, which /metrics does not export"


def test_grafana_dashboard_uses_exported_metrics() -> None:
    """The example dashboard is valid JSON and queries only exported series."""
    dashboard = json.loads((ROOT / "deploy/grafana/gateway-dashboard.json").read_text())
    exported = exported_names()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in NAME.findall(target["expr"]):
                assert name in exported, f"panel {panel['title']!r} names {name}"


def test_sla_counter_splits_answers_by_deadline() -> None:
    """An answer within the SLA counts as within_sla=true, a later one as false; refusals not at all."""
    metrics = Metrics(config_module.load().catalogue)
    metrics.observe("amqp", "birth-certificate", "issued", None, 1.0, 5.0)
    metrics.observe("amqp", "birth-certificate", "not-found", None, 6.0, 5.0)
    metrics.observe("amqp", "birth-certificate", "refused", "stale_request", 0.1, 5.0)
    text = metrics.render().decode()
    assert 'gateway_sla_answers_total{document_type="birth-certificate",within_sla="true"} 1.0' in text
    assert 'gateway_sla_answers_total{document_type="birth-certificate",within_sla="false"} 1.0' in text
