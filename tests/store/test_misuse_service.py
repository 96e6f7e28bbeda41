"""The misuse watch in a running gateway, on both back ends: one worker at a time reads the journal,
a worker that takes over keeps no alert twice, and the day's forecast is made once."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from gateway.insights.misuse import LOCAL
from gateway.insights.service import MisuseService
from gateway.metrics import Metrics
from gateway.records import AlertRecord, AuditEntry, Journey
from gateway.store import Store
from tests.factories import audit_entry
from tests.store.store_kit import StoreFactory


def lookups(agent: str, start: dt.datetime, count: int, minutes: float) -> list[AuditEntry]:
    return [
        audit_entry(
            at=(start + dt.timedelta(minutes=minutes * i / count)).astimezone(dt.UTC),
            agency="CNAS-09-001",
            agent=agent,
            subject_ref=uuid.uuid4().hex[:20],
        )
        for i in range(count)
    ]


def a_burst_today(agent: str, back: float) -> list[AuditEntry]:
    """40 lookups by `agent` in the first half of the last `back` minutes, fewer minutes when local midnight is
    nearer, so that all of them are today's."""
    now = dt.datetime.now(LOCAL)
    today = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds() / 60
    back = max(min(back, today - 0.02), 0.01)
    return lookups(agent, now - dt.timedelta(minutes=back), 40, back / 2)


async def journal_with_a_burst(store: Store) -> None:
    """Six agents' 21 past working days (8 lookups a day), then today one agent obtains 40 documents in 10 min
    (less just after midnight)."""
    today = dt.datetime.now(LOCAL).date()
    day, days = today - dt.timedelta(days=35), 0
    while days < 21:
        day += dt.timedelta(days=1)
        if day.weekday() in (4, 5):
            continue
        days += 1
        for agent in ("B1", "B2", "B3", "B4", "B5", "B6"):
            for entry in lookups(agent, dt.datetime.combine(day, dt.time(9), LOCAL), 8, 420):
                await store.record(entry, None)
    for entry in a_burst_today("B4", 20):
        await store.record(entry, None)


def burst_alerts(alerts: list[AlertRecord], agent: str) -> list[str]:
    """The kinds of `alerts`, all about `agent`: a burst planted minutes ago is also night work after 22:00 local."""
    assert {a.agent for a in alerts} == {agent}, alerts
    kinds = sorted(a.kind for a in alerts)
    assert set(kinds) <= {"bulk_lookups", "off_hours"}, kinds
    return [k for k in kinds if k != "off_hours"]


async def test_one_worker_watches_and_a_takeover_keeps_no_alert_twice(make_store: StoreFactory) -> None:
    """The first worker keeps the alert and counts it open; the second, while the lease is held, keeps nothing,
    and once it has taken the lease over keeps the next agent's alert but not the first one again."""
    first_store, second_store = make_store(), make_store()
    await first_store.open()
    await second_store.open()
    await journal_with_a_burst(first_store)
    metrics = Metrics([])
    first = MisuseService(first_store, metrics, "w1", seconds=0.1)
    second = MisuseService(second_store, Metrics([]), "w2", seconds=0.1)
    assert burst_alerts(await first.tick(), "B4") == ["bulk_lookups"]
    assert metrics.misuse_open.labels("bulk_lookups")._value.get() == 1
    assert await second.tick() == []
    await asyncio.sleep(0.5)  # the first worker's lease (4 turns) runs out
    for entry in a_burst_today("B5", 5):
        await second_store.record(entry, None)
    assert burst_alerts(await second.tick(), "B5") == ["bulk_lookups"]
    assert sorted({a.agent for a in await second_store.alerts("open")}) == ["B4", "B5"]


async def test_the_watching_worker_makes_the_day_s_forecast_once(store: Store) -> None:
    """With seven weeks of one series' requests in the KPI counts, the watching worker keeps 14 days of forecast
    for today on its first turn, and none again on the next; /metrics shows its totals for today and 7 days."""
    today = dt.datetime.now(LOCAL).date()
    for back in range(49, 0, -1):
        day = today - dt.timedelta(days=back)
        if day.weekday() == 4:
            continue
        at = dt.datetime.combine(day, dt.time(11), LOCAL).astimezone(dt.UTC)
        for _ in range(3 if day.weekday() == 5 else 8):
            entry = audit_entry(at=at, agency="CNAS-31-002", document_type="family-record", subject_ref="r")
            await store.record(entry, None, Journey((("route", 4.0),), 4.0, True))
    metrics = Metrics([])
    service = MisuseService(store, metrics, "w1", seconds=0.1)
    await service.tick()
    rows = await store.forecasts()
    assert {(r.made_on, r.wilaya, r.document_type) for r in rows} == {(today.isoformat(), "31", "family-record")}
    assert len(rows) == 14 and rows[0].day == today.isoformat()
    assert await service.forecast_today() == 0
    week = sum(r.mean for r in rows[:7])
    assert metrics.load_forecast.labels("family-record", "1")._value.get() == round(rows[0].mean, 1)
    assert metrics.load_forecast.labels("family-record", "7")._value.get() == round(week, 1) > 0


async def test_a_failing_forecast_leaves_the_watch_going_and_is_not_tried_again_today(store: Store) -> None:
    """When the day's forecast fails, the turn still reads the journal and keeps its alerts, and the next turns
    do not try the forecast again that day."""
    await journal_with_a_burst(store)
    service = MisuseService(store, Metrics([]), "w1", seconds=0.1)
    tried = []

    async def failing() -> list[tuple[str, str, str, int]]:
        tried.append(1)
        raise OSError("the store went away mid-read")

    store.hourly_load = lambda since, until: failing()  # type: ignore[method-assign]
    assert burst_alerts(await service.tick(), "B4") == ["bulk_lookups"]
    await service.tick()
    assert tried == [1]
