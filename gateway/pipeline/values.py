"""The values that pass from one pipeline stage to the next."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gateway.protocol import Kind
from gateway.records import AuditEntry, Completion, Journey
from gateway.signing.trust import Signer


class AnsweredElsewhere(Exception):
    """A redelivered message that another worker was still answering when it arrived here, and that
    this worker answered without a document to remember (a failure): the transport sends this copy
    what the other worker recorded for the message, instead of a second, different answer."""


@dataclass(frozen=True)
class SignedContent:
    """Stage 2's output: the signed content only, with the verified signer."""

    kind: Kind
    signer: Signer
    fields: Mapping[str, Any]  # camelCase, as in the JSON form; Subject as {"nin": ...}
    digest: str  # sha256 of the canonical signed content, for duplicate detection
    source: Any  # the signed XML element or the JSON payload, for schema validation


@dataclass(frozen=True)
class Request:
    """A request that passed the schema: typed, canonical, whatever its encoding."""

    kind: Kind
    request_id: str
    requester: str
    agency: str
    agent: str | None
    document_type: str
    purpose: str
    case_reference: str | None
    priority: str
    issued_at: dt.datetime
    deadline: dt.datetime | None
    subject_kind: str  # NIN, NIF or RC
    subject_id: str
    digest: str
    signer: Signer


@dataclass(frozen=True)
class Outcome:
    """The pipeline's result: the sealed response and what the transports need to know."""

    body: bytes
    kind: Kind
    status: str
    problem: str | None
    request_id: str
    response_id: str
    http_status: int
    document_type: str | None = None
    retry_after: int | None = None
    replayed: bool = False
    #: Why it was refused or failed, in words, with identifiers masked: kept with the request.
    detail: str | None = None
    audit: AuditEntry | None = None
    journey: Journey | None = None
    #: The response to remember and the lease to release, written by the transport with the audit
    #: entry (one transaction); None when there is nothing to remember or it is already written.
    completion: Completion | None = None

    def with_audit(self, entry: AuditEntry, journey: Journey | None = None) -> Outcome:
        return replace(self, audit=entry, journey=journey)
