"""Journeys and KPI counts, the same on SQLite and PostgreSQL: written with the audit entry,
counted per minute across workers, grouped by provider, type, agency, wilaya or time slot."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from gateway.kpi import bucket_of, summarise
from gateway.records import AuditEntry, Journey
from gateway.store import Store
from gateway.store.sqlite import SCHEMA, SQLiteStore
from tests.factories import audit_entry
from tests.store.store_kit import StoreFactory

NOW = dt.datetime.now(dt.UTC).replace(second=30, microsecond=0)
HOUR = dt.timedelta(hours=1)


def entry(
    agency: str,
    status: str = "issued",
    problem: str | None = None,
    at: dt.datetime = NOW,
    doc_type: str = "birth-certificate",
    provider: str = "dz.interieur.etat-civil",
) -> AuditEntry:
    return audit_entry(at=at, agency=agency, status=status, problem=problem, document_type=doc_type, provider=provider)


def journey(total_ms: float, within: bool | None = True) -> Journey:
    return Journey((("intake", 0.1), ("verify", 1.5), ("route", total_ms - 1.6)), total_ms, within)


async def test_a_journey_is_kept_with_its_stages(store: Store) -> None:
    """record() with a journey keeps each stage's time, findable by request id; no journey, no row."""
    audit = entry("CNAS-16-001")
    await store.record(audit, None, journey(12.0))
    await store.record(dataclasses.replace(audit, status="dead"), None)
    [found] = await store.journeys(audit.request_id)
    assert found.stages == (("intake", 0.1), ("verify", 1.5), ("route", 10.4))
    assert (found.total_ms, found.status, found.agency) == (12.0, "issued", "CNAS-16-001")


async def test_a_refusal_keeps_its_detail_alone_or_written_together(store: Store) -> None:
    """A journey's detail is kept whether its record is written alone or with others (a batch)."""
    first = entry("CNAS-16-001", "refused", "schema_invalid")
    await store.record(first, None, dataclasses.replace(journey(3.0, None), detail="NIN: <identifier> is too short"))
    together = [entry("CNAS-16-002", "refused", "signature_invalid") for _ in range(3)]
    await asyncio.gather(
        *(
            store.record(e, None, dataclasses.replace(journey(2.0, None), detail=f"digest {i} does not match"))
            for i, e in enumerate(together)
        )
    )
    [found] = await store.journeys(first.request_id)
    assert found.detail == "NIN: <identifier> is too short"
    assert [(await store.journeys(e.request_id))[0].detail for e in together] == [
        f"digest {i} does not match" for i in range(3)
    ]


async def test_an_older_sqlite_store_gains_the_detail_column(tmp_path: Path) -> None:
    """A store whose journeys table predates the detail column gets it when opened, its rows kept."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    older = SCHEMA.replace(",\n    detail        TEXT\n", "\n")
    assert older != SCHEMA
    db.executescript(older)
    assert "detail" not in {row[1] for row in db.execute("PRAGMA table_info(journeys)")}
    db.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        audit = entry("CNAS-16-001", "refused", "malformed")
        await store.record(audit, None, dataclasses.replace(journey(1.0, None), detail="not XML"))
        assert [j.detail for j in await store.journeys(audit.request_id)] == ["not XML"]
    finally:
        await store.close()


async def test_counts_add_up_across_workers_by_dimension(make_store: StoreFactory) -> None:
    """Two workers' answers in the same minute add up; each dimension groups them its own way."""
    one, two = make_store(), make_store()
    await one.open()
    await two.open()
    await one.record(entry("CNAS-16-001"), None, journey(8.0))
    await two.record(entry("CNAS-16-001"), None, journey(8.0))
    await two.record(entry("CNAS-31-002", "failed", "provider_timeout"), None, journey(5200.0, False))
    await one.record(
        entry("CNAS-16-003", "refused", "bad_signature", doc_type="tax-registration", provider="dz.finances.dgi"),
        None,
        journey(3.0, None),
    )
    by_wilaya = summarise(await two.kpi_counts(NOW - HOUR, NOW + HOUR, "wilaya"))
    assert {k: s.volume for k, s in by_wilaya.items()} == {"16": 3, "31": 1}
    assert by_wilaya["16"].sla_percent == 100.0 and by_wilaya["31"].sla_percent == 0.0
    assert by_wilaya["31"].problems == {"provider_timeout": 1}
    by_agency = summarise(await one.kpi_counts(NOW - HOUR, NOW + HOUR, "agency"))
    assert by_agency["CNAS-16-001"].statuses == {"issued": 2}
    assert by_agency["CNAS-16-001"].buckets == {bucket_of(8.0): 2}
    by_provider = summarise(await one.kpi_counts(NOW - HOUR, NOW + HOUR, "provider"))
    assert by_provider["dz.finances.dgi"].sla_bound == 0
    [(slot, summary)] = summarise(await one.kpi_counts(NOW - HOUR, NOW + HOUR, "hour")).items()
    assert slot == NOW.strftime("%Y-%m-%dT%H") and summary.volume == 4


async def test_counts_are_taken_from_the_period_asked(store: Store) -> None:
    """An answer from two hours ago is outside the last hour and inside the last day."""
    await store.record(entry("CNAS-16-001", at=NOW - 2 * HOUR), None, journey(8.0))
    await store.record(entry("CNAS-16-001"), None, journey(8.0))
    assert summarise(await store.kpi_counts(NOW - HOUR, NOW + HOUR, "agency"))["CNAS-16-001"].volume == 1
    assert summarise(await store.kpi_counts(NOW - 24 * HOUR, NOW + HOUR, "agency"))["CNAS-16-001"].volume == 2


async def test_only_known_dimensions_are_grouped_by(store: Store) -> None:
    """A dimension outside the list never reaches SQL."""
    with pytest.raises(ValueError, match="no KPI dimension"):
        await store.kpi_counts(NOW - HOUR, NOW, "agency; DROP TABLE kpi")
