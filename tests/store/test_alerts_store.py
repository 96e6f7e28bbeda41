"""Misuse alerts in the store, the same on SQLite and PostgreSQL: kept once per id, listed by state,
settled once; the journal read forward from a sequence number; the daily forecasts kept."""

from __future__ import annotations

import dataclasses
import datetime as dt

from gateway.records import AlertRecord
from gateway.store import Store
from gateway.store.forecast_rows import ForecastRow
from tests.factories import audit_entry

AT = dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC)


def alert(alert_id: str, minutes: int = 0) -> AlertRecord:
    return AlertRecord(
        alert_id=alert_id,
        agent="A-1207",
        agency="CNAS-16-001",
        kind="bulk_lookups",
        day="2026-12-04",
        raised_at=AT + dt.timedelta(minutes=minutes),
        since=AT - dt.timedelta(minutes=4),
        reason="40 distinct citizens in 30 min, 13× the agency median (3)",
        evidence={"value": 40, "agency_median": 3},
        explorer="/requests?agent=A-1207&since=2026-12-04T09:26",
    )


async def test_an_alert_is_kept_once_and_settled_once(store: Store) -> None:
    """add_alert() keeps an id once; settle_alert() settles an open alert once, with who, when and the note."""
    assert await store.add_alert(alert("a1")) is True
    assert await store.add_alert(dataclasses.replace(alert("a1"), reason="again")) is False
    await store.add_alert(alert("a2", minutes=5))
    assert [a.alert_id for a in await store.alerts("open")] == ["a2", "a1"]
    assert (await store.alerts("open"))[1] == alert("a1")
    settled = await store.settle_alert("a1", "dismissed", "nadia", "batch re-check ordered by the director")
    assert settled is not None and (settled.state, settled.settled_by, settled.note) == (
        "dismissed",
        "nadia",
        "batch re-check ordered by the director",
    )
    assert settled.settled_at is not None
    assert await store.settle_alert("a1", "acknowledged", "yacine", None) is None
    assert await store.settle_alert("nope", "acknowledged", "yacine", None) is None
    assert [a.alert_id for a in await store.alerts("open")] == ["a2"]
    assert [a.alert_id for a in await store.alerts()] == ["a2", "a1"]


async def test_the_journal_is_read_forward_a_page_at_a_time(store: Store) -> None:
    """audit_after() gives the entries after a sequence number, oldest first, at most `limit`."""
    entries = [audit_entry(at=AT + dt.timedelta(seconds=i), agent=f"A{i}") for i in range(7)]
    for entry in entries:
        await store.record(entry, None)
    first = await store.audit_after(0, 4)
    rest = await store.audit_after(first[-1][0], 4)
    assert [e.agent for _, e in first + rest] == [e.agent for e in entries]
    assert await store.audit_after(rest[-1][0], 4) == []


async def test_a_forecast_is_kept_and_the_latest_is_read_back(store: Store) -> None:
    """put_forecasts() keeps rows (a row of the same day and series replaced); forecasts() reads the latest."""
    older = ForecastRow("2026-12-03", "16", "birth-certificate", "2026-12-03", 50, 40, 60, 35, 65, 48, "ets")
    newer = [
        ForecastRow("2026-12-04", "16", "birth-certificate", day, 52, 42, 62, 37, 67, 50, "ets")
        for day in ("2026-12-04", "2026-12-05")
    ]
    await store.put_forecasts([older, *newer])
    await store.put_forecasts([dataclasses.replace(newer[0], mean=55.0)])
    assert [(r.day, r.mean) for r in await store.forecasts()] == [("2026-12-04", 55.0), ("2026-12-05", 52.0)]
    assert await store.forecasts("2026-12-03") == [older]


async def test_purge_forgets_forecasts_made_before_its_cutoff_and_keeps_alerts(store: Store) -> None:
    """purge() removes the forecasts made before the cutoff's day, keeps later ones, and never removes alerts."""
    old = ForecastRow("2026-09-01", "16", "birth-certificate", "2026-09-01", 50, 40, 60, 35, 65, 48, "ets")
    kept = dataclasses.replace(old, made_on="2026-12-04", day="2026-12-04")
    await store.put_forecasts([old, kept])
    await store.add_alert(alert("old", minutes=-200_000))
    await store.purge(dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert await store.forecasts("2026-09-01") == [] and await store.forecasts("2026-12-04") == [kept]
    assert [a.alert_id for a in await store.alerts()] == ["old"]
