"""The audit journal is hash-chained on both back ends: any entry altered, deleted or
reordered directly in the database is found, and the first broken entry is named."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import sqlite3

import pytest

from gateway.audit import journal as audit
from gateway.records import AuditEntry, Delivery, Journey
from gateway.store import Store
from gateway.store.postgres import PostgresStore
from gateway.store.sqlite import SQLiteStore
from tests.factories import audit_entry
from tests.store.store_kit import StoreFactory


def entry(i: int, subject: str = "ref-a") -> AuditEntry:
    return audit_entry(at=dt.datetime(2026, 11, 29, 10, 0, i, 123456, tzinfo=dt.UTC), subject_ref=subject)


async def tamper(store: Store, sql: str) -> None:
    """Changes the database behind the store's back, as an intruder with write access would."""
    if isinstance(store, SQLiteStore):
        db = sqlite3.connect(store._path)
        with db:
            db.execute(sql)
        db.close()
    else:
        assert isinstance(store, PostgresStore)
        await store.pool.execute(sql)


async def verdict(store: Store) -> audit.Verdict:
    chain, head = await store.audit_chain()
    return audit.verify(chain, head)


async def filled(store: Store, n: int = 5) -> Store:
    for i in range(n):
        await store.record(entry(i), None)
    return store


async def test_an_untouched_journal_verifies(store: Store) -> None:
    """Entries recorded one after another form an unbroken chain whose head is the last hash."""
    await filled(store)
    result = await verdict(store)
    chain, head = await store.audit_chain()
    assert result.ok and result.entries == 5 and head == (5, chain[-1].entry_hash)


@pytest.mark.parametrize(
    ("sql", "broken", "reason"),
    [
        ("UPDATE audit SET purpose = 'benefit-review' WHERE seq = 3", 3, "altered"),
        ("DELETE FROM audit WHERE seq = 2", 3, "deleted or reordered"),
        ("UPDATE audit SET seq = seq + 100 WHERE seq = 2", 3, "deleted or reordered"),
        ("DELETE FROM audit WHERE seq = 5", 5, "removed from its end"),
    ],
)
async def test_tampering_is_found_at_its_entry(store: Store, sql: str, broken: int, reason: str) -> None:
    """An altered, deleted, moved or cut-off entry breaks the chain exactly there."""
    await filled(store)
    await tamper(store, sql)
    result = await verdict(store)
    assert not result.ok and result.broken_at == broken and reason in result.reason


async def test_concurrent_appenders_keep_one_chain(make_store: StoreFactory) -> None:
    """Four workers appending at once, each with its own connection, leave one unbroken chain."""
    stores = [make_store() for _ in range(4)]
    for s in stores:
        await s.open()
    await asyncio.gather(*(stores[i % 4].record(entry(i % 60), None) for i in range(40)))
    result = await verdict(stores[0])
    assert result.ok and result.entries == 40


async def test_concurrent_records_with_deliveries_and_journeys_keep_one_chain_and_every_count(
    make_store: StoreFactory,
) -> None:
    """Four workers recording whole answers at once (entry, delivery, journey, one shared KPI
    count) leave one unbroken chain, every delivery, and a count of exactly 40."""
    stores = [make_store() for _ in range(4)]
    for s in stores:
        await s.open()
    entries = [entry(i % 60) for i in range(40)]
    deliveries = [
        Delivery(
            key=f"key-{i}",
            request_id=e.request_id,
            response_id=f"response-{i}",
            body=b"<refusal/>",
            kind="xml",
            status="refused",
            problem="malformed",
        )
        for i, e in enumerate(entries)
    ]
    journey = Journey((("verify", 1.5), ("provider", 20.0)), 30.0, True)
    await asyncio.gather(*(stores[i % 4].record(e, deliveries[i], journey) for i, e in enumerate(entries)))
    result = await verdict(stores[0])
    assert result.ok and result.entries == 40
    found = [await stores[1].find_delivery(d.key) for d in deliveries]
    assert found == deliveries
    counts = await stores[2].kpi_counts(
        entries[0].at - dt.timedelta(hours=1), entries[0].at + dt.timedelta(hours=1), "provider"
    )
    assert sum(c.count for c in counts) == 40


async def test_an_entry_in_arabic_and_french_verifies(store: Store) -> None:
    """Non-ASCII text in an entry is hashed as UTF-8 on both back ends, as the verifier reads it."""
    arabic = dataclasses.replace(entry(1), agent="أمينة بن علي", purpose="allocations familiales — été")
    await store.record(arabic, None)
    await store.record(entry(2), None)
    result = await verdict(store)
    assert result.ok and result.entries == 2
    assert (await store.audit_entries(arabic.request_id)) == [arabic]


async def test_entries_about_one_subject_are_found_by_its_keyed_hash(store: Store) -> None:
    """audit_by_subject returns exactly the entries about that subject, oldest first."""
    await store.record(entry(1, "ref-a"), None)
    await store.record(entry(2, "ref-b"), None)
    await store.record(entry(3, "ref-a"), None)
    found = await store.audit_by_subject("ref-a")
    assert [e.at.second for e in found] == [1, 3]
