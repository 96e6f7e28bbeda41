"""`gateway bench-foresight`: misuse alerts measured on synthetic traffic whose misuse is known,
and load forecasts measured on synthetic daily loads whose changes are known.

The 90 days of `benchmarks.traffic` are read by `gateway.insights.misuse.MisuseWatch` in time
order, as the gateway reads its journal. An alert matches a planted case when it names that
case's agent, on that local day, for that kind. Reported per kind: precision (the alerts of
the kind that match a case of the kind), recall (the cases found), the time from the case's
first lookup to its alert; and, for all kinds, the false alerts per 10,000 agent-days (alerts
on an agent-day without planted misuse), the reading time per lookup and in all.

Forecasts: for each (wilaya, document type) series of `benchmarks.loads`, at each origin, the
14 days after it are forecast from the days before it (at most the 120 the gateway fits on), and
compared with what happened:
the mean absolute error against the seasonal-naive forecast's over the same days (the
relative MAE, the target being under 0.9), the MASE (scaled by the in-sample one-step
seasonal-naive error, as Hyndman and Koehler define it) of both, how often the 80 % and
95 % intervals held the actual value, and the time to fit. Twice: over the autumn of 2026
(`forecasts`), and over Ramadan 1448 and Eid al-Fitr (`forecasts_ramadan`: origins a week before
Ramadan, in its middle and on its last day, from loads that start at the same day and run on).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections import Counter
from typing import Any

from benchmarks.loads import Loads
from benchmarks.traffic import KINDS, START, Traffic
from gateway.insights.forecast import HISTORY_DAYS, SEASON, forecast, holiday, seasonal_naive
from gateway.insights.misuse import LOCAL, Alert, MisuseWatch, Thresholds

TARGETS = {"precision": 0.9, "recall": 0.9, "false_per_10k_agent_days": 1.0, "relative_mae": 0.9}
ORIGINS = (92, 106)  # days after the start: mid-October and the start of November
RAMADAN_DAYS = 250  # days of loads for the Ramadan span: to 26 March 2027
# Ramadan 1448 runs from 8 February to 8 March 2027, Eid al-Fitr on 9 and 10 March
RAMADAN_ORIGINS = tuple((day - START).days for day in (dt.date(2027, 2, 1), dt.date(2027, 2, 22), dt.date(2027, 3, 8)))


def evaluate(traffic: Traffic, thresholds: Thresholds | None = None) -> dict[str, Any]:
    watch = MisuseWatch(thresholds)
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
        seen = [(c, found[(c.agent, c.day, kind)]) for c in planted if (c.agent, c.day, kind) in found]
        delays = [(alert.raised_at - traffic.planted[c][0]).total_seconds() / 60 for c, alert in seen]
        before = [sum(at <= alert.raised_at for at in traffic.planted[c]) for c, alert in seen]
        kinds[kind] = {
            "planted": len(planted),
            "alerts": per_kind[kind],
            "precision": round(matched[kind] / per_kind[kind], 3) if per_kind[kind] else None,
            "recall": round(len(delays) / len(planted), 3) if planted else None,
            "minutes_to_alert_median": round(statistics.median(delays), 1) if delays else None,
            "minutes_to_alert_max": round(max(delays), 1) if delays else None,
            "within_5_minutes": round(sum(d <= 5 for d in delays) / len(delays), 3) if delays else None,
            "lookups_before_alert_median": statistics.median(before) if before else None,
            "minutes_between_lookups_median": round(
                statistics.median(
                    (times[-1] - times[0]).total_seconds() / 60 / max(1, len(times) - 1)
                    for times in (traffic.planted[c] for c in planted)
                ),
                1,
            ),
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


def evaluate_forecasts(
    loads: Loads, origins: tuple[int, ...] = ORIGINS, horizon: int = 14, series: int | None = None
) -> dict[str, Any]:
    keys = sorted(loads.series)[:series] if series else sorted(loads.series)
    model_error = naive_error = 0.0
    workday_error = workday_naive = 0.0  # the same, without the holidays the model knows of
    mase_model, mase_naive = [], []
    held80 = held95 = points = 0
    methods: Counter[str] = Counter()
    fitting = 0.0
    for origin in origins:
        first_day = loads.start + dt.timedelta(days=origin)
        for key in keys:
            history = loads.series[key][max(0, origin - HISTORY_DAYS) : origin]
            actual = loads.series[key][origin : origin + horizon]
            started = time.perf_counter()
            made = forecast(key[0], key[1], history, first_day, horizon)
            fitting += time.perf_counter() - started
            methods[made.method] += 1
            naive = seasonal_naive(history, horizon)
            errors = [abs(a - m) for a, m in zip(actual, made.mean, strict=True)]
            naive_errors = [abs(a - m) for a, m in zip(actual, naive, strict=True)]
            model_error += sum(errors)
            naive_error += sum(naive_errors)
            kept = [not holiday(first_day + dt.timedelta(days=i)) for i in range(horizon)]
            workday_error += sum(e for e, k in zip(errors, kept, strict=True) if k)
            workday_naive += sum(e for e, k in zip(naive_errors, kept, strict=True) if k)
            scale = statistics.fmean(abs(history[i] - history[i - SEASON]) for i in range(SEASON, len(history)))
            if scale > 0:
                mase_model.append(statistics.fmean(errors) / scale)
                mase_naive.append(statistics.fmean(naive_errors) / scale)
            for i, value in enumerate(actual):
                points += 1
                held80 += made.low80[i] <= value <= made.high80[i]
                held95 += made.low95[i] <= value <= made.high95[i]
    fits = len(keys) * len(origins)
    return {
        "series": len(keys),
        "origins": [str(loads.start + dt.timedelta(days=o)) for o in origins],
        "horizon_days": horizon,
        "planted_changes": len(loads.changes),
        "relative_mae": round(model_error / naive_error, 3) if naive_error else None,
        "relative_mae_without_holidays": round(workday_error / workday_naive, 3) if workday_naive else None,
        "mase": round(statistics.fmean(mase_model), 3) if mase_model else None,
        "mase_seasonal_naive": round(statistics.fmean(mase_naive), 3) if mase_naive else None,
        "coverage_80": round(held80 / points, 3) if points else None,
        "coverage_95": round(held95 / points, 3) if points else None,
        "methods": dict(methods),
        "fit_seconds": round(fitting, 1),
        "fit_ms_per_series": round(1000 * fitting / fits, 1) if fits else None,
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
    parser.add_argument(
        "--series", type=int, default=None, help="forecast only this many (wilaya, type) series (default: all 406)"
    )
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    report = evaluate(Traffic(seed=args.seed, days=args.days))
    report["forecasts"] = evaluate_forecasts(Loads(seed=args.seed), series=args.series)
    report["forecasts_ramadan"] = evaluate_forecasts(
        Loads(seed=args.seed, days=RAMADAN_DAYS), origins=RAMADAN_ORIGINS, series=args.series
    )
    print(json.dumps(report, indent=2, ensure_ascii=False))
    missed = [
        f"{kind} {measure} {value} (target {TARGETS[measure]})"
        for kind, figures in report["kinds"].items()
        for measure in ("precision", "recall")
        if (value := figures[measure]) is None or value < TARGETS[measure]
    ]
    for span in ("forecasts", "forecasts_ramadan"):
        relative = report[span]["relative_mae"]
        if relative is None or relative >= TARGETS["relative_mae"]:
            missed.append(f"{span}: MAE {relative} of the seasonal-naive forecast's (target < 0.9)")
    if report["false_per_10k_agent_days"] > TARGETS["false_per_10k_agent_days"]:
        missed.append(f"false alerts {report['false_per_10k_agent_days']} per 10,000 agent-days (target <= 1)")
    print("targets: " + ("all met" if not missed else "NOT met: " + "; ".join(missed)), file=sys.stderr)
    return 1 if missed else 0
