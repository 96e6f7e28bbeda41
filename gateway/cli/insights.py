"""`gateway insights alerts`: the misuse alerts the gateway raised, and how operators settled them.
`gateway insights forecast`: requests per wilaya and document type for the next 14 days, and how
the forecast made 14 days ago fared against what happened."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from gateway.cli.common import add_home, opened_store
from gateway.insights.forecast import HISTORY_DAYS, HORIZON, accuracy, daily_series, forecast_all, from_first_count
from gateway.insights.misuse import LOCAL
from gateway.store.alert_rows import STATES


def register(subparsers: Any) -> None:
    insights = subparsers.add_parser("insights", help="misuse alerts read from the journal")
    commands = insights.add_subparsers(dest="insights_command", required=True)
    alerts = commands.add_parser("alerts", help="the misuse alerts, the newest first, with their reasons")
    add_home(alerts)
    alerts.add_argument("--state", choices=(*STATES, "all"), default="open", help="which alerts (default: open)")
    alerts.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    alerts.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    alerts.set_defaults(func=lambda args: asyncio.run(_alerts(args.home, args.state, args.limit, args.json)))
    forecast = commands.add_parser(
        "forecast",
        help="requests per wilaya and document type for the next 14 days, with 80 %% and 95 %% intervals",
        description="Fits each (wilaya, document type) series of daily requests (from the KPI counts, local days) "
        "and forecasts the next 14 days; then forecasts again from the history as it was 14 days ago and compares "
        "that forecast with what happened, against the seasonal-naive forecast (the last week again).",
    )
    add_home(forecast)
    forecast.add_argument(
        "--history", type=int, default=HISTORY_DAYS, help=f"days of history to fit on (default {HISTORY_DAYS})"
    )
    forecast.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    forecast.set_defaults(func=lambda args: asyncio.run(_forecast(args.home, args.history, args.json)))


async def _forecast(home: Path, history: int, as_json: bool) -> int:
    today = dt.datetime.now(LOCAL).date()
    since = dt.datetime.combine(today - dt.timedelta(days=history), dt.time(), LOCAL)
    async with opened_store(home) as store:
        hourly = await store.hourly_load(since, dt.datetime.combine(today, dt.time(), LOCAL))
    series = from_first_count(daily_series(hourly, today, history))
    if not series:
        print("no requests in the KPI counts yet: nothing to forecast", file=sys.stderr)
        return 0
    ahead = await asyncio.to_thread(forecast_all, series, today)
    past_first = today - dt.timedelta(days=HORIZON)
    older = {k: v[:-HORIZON] for k, v in series.items() if len(v) > HORIZON}  # series with days before then
    earlier = await asyncio.to_thread(forecast_all, older, past_first)
    fared = accuracy(earlier, {k: v[-HORIZON:] for k, v in series.items()})
    if as_json:
        print(
            json.dumps(
                {
                    "first_day": today.isoformat(),
                    "forecasts": [
                        {
                            "wilaya": f.wilaya,
                            "document_type": f.document_type,
                            "method": f.method,
                            "days": [d.isoformat() for d in f.days()],
                            "mean": f.mean,
                            "low80": f.low80,
                            "high80": f.high80,
                            "low95": f.low95,
                            "high95": f.high95,
                        }
                        for f in ahead
                    ],
                    "made_14_days_ago": {"first_day": past_first.isoformat(), **fared},
                },
                indent=2,
            )
        )
        return 0
    print(f"requests forecast from {today} (local days), per wilaya and document type: the next 7 days, then the")
    print("week's total with its 80 % interval (the sum of the days' bounds: wider than the week's own)")
    for f in ahead:
        days = " ".join(f"{m:5.0f}" for m in f.mean[:7])
        week, low, high = sum(f.mean[:7]), sum(f.low80[:7]), sum(f.high80[:7])
        print(f"{f.wilaya:>2} {f.document_type:<30} {days}  week {week:6.0f} [{low:.0f}–{high:.0f}]  {f.method}")
    print(
        f"the forecast made from {past_first}, against what happened: mean absolute error "
        f"{fared['relative_mae']} of the seasonal-naive forecast's; 80 % interval held {fared['coverage_80']}, "
        f"95 % held {fared['coverage_95']} ({fared['days_compared']:.0f} days compared)"
    )
    return 0


async def _alerts(home: Path, state: str, limit: int, as_json: bool) -> int:
    async with opened_store(home) as store:
        found = await store.alerts(None if state == "all" else state, limit)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "alert_id": a.alert_id,
                        "agent": a.agent,
                        "agency": a.agency,
                        "kind": a.kind,
                        "day": a.day,
                        "raised_at": a.raised_at.isoformat(),
                        "since": a.since.isoformat(),
                        "reason": a.reason,
                        "evidence": dict(a.evidence),
                        "explorer": a.explorer,
                        "state": a.state,
                        "settled_by": a.settled_by,
                        "settled_at": a.settled_at.isoformat() if a.settled_at else None,
                        "note": a.note,
                    }
                    for a in found
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    if not found:
        print("no alerts" if state == "all" else f"no {state} alerts", file=sys.stderr)
    for a in found:
        settled = f"  [{a.state} by {a.settled_by}: {a.note or '-'}]" if a.state != "open" else ""
        print(f"{a.raised_at:%Y-%m-%d %H:%M} UTC  {a.kind:<17} {a.agent} ({a.agency})  {a.reason}{settled}")
        print(f"    {a.explorer}")
    return 0
