"""`gateway insights alerts`: the misuse alerts the gateway raised, and how operators settled them."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from gateway.cli.common import add_home, opened_store
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
