"""The store's contract, the same on SQLite and PostgreSQL: responses remembered once, leases
that one owner holds at a time, deliveries, attempts, audit entries, attestations, purge."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

from gateway.records import AttestationRecord, AuditEntry, Completion, Delivery, Lease, StoredResponse
from gateway.store import Store
from tests.factories import audit_entry
from tests.store.store_kit import StoreFactory

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def response(request_id: str, body: bytes = b"<sealed/>", digest: str = "d1") -> StoredResponse:
    return StoredResponse(
        request_id=request_id,
        response_id=str(uuid.uuid4()),
        digest=digest,
        body=body,
        kind="xml",
        status="issued",
        problem=None,
        http_status=200,
        document_type="birth-certificate",
    )


def delivered(answer: StoredResponse, key: str) -> Delivery:
    """The delivery of `answer` to the bus message `key`."""
    return Delivery(
        key=key,
        request_id=answer.request_id,
        response_id=answer.response_id,
        body=answer.body,
        kind="xml",
        status="issued",
        problem=None,
    )


def audit(request_id: str, status: str = "issued") -> AuditEntry:
    return audit_entry(at=NOW, request_id=request_id, status=status)


async def test_a_response_is_remembered_once(store: Store) -> None:
    """complete() keeps the first response for an id; a second one for the same id is ignored."""
    rid = str(uuid.uuid4())
    assert await store.find_response(rid) is None
    first = response(rid, b"<first/>")
    await store.complete(first, None, "w1")
    await store.complete(response(rid, b"<second/>"), None, "w1")
    assert await store.find_response(rid) == first


async def test_a_lease_has_one_owner_at_a_time(store: Store) -> None:
    """A live lease is `held` for others and `acquired` again for its owner."""
    rid = str(uuid.uuid4())
    assert (await store.acquire_lease(rid, "w1", 30)).state == "acquired"
    assert (await store.acquire_lease(rid, "w2", 30)).state == "held"
    assert (await store.acquire_lease(rid, "w1", 30)).state == "acquired"


async def test_an_expired_lease_is_taken_over(store: Store) -> None:
    """Once a lease expires, another owner takes it over and is told whose it was."""
    rid = str(uuid.uuid4())
    assert (await store.acquire_lease(rid, "w1", 0.2)).state == "acquired"
    await asyncio.sleep(0.4)
    assert await store.acquire_lease(rid, "w2", 30) == Lease("taken_over", "w1")
    assert await store.acquire_lease(rid, "w1", 30) == Lease("held", "w2")
    assert await store.lease_holder(rid) == "w2"


async def test_complete_and_release_free_the_lease(store: Store) -> None:
    """complete() releases its owner's lease; release_lease() by someone else releases nothing."""
    rid, other = str(uuid.uuid4()), str(uuid.uuid4())
    await store.acquire_lease(rid, "w1", 30)
    await store.complete(response(rid), None, "w1")
    assert (await store.acquire_lease(rid, "w2", 30)).state == "acquired"
    await store.acquire_lease(other, "w1", 30)
    await store.release_lease(other, "w2")
    assert (await store.acquire_lease(other, "w2", 30)).state == "held"
    await store.release_lease(other, "w1")
    assert (await store.acquire_lease(other, "w2", 30)).state == "acquired"


async def test_claim_returns_the_remembered_response_or_the_lease(store: Store) -> None:
    """claim() is check 8 and the lease in one call: a lease while nothing is remembered, then the response."""
    rid = str(uuid.uuid4())
    assert await store.claim(rid, "w1", 30) == Lease("acquired")
    assert await store.claim(rid, "w2", 30) == Lease("held", "w1")
    first = response(rid)
    await store.complete(first, None, "w1")
    assert await store.claim(rid, "w2", 30) == first
    assert await store.lease_holder(rid) is None


async def test_concurrent_workers_get_exactly_one_lease(make_store: StoreFactory) -> None:
    """Eight workers, each with its own connection, race for one request id: exactly one wins."""
    stores = [make_store() for _ in range(8)]
    for s in stores:
        await s.open()
    rid = str(uuid.uuid4())
    leases = await asyncio.gather(*(s.acquire_lease(rid, f"w{i}", 30) for i, s in enumerate(stores)))
    states = [lease.state for lease in leases]
    assert sorted(states).count("acquired") == 1 and states.count("held") == 7


async def test_deliveries_and_audit_are_recorded_together(store: Store) -> None:
    """record() keeps the audit entry and the delivery's answer; a later record of the key replaces it."""
    rid, key = str(uuid.uuid4()), uuid.uuid4().hex
    delivery = Delivery(
        key=key,
        request_id=rid,
        response_id=str(uuid.uuid4()),
        body=b"<answer/>",
        kind="xml",
        status="refused",
        problem="stale_request",
    )
    await store.record(audit(rid, "refused"), delivery)
    assert await store.find_delivery(key) == delivery
    newer = Delivery(
        key=key,
        request_id=rid,
        response_id=str(uuid.uuid4()),
        body=b"<again/>",
        kind="xml",
        status="issued",
        problem=None,
    )
    await store.record(audit(rid), newer)
    assert await store.find_delivery(key) == newer
    entries = await store.audit_entries(rid)
    assert [e.status for e in entries] == ["refused", "issued"]
    assert entries[1] == audit(rid)
    await store.record(audit(rid, "dead"), None)
    assert len(await store.audit_entries(rid)) == 3


async def test_a_completion_is_recorded_with_its_audit_entry(store: Store) -> None:
    """record() with a completion remembers the response, frees its owner's lease, journals the entry, and the
    delivery reads back the answer it was given."""
    rid, key = str(uuid.uuid4()), uuid.uuid4().hex
    await store.acquire_lease(rid, "w1", 30)
    first = response(rid, b"<issued/>")
    delivery = delivered(first, key)
    await store.record(audit(rid), delivery, None, Completion(first, None, "w1"))
    assert await store.find_response(rid) == first
    assert await store.lease_holder(rid) is None
    assert await store.find_delivery(key) == delivery
    assert [e.status for e in await store.audit_entries(rid)] == ["issued"]


async def test_records_written_together_fail_alone(store: Store) -> None:
    """Records asked for at once (written as one batch) each keep their completion and delivery; one that cannot
    be written (no status) fails alone, to its own caller, and the others are kept."""
    rids = [str(uuid.uuid4()) for _ in range(6)]
    for rid in rids:
        await store.acquire_lease(rid, "w1", 30)
    responses = [response(rid, f"<issued n='{i}'/>".encode()) for i, rid in enumerate(rids)]
    deliveries = [delivered(r, f"k-{r.request_id}") for r in responses]
    broken = dataclasses.replace(audit(rids[3]), status=None)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        *(
            store.record(broken if i == 3 else audit(rid), deliveries[i], None, Completion(responses[i], None, "w1"))
            for i, rid in enumerate(rids)
        ),
        return_exceptions=True,
    )
    assert [isinstance(o, Exception) for o in outcomes] == [False, False, False, True, False, False]
    for i, rid in enumerate(rids):
        kept = i != 3
        assert (await store.find_response(rid) == responses[i]) is kept
        assert (await store.find_delivery(deliveries[i].key) == deliveries[i]) is kept
        assert (await store.lease_holder(rid) is None) is kept
        assert len(await store.audit_entries(rid)) == int(kept)


async def test_a_completion_recorded_second_gets_the_first_and_writes_no_attestation(store: Store) -> None:
    """Two workers completing one request id (a lease taken over from one still at work): the second
    record returns the first's response, keeps no attestation of its own, and its delivery is replayed
    with the first's answer."""
    rid = str(uuid.uuid4())
    first, second = response(rid, b"<first/>"), response(rid, b"<second/>")
    first_att, second_att = attestation(rid), attestation(rid)
    assert await store.record(audit(rid), delivered(first, "k1"), None, Completion(first, first_att, "w1")) is None
    await store.acquire_lease(rid, "w2", 30)
    earlier = await store.record(audit(rid), delivered(second, "k2"), None, Completion(second, second_att, "w2"))
    assert earlier == first
    assert await store.find_attestation(first_att.attestation_id) == first_att
    assert await store.find_attestation(second_att.attestation_id) is None
    assert await store.find_delivery("k2") == delivered(first, "k2")
    assert await store.lease_holder(rid) is None


async def test_completions_recorded_second_in_one_batch_each_get_the_first(store: Store) -> None:
    """Records written together, some completing request ids answered before: those get the earlier
    response back, the others None, and only first completions keep an attestation."""
    rids = [str(uuid.uuid4()) for _ in range(6)]
    earlier = {rid: response(rid, b"<earlier/>") for rid in rids[::2]}
    for answer in earlier.values():
        await store.complete(answer, None, "w1")
    answers = [response(rid, f"<n{i}/>".encode()) for i, rid in enumerate(rids)]
    attestations = [attestation(rid) for rid in rids]
    returned = await asyncio.gather(
        *(
            store.record(audit(a.request_id), delivered(a, f"k-{a.request_id}"), None, Completion(a, att, "w2"))
            for a, att in zip(answers, attestations, strict=True)
        )
    )
    assert returned == [earlier.get(rid) for rid in rids]
    kept = [await store.find_attestation(att.attestation_id) is not None for att in attestations]
    assert kept == [rid not in earlier for rid in rids]
    for rid, answer in zip(rids, answers, strict=True):
        found = await store.find_delivery(f"k-{rid}")
        assert found is not None and found.body == earlier.get(rid, answer).body


async def test_complete_after_another_keeps_the_first_attestation_only(store: Store) -> None:
    """complete() for a request id answered before writes no attestation of its own."""
    rid = str(uuid.uuid4())
    first_att, second_att = attestation(rid), attestation(rid)
    await store.complete(response(rid), first_att, "w1")
    await store.complete(response(rid), second_att, "w2")
    assert await store.find_attestation(first_att.attestation_id) == first_att
    assert await store.find_attestation(second_att.attestation_id) is None


async def test_attempts_count_up(store: Store) -> None:
    """count_attempt() counts each redelivery of one key."""
    key = uuid.uuid4().hex
    assert [await store.count_attempt(key) for _ in range(3)] == [1, 2, 3]
    assert await store.count_attempt(uuid.uuid4().hex) == 1


def attestation(request_id: str, attestation_id: str | None = None, **changes: Any) -> AttestationRecord:
    """An issued birth certificate's attestation, now, valid 90 days, unless told otherwise."""
    fields: dict[str, Any] = {
        "attestation_id": attestation_id or str(uuid.uuid4()),
        "request_id": request_id,
        "document_type": "birth-certificate",
        "provider": "dz.interieur.etat-civil",
        "status": "issued",
        "issued_at": NOW,
        "valid_until": NOW + dt.timedelta(days=90),
        "sha256": "c" * 64,
    }
    return AttestationRecord(**{**fields, **changes})


async def test_attestation_facts_and_state(store: Store) -> None:
    """An attestation saved with its response is found again, valid until its date, then expired."""
    rid, att = str(uuid.uuid4()), str(uuid.uuid4())
    record = attestation(rid, att)
    await store.complete(response(rid), record, "w1")
    found = await store.find_attestation(att)
    assert found == record
    assert found.state(NOW) == "valid" and found.state(NOW + dt.timedelta(days=91)) == "expired"
    assert await store.find_attestation(str(uuid.uuid4())) is None


async def test_an_attestation_is_revoked_once(store: Store) -> None:
    """revoke() marks an attestation revoked and keeps the first date when asked again; an unknown id is None."""
    rid = str(uuid.uuid4())
    record = attestation(rid)
    await store.complete(response(rid), record, "w1")
    revoked = await store.revoke(record.attestation_id, NOW + dt.timedelta(hours=1))
    assert revoked == dataclasses.replace(record, revoked_at=NOW + dt.timedelta(hours=1))
    assert revoked.state(NOW + dt.timedelta(hours=2)) == "revoked"
    assert await store.revoke(record.attestation_id, NOW + dt.timedelta(hours=3)) == revoked
    assert await store.find_attestation(record.attestation_id) == revoked
    assert await store.revoke(str(uuid.uuid4()), NOW) is None


async def test_a_revocation_and_its_journal_entry_are_written_together(store: Store) -> None:
    """revoke() with an entry journals it once, with the revocation; revoking again journals nothing more."""
    rid = str(uuid.uuid4())
    record = attestation(rid)
    await store.complete(response(rid), record, "w1")
    first = AuditEntry.operator_action("ops-1", "attestation_revoked", "fraud-suspected", subject=rid)
    again = AuditEntry.operator_action("ops-2", "attestation_revoked", "issued-in-error", subject=rid)
    await store.revoke(record.attestation_id, NOW + dt.timedelta(hours=1), first)
    await store.revoke(record.attestation_id, NOW + dt.timedelta(hours=2), again)
    journaled = [(e.requester, e.problem) for e in await store.audit_entries(rid) if e.status == "attestation_revoked"]
    assert journaled == [("ops-1", "fraud-suspected")]


async def test_a_revocation_whose_journal_entry_fails_is_not_kept(store: Store) -> None:
    """When the journal entry cannot be written, the attestation stays unrevoked: both or neither."""
    rid = str(uuid.uuid4())
    record = attestation(rid)
    await store.complete(response(rid), record, "w1")
    entry = AuditEntry.operator_action("ops-1", "attestation_revoked", "fraud-suspected", subject=rid)
    broken = dataclasses.replace(entry, at="not a time")  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - whichever error the back end's driver raises
        await store.revoke(record.attestation_id, NOW + dt.timedelta(hours=1), broken)
    found = await store.find_attestation(record.attestation_id)
    assert found is not None and found.revoked_at is None
    assert not [e for e in await store.audit_entries(rid) if e.status == "attestation_revoked"]


async def test_an_attestation_is_found_by_the_beginning_of_its_id(store: Store) -> None:
    """A check code's prefix finds its attestation and no other; a prefix no id begins with finds nothing."""
    ids = ["0123abcd-0000-4aaa-8000-" + uuid.uuid4().hex[:12], "0123abcd-0000-4bbb-8000-" + uuid.uuid4().hex[:12]]
    for att in ids:
        rid = str(uuid.uuid4())
        await store.complete(response(rid), attestation(rid, att, document_type="tax-registration"), "w1")
    assert [r.attestation_id for r in await store.find_attestations_by_prefix("0123abcd-0000-4bb")] == [ids[1]]
    assert len(await store.find_attestations_by_prefix("0123abcd-0000-4")) == 2
    assert await store.find_attestations_by_prefix("0123abcd-0000-4cc") == []


async def test_purge_forgets_what_is_older(store: Store) -> None:
    """purge() removes responses and deliveries older than the cut-off, and keeps newer ones."""
    rid, key = str(uuid.uuid4()), uuid.uuid4().hex
    await store.complete(response(rid), None, "w1")
    await store.record(
        audit(rid),
        Delivery(key=key, request_id=rid, response_id="r", body=b"x", kind="xml", status="issued", problem=None),
    )
    assert await store.purge(NOW - dt.timedelta(days=1)) == 0
    assert await store.purge(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)) >= 2
    assert await store.find_response(rid) is None and await store.find_delivery(key) is None


async def test_ping_answers_when_open(store: Store) -> None:
    """ping() is true on an open store."""
    assert await store.ping() is True


async def test_orphan_answers_are_taken_once(store: Store) -> None:
    """Answers kept from a stopped worker's reply queue are handed out once each, by request id."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    await store.keep_orphan_answers([(a, b"answer-a"), (b, b"answer-b")])
    assert await store.take_orphan_answer(a) == b"answer-a"
    assert await store.take_orphan_answer(a) is None
    assert await store.take_orphan_answer(b) == b"answer-b"


async def _issue(store: Store, subject: str, requester: str = "dz.cnas", kind: str = "birth-certificate") -> str:
    """An issued attestation of `kind` about `subject` (a keyed hash), journaled; its id."""
    rid = str(uuid.uuid4())
    record = attestation(rid, document_type=kind)
    await store.complete(response(rid), record, "w1")
    entry = audit_entry(at=NOW, request_id=rid, requester=requester, document_type=kind, subject_ref=subject)
    await store.record(entry, None)
    return record.attestation_id


async def test_a_correction_supersedes_the_subject_s_attestations_and_points_to_the_next(store: Store) -> None:
    """A correction supersedes the issued attestations of that type and subject only (twice is once); each then
    points to the first one issued after it for the same requester, and to none before that."""
    subject, other = "ref-" + uuid.uuid4().hex[:8], "ref-" + uuid.uuid4().hex[:8]
    old = [await _issue(store, subject), await _issue(store, subject, requester="dz.finances.dgi")]
    untouched = [await _issue(store, other), await _issue(store, subject, kind="residence-certificate")]
    assert await store.supersede(subject, "birth-certificate", NOW) == 2
    assert await store.supersede(subject, "birth-certificate", NOW) == 0
    assert [await store.supersession(a) for a in untouched] == [None, None]
    first = await store.supersession(old[0])
    assert first is not None and first.replaced_by is None
    new = await _issue(store, subject)
    later = await _issue(store, subject)
    assert (await store.supersession(old[0])) == dataclasses.replace(first, replaced_by=new)
    second = await store.supersession(old[1])  # obtained by another requester: none of its own since
    assert later != new and second is not None and second.replaced_by is None
    assert await store.supersession(new) is None
