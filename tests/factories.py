"""Records for the tests, with the values most tests share, any of them given by keyword."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from gateway.records import AuditEntry


def audit_entry(**fields: Any) -> AuditEntry:
    """An answered request's audit entry: an issued birth certificate for dz.cnas, now, unless told otherwise."""
    defaults: dict[str, Any] = {
        "at": dt.datetime.now(dt.UTC),
        "request_id": str(uuid.uuid4()),
        "transport": "amqp",
        "requester": "dz.cnas",
        "agency": "CNAS-16-001",
        "document_type": "birth-certificate",
        "purpose": "family-allowance",
        "provider": "dz.interieur.etat-civil",
        "status": "issued",
        "request_sha256": "a" * 64,
        "response_sha256": "b" * 64,
        "subject_ref": "ref",
    }
    return AuditEntry(**(defaults | fields))
