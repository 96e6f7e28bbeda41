"""Foresight in the periodic report: the misuse alerts raised in the period and how operators
settled them, and how a forecast made the day before the period fared against what happened."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from gateway.insights.forecast import HISTORY_DAYS, MIN_HISTORY, accuracy, daily_series, forecast_all, from_first_count
from gateway.insights.misuse import LOCAL
from gateway.records import AlertRecord
from gateway.store import Store


@dataclass(frozen=True)
class Foresight:
    """What the report says of foresight for one period."""

    alerts: list[AlertRecord]
    settled: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, state): count
    forecast: dict[str, float | None] | None = None  # accuracy, when there was history enough
    series: int = 0  # the series forecast


async def evaluate(store: Store, since: dt.datetime, until: dt.datetime) -> Foresight:
    """The period's alerts, and the forecast of its days made from the history before it (series with
    at least four weeks of it), against what happened."""
    alerts = sorted(
        (a for a in await store.alerts(limit=1_000_000) if since <= a.raised_at < until), key=lambda a: a.raised_at
    )
    settled = Counter((a.kind, a.state) for a in alerts)
    first = since.astimezone(LOCAL).date()
    days = max(1, (until.astimezone(LOCAL).date() - first).days)
    hourly = await store.hourly_load(since - dt.timedelta(days=HISTORY_DAYS), until)
    before = daily_series(hourly, first, HISTORY_DAYS)
    during = daily_series(hourly, first + dt.timedelta(days=days), days)
    enough = {k: v for k, v in before.items() if any(v[: HISTORY_DAYS - MIN_HISTORY + 1]) and any(v[-MIN_HISTORY:])}
    if not enough:
        return Foresight(alerts, settled)
    made = await asyncio.to_thread(forecast_all, from_first_count(enough), first, days)
    return Foresight(alerts, settled, accuracy(made, during), len(made))
