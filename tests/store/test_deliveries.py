"""Delivery records without a second copy of the sealed body, on both stores: a redelivery
still gets the same bytes, whether they were kept in the delivery or in the response."""

from __future__ import annotations

import datetime as dt
import uuid

from gateway.store import AuditEntry, Delivery, Store, StoredResponse


def audit(rid: str, status: str) -> AuditEntry:
    return AuditEntry(dt.datetime.now(dt.UTC), rid, "amqp", "dz.cnas", "CNAS-16-001", None, "birth-certificate",
                      "family-allowance", "dz.interieur.etat-civil", status, None, "a" * 64, "b" * 64, "ref")


async def test_an_answer_kept_as_a_response_is_replayed_from_it(store: Store) -> None:
    """The delivery of an issued answer reads its body back from the remembered response, byte for byte."""
    rid, response_id, body = str(uuid.uuid4()), str(uuid.uuid4()), b"<sealed>" + bytes(range(256)) + b"</sealed>"
    await store.complete(StoredResponse(rid, response_id, "d", body, "xml", "issued", None, 200, "birth-certificate"),
                         None, "w1")
    await store.record(audit(rid, "issued"), Delivery("k-" + rid, rid, response_id, body, "xml", "issued", None))
    assert await store.find_delivery("k-" + rid) == Delivery("k-" + rid, rid, response_id, body, "xml", "issued", None)


async def test_an_answer_that_is_not_the_response_keeps_its_own_body(store: Store) -> None:
    """A refusal (no remembered response) and an answer with another response id keep their own bytes."""
    rid = str(uuid.uuid4())
    refusal = Delivery("k1-" + rid, rid, str(uuid.uuid4()), b"<refused/>", "xml", "refused", "bad_signature")
    await store.record(audit(rid, "refused"), refusal)
    assert await store.find_delivery(refusal.key) == refusal
    await store.complete(StoredResponse(rid, str(uuid.uuid4()), "d", b"<issued/>", "xml", "issued", None, 200,
                                        "birth-certificate"), None, "w1")
    other = Delivery("k2-" + rid, rid, str(uuid.uuid4()), b"<failed/>", "xml", "failed", "provider_timeout")
    await store.record(audit(rid, "failed"), other)
    assert await store.find_delivery(other.key) == other
