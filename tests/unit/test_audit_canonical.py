"""The bytes an audit entry's hash covers never change: chains written by earlier versions
must keep verifying."""

from __future__ import annotations

import datetime as dt

from gateway.records import AuditEntry
from gateway.store.chain import canonical, chain_hash


def test_the_canonical_form_of_an_entry_is_pinned() -> None:
    """Every field, sorted by name, times in UTC, compact JSON, non-ASCII kept: byte for byte."""
    entry = AuditEntry(
        at=dt.datetime(2026, 11, 29, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        request_id="r-1",
        transport="amqp",
        requester="dz.cnas",
        agency="CNAS-16-001",
        agent=None,
        document_type="birth-certificate",
        purpose="family-allowance",
        provider="dz.interieur.etat-civil",
        status="issued",
        problem=None,
        request_sha256="a" * 64,
        response_sha256="b" * 64,
        subject_ref="réf",
    )
    assert (
        canonical(entry)
        == (
            '{"agency":"CNAS-16-001","agent":null,"at":"2026-11-29T10:00:00+00:00","document_type":"birth-certificate",'
            '"problem":null,"provider":"dz.interieur.etat-civil","purpose":"family-allowance","request_id":"r-1",'
            f'"request_sha256":"{"a" * 64}","requester":"dz.cnas","response_sha256":"{"b" * 64}","status":"issued",'
            '"subject_ref":"réf","transport":"amqp"}'
        ).encode()
    )
    assert chain_hash("0" * 64, entry) == chain_hash("0" * 64, entry) != chain_hash("1" * 64, entry)
