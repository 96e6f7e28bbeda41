"""The citizen access report: which administration obtained which document about one person,
when, and for which purpose, read from the audit journal."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.protocol import Transport, instant
from gateway.records import AuditEntry

#: The journal entries that are document requests (not operator actions or served reports).
_REQUESTS = (Transport.AMQP, Transport.HTTP)


def access_report(entries: Iterable[AuditEntry]) -> list[dict[str, str | None]]:
    """The document requests about one subject, oldest first (the journal's own entries about
    serving such reports are left out)."""
    return [
        {
            "at": instant(e.at),
            "requestId": e.request_id,
            "requester": e.requester,
            "agency": e.agency,
            "documentType": e.document_type,
            "purpose": e.purpose,
            "provider": e.provider,
            "status": e.status,
        }
        for e in entries
        if e.transport in _REQUESTS
    ]
