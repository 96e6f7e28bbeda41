"""The request explorer's search of the journal, the same on SQLite and PostgreSQL: every
filter given must match, newest first, a page at a time."""

from __future__ import annotations

import datetime as dt

from gateway.store import Store
from gateway.store.search import AuditQuery
from tests.factories import audit_entry

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


async def journal(store: Store) -> list[str]:
    """Twelve entries a minute apart: two agents of CNAS-16-001, one of CNAS-31-002; some refused."""
    ids = []
    for i in range(12):
        agent = ("A-1", "A-2", "B-1")[i % 3]
        entry = audit_entry(
            at=T0 + dt.timedelta(minutes=i),
            agency="CNAS-31-002" if agent == "B-1" else "CNAS-16-001",
            agent=agent,
            status="refused" if i % 4 == 0 else "issued",
            problem="signature_invalid" if i % 4 == 0 else None,
            document_type="family-record" if i >= 6 else "birth-certificate",
        )
        await store.record(entry, None)
        ids.append(entry.request_id)
    return ids


async def test_filters_combine_and_the_newest_come_first(store: Store) -> None:
    """Agent, status, problem, type and a time window each narrow the result; entries come newest first."""
    ids = await journal(store)
    by_agent = await store.audit_search(AuditQuery(agent="A-1"))
    assert [e.request_id for _, e in by_agent] == [ids[9], ids[6], ids[3], ids[0]]
    refused = await store.audit_search(AuditQuery(agency="CNAS-16-001", status="refused"))
    assert [e.request_id for _, e in refused] == [ids[4], ids[0]]
    assert {e.problem for _, e in refused} == {"signature_invalid"}
    window = await store.audit_search(
        AuditQuery(
            document_type="family-record", since=T0 + dt.timedelta(minutes=7), until=T0 + dt.timedelta(minutes=9)
        )
    )
    assert [e.request_id for _, e in window] == [ids[8], ids[7]]
    assert await store.audit_search(AuditQuery(agent="nobody")) == []


async def test_pages_follow_each_other_without_overlap(store: Store) -> None:
    """Pages of five, each starting under the last sequence number of the one before, cover everything once."""
    ids = await journal(store)
    seen: list[str] = []
    before = None
    while page := await store.audit_search(AuditQuery(limit=5, before=before)):
        assert len(page) <= 5
        seen += [e.request_id for _, e in page]
        before = page[-1][0]
    assert seen == ids[::-1]
