"""Misuse alerts and the daily load forecast in a running gateway: one worker at a time reads
the journal as it grows and keeps the alerts, and makes the day's forecast once; every worker
shows how many alerts are open.

The day's forecast (`gateway.insights.forecast`, every (wilaya, document type) series with
requests in the last 120 days) is made on the watch's first turn of each local day and kept
in the store, for the dashboard; it runs on a thread (about 20 s for the 58 wilayas' series).

The worker that holds the store's lease `insights:misuse-watch` reads the journal every
`insights_seconds` (30 by default). When it takes the lease (at start, or after the worker
that held it stopped), it first reads the last 29 days, to know each agency's and agent's
past, keeping only the alerts of today. Entries are read in the order they were written,
which is their time order but for the few milliseconds between workers; a lookup written
after its local day was closed is not judged. An alert is kept once per agent, kind and day
(its id), so a worker that takes over does not raise again what was raised.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable

import structlog

from gateway.insights.forecast import HISTORY_DAYS as FORECAST_DAYS
from gateway.insights.forecast import daily_series, forecast_all, from_first_count
from gateway.insights.misuse import HISTORY_DAYS, KINDS, LOCAL, Access, Alert, MisuseWatch, Thresholds
from gateway.metrics import Metrics
from gateway.records import AlertRecord
from gateway.store import Store
from gateway.store.forecast_rows import ForecastRow
from gateway.store.search import AuditQuery

log = structlog.get_logger(__name__)
LEASE_KEY = "insights:misuse-watch"
PAGE = 5000


def alert_id(agent: str, kind: str, day: str) -> str:
    """One alert per agent, kind and local day."""
    return hashlib.sha256(f"{agent}\n{kind}\n{day}".encode()).hexdigest()[:16]


def record_of(alert: Alert) -> AlertRecord:
    day = alert.raised_at.astimezone(LOCAL).date().isoformat()
    return AlertRecord(
        alert_id=alert_id(alert.agent, alert.kind, day),
        agent=alert.agent,
        agency=alert.agency,
        kind=alert.kind,
        day=day,
        raised_at=alert.raised_at,
        since=alert.since,
        reason=alert.reason,
        evidence=alert.evidence,
        explorer=alert.explorer,
    )


class MisuseService:
    """Reads the journal for misuse while this worker holds the watch's lease."""

    def __init__(
        self, store: Store, metrics: Metrics, owner: str, seconds: float, thresholds: Thresholds | None = None
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._owner = owner
        self._seconds = seconds
        self._thresholds = thresholds
        self._watch: MisuseWatch | None = None
        self._seq = 0
        self._forecast_made: dt.date | None = None
        self._forecast_shown: dt.date | None = None

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("misuse_watch_failed")
                self._watch = None  # read the past again once the store answers
            await asyncio.sleep(self._seconds)

    async def tick(self) -> list[AlertRecord]:
        """One turn: the new journal entries read when this worker watches; the open alerts counted. Returns
        the alerts kept in this turn."""
        kept: list[AlertRecord] = []
        lease = await self._store.acquire_lease(LEASE_KEY, self._owner, self._seconds * 4)
        if lease.state == "held":
            self._watch = None
        else:
            if self._watch is None:
                kept += await self._prime()
            kept += await self._read()
            try:
                await self.forecast_today()
            except Exception:  # the watch goes on; the forecast is tried again tomorrow
                log.exception("load_forecast_failed")
                self._forecast_made = dt.datetime.now(LOCAL).date()
        await self._count_open()
        await self._show_forecast()
        return kept

    async def _prime(self) -> list[AlertRecord]:
        """The watch rebuilt from the last days of the journal, a page at a time (memory stays
        bounded however long the journal); the alerts of today kept."""
        self._watch = MisuseWatch(self._thresholds)
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=HISTORY_DAYS + 1)
        before = await self._store.audit_search(AuditQuery(until=cutoff, limit=1))
        self._seq = before[0][0] if before else 0
        today = dt.datetime.now(LOCAL).date()
        kept = await self._read(lambda alert: alert.raised_at.astimezone(LOCAL).date() == today)
        log.info("misuse_watch_started", read_to=self._seq, alerts_today=len(kept))
        return kept

    async def _read(self, wanted: Callable[[Alert], bool] = lambda alert: True) -> list[AlertRecord]:
        """The lookups journaled after the last entry read, in the journal's order, a page at a time;
        the `wanted` alerts they raise kept."""
        assert self._watch is not None
        kept = []
        while page := await self._store.audit_after(self._seq, PAGE):
            self._seq = page[-1][0]
            accesses = [a for _, entry in page if (a := Access.of(entry)) is not None]
            kept += await self._keep(alert for alert in self._watch.read(accesses) if wanted(alert))
            if len(page) < PAGE:
                break
        return kept

    async def _keep(self, alerts: Iterable[Alert]) -> list[AlertRecord]:
        kept = []
        for alert in alerts:
            record = record_of(alert)
            if await self._store.add_alert(record):
                kept.append(record)
                self._metrics.misuse_raised.labels(alert.kind).inc()
                log.warning(
                    "misuse_alert", agent=alert.agent, agency=alert.agency, kind=alert.kind, reason=alert.reason
                )
        return kept

    async def forecast_today(self) -> int:
        """Makes and keeps today's load forecast unless the store has it; returns the series forecast."""
        today = dt.datetime.now(LOCAL).date()
        if self._forecast_made == today:
            return 0
        latest = await self._store.forecasts()
        if latest and latest[0].made_on == today.isoformat():
            self._forecast_made = today
            return 0
        midnight = dt.datetime.combine(today, dt.time(), LOCAL)
        hourly = await self._store.hourly_load(midnight - dt.timedelta(days=FORECAST_DAYS), midnight)
        series = from_first_count(daily_series(hourly, today, FORECAST_DAYS))
        made = await asyncio.to_thread(forecast_all, series, today)
        rows = [
            ForecastRow(today.isoformat(), f.wilaya, f.document_type, day.isoformat(), f.mean[i], f.low80[i],
                        f.high80[i], f.low95[i], f.high95[i], f.naive[i], f.method)
            for f in made
            for i, day in enumerate(f.days())
        ]  # fmt: skip
        await self._store.put_forecasts(rows)
        self._forecast_made = today
        log.info("load_forecast_made", series=len(made), first_day=today.isoformat())
        return len(made)

    async def _show_forecast(self) -> None:
        """Today's forecast on /metrics, in every worker, once it is made."""
        today = dt.datetime.now(LOCAL).date()
        if self._forecast_shown == today:
            return
        rows = await self._store.forecasts(today.isoformat())
        if not rows:
            return
        week = (today + dt.timedelta(days=7)).isoformat()
        totals: defaultdict[tuple[str, str], float] = defaultdict(float)
        for row in rows:
            if row.day == today.isoformat():
                totals[(row.document_type, "1")] += row.mean
            if row.day < week:
                totals[(row.document_type, "7")] += row.mean
        self._metrics.load_forecast.clear()
        for (document_type, days), total in totals.items():
            self._metrics.load_forecast.labels(document_type, days).set(round(total, 1))
        self._forecast_shown = today

    async def _count_open(self) -> None:
        open_alerts = await self._store.alerts("open", limit=10_000)
        for kind in KINDS:
            self._metrics.misuse_open.labels(kind).set(sum(a.kind == kind for a in open_alerts))
