"""Delivery records without a second copy of the sealed body, on both stores: a redelivery
still gets the same bytes, whether they were kept in the delivery or in the response."""

from __future__ import annotations

import uuid

from gateway.records import AuditEntry, Delivery, StoredResponse
from gateway.store import Store
from tests.factories import audit_entry


def audit(rid: str, status: str) -> AuditEntry:
    return audit_entry(request_id=rid, status=status)


async def test_an_answer_kept_as_a_response_is_replayed_from_it(store: Store) -> None:
    """The delivery of an issued answer reads its body back from the remembered response, byte for byte."""
    rid, response_id, body = str(uuid.uuid4()), str(uuid.uuid4()), b"<sealed>" + bytes(range(256)) + b"</sealed>"
    await store.complete(
        StoredResponse(
            request_id=rid,
            response_id=response_id,
            digest="d",
            body=body,
            kind="xml",
            status="issued",
            problem=None,
            http_status=200,
            document_type="birth-certificate",
        ),
        None,
        "w1",
    )
    await store.record(
        audit(rid, "issued"),
        Delivery(
            key="k-" + rid,
            request_id=rid,
            response_id=response_id,
            body=body,
            kind="xml",
            status="issued",
            problem=None,
        ),
    )
    assert await store.find_delivery("k-" + rid) == Delivery(
        key="k-" + rid, request_id=rid, response_id=response_id, body=body, kind="xml", status="issued", problem=None
    )


async def test_an_answer_that_is_not_the_response_keeps_its_own_body(store: Store) -> None:
    """A refusal (no remembered response) and an answer with another response id keep their own bytes."""
    rid = str(uuid.uuid4())
    refusal = Delivery(
        key="k1-" + rid,
        request_id=rid,
        response_id=str(uuid.uuid4()),
        body=b"<refused/>",
        kind="xml",
        status="refused",
        problem="bad_signature",
    )
    await store.record(audit(rid, "refused"), refusal)
    assert await store.find_delivery(refusal.key) == refusal
    await store.complete(
        StoredResponse(
            request_id=rid,
            response_id=str(uuid.uuid4()),
            digest="d",
            body=b"<issued/>",
            kind="xml",
            status="issued",
            problem=None,
            http_status=200,
            document_type="birth-certificate",
        ),
        None,
        "w1",
    )
    other = Delivery(
        key="k2-" + rid,
        request_id=rid,
        response_id=str(uuid.uuid4()),
        body=b"<failed/>",
        kind="xml",
        status="failed",
        problem="provider_timeout",
    )
    await store.record(audit(rid, "failed"), other)
    assert await store.find_delivery(other.key) == other
