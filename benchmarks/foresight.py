"""`gateway bench-foresight`: misuse alerts measured on synthetic traffic whose misuse is known.

The 90 days of `benchmarks.traffic` are read by `gateway.insights.misuse.MisuseWatch` in time
order, as the gateway reads its journal. An alert matches a planted case when it names that
case's agent, on that local day, for that kind. Reported per kind: precision (the alerts of
the kind that match a case of the kind), recall (the cases found), the time from the case's
first lookup to its alert; and, for all kinds, the false alerts per 10,000 agent-days (alerts
on an agent-day without planted misuse), the reading time per lookup and in all.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from typing import Any

from benchmarks.traffic import KINDS, Traffic
from gateway.insights.misuse import LOCAL, Alert, MisuseWatch

TARGETS = {"precision": 0.9, "recall": 0.9, "false_per_10k_agent_days": 1.0}


def evaluate(traffic: Traffic) -> dict[str, Any]:
    watch = MisuseWatch()
    lookups, agent_days = 0, set()
    alerts: list[Alert] = []
    started = time.perf_counter()
    for access in traffic.accesses():
        lookups += 1
        agent_days.add((access.agent, access.at.astimezone(LOCAL).date()))
        alerts += watch.observe(access)
    seconds = time.perf_counter() - started
    cases = {(c.agent, c.day, c.kind): c for c in traffic.cases}
    misuse_days = {(c.agent, c.day) for c in traffic.cases}
    found: dict[tuple[str, Any, str], Alert] = {}
    per_kind: Counter[str] = Counter()
    matched: Counter[str] = Counter()
    false_alerts = []
    for alert in alerts:
        key = (alert.agent, alert.raised_at.astimezone(LOCAL).date(), alert.kind)
        per_kind[alert.kind] += 1
        if key in cases:
            matched[alert.kind] += 1
            found.setdefault(key, alert)
        elif key[:2] not in misuse_days:
            false_alerts.append(alert)
    kinds = {}
    for kind in KINDS:
        planted = [c for c in traffic.cases if c.kind == kind]
        delays = [
            (found[(c.agent, c.day, kind)].raised_at - c.start).total_seconds() / 60
            for c in planted
            if (c.agent, c.day, kind) in found
        ]
        kinds[kind] = {
            "planted": len(planted),
            "alerts": per_kind[kind],
            "precision": round(matched[kind] / per_kind[kind], 3) if per_kind[kind] else None,
            "recall": round(len(delays) / len(planted), 3) if planted else None,
            "minutes_to_alert_median": round(statistics.median(delays), 1) if delays else None,
            "minutes_to_alert_max": round(max(delays), 1) if delays else None,
        }
    return {
        "days": traffic.days,
        "agencies": len(traffic.agencies),
        "agents": len(traffic.agents),
        "agent_days": len(agent_days),
        "lookups": lookups,
        "kinds": kinds,
        "false_alerts": len(false_alerts),
        "false_per_10k_agent_days": round(1e4 * len(false_alerts) / len(agent_days), 2),
        "false_examples": [f"{a.agent} {a.raised_at:%Y-%m-%d %H:%M} {a.kind}: {a.reason}" for a in false_alerts[:10]],
        "examples": [f"{a.agent} {a.kind}: {a.reason}" for a in list(found.values())[:: max(1, len(found) // 5)][:5]],
        "reading_seconds": round(seconds, 2),
        "microseconds_per_lookup": round(1e6 * seconds / lookups, 1),
    }


def register(subparsers: Any) -> None:
    """Adds `gateway bench-foresight` to the gateway's command line."""
    parser = subparsers.add_parser(
        "bench-foresight",
        help="benchmark: misuse alerts on 90 days of synthetic traffic with planted misuse",
        description="Generates 90 days of lookups by CNAS agents in the 58 wilayas with misuse of five kinds "
        "planted, reads them as the gateway reads its journal, and reports precision and recall per kind, false "
        "alerts per 10,000 agent-days and the time taken. Prints a JSON report; exit 1 when a target is missed.",
    )
    parser.add_argument("--seed", type=int, default=20261204, help="the traffic's random seed")
    parser.add_argument("--days", type=int, default=90, help="days of traffic (default 90)")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    report = evaluate(Traffic(seed=args.seed, days=args.days))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    missed = [
        f"{kind} {measure} {value} (target {TARGETS[measure]})"
        for kind, figures in report["kinds"].items()
        for measure in ("precision", "recall")
        if (value := figures[measure]) is None or value < TARGETS[measure]
    ]
    if report["false_per_10k_agent_days"] > TARGETS["false_per_10k_agent_days"]:
        missed.append(f"false alerts {report['false_per_10k_agent_days']} per 10,000 agent-days (target <= 1)")
    print("targets: " + ("all met" if not missed else "NOT met: " + "; ".join(missed)), file=sys.stderr)
    return 1 if missed else 0
