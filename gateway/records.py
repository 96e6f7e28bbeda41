"""The records every layer shares: what the pipeline hands the transports, what the store
keeps and gives back, what the journal, the KPIs and the dashboard read.

Records with more than a few fields are built by keyword only, so that a field added or
moved can never shift the others. A store reading rows in column order goes through
`from_row`, which names each column once. Nothing here imports from the gateway but its
protocol constants.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from gateway.protocol import Kind, Transport

LeaseState = Literal["acquired", "held", "taken_over"]
#: How the journal and the request lookup name a request id that a message claimed before its
#: signature was verified (refused at checks 1 and 2, or dead-lettered): apart from the history
#: of the request that really carries the id, so that nobody can write into another's history.
UNVERIFIED = "unverified:"
#: What `AttestationRecord.state` can say of an attestation (docs/protocol.md §9).
ATTESTATION_STATES = ("valid", "expired", "revoked", "superseded")
SUPERSEDED = "superseded"  # a state the store knows: the record the attestation came from was corrected


def unverified(claimed: str) -> str:
    """The journal's key for a request id claimed by a message not yet verified."""
    return f"{UNVERIFIED}{claimed}" if claimed else ""


@dataclass(frozen=True)
class Lease:
    """The outcome of asking for a request id's lease, and who else has or had it."""

    state: LeaseState
    holder: str | None = None  # the other owner: holding it now (`held`) or before (`taken_over`)


@dataclass(frozen=True, kw_only=True)
class StoredResponse:
    """The exact sealed response given to a request id, and the content it answered."""

    request_id: str
    response_id: str
    digest: str
    body: bytes
    kind: Kind
    status: str
    problem: str | None
    http_status: int
    document_type: str | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Self:
        """A row of the store's `responses` columns, in the order of this record's fields."""
        return cls(**_by_field(cls, row))

    def row(self) -> tuple[Any, ...]:
        """The record's values in the order of its fields, as the stores write them."""
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))


@dataclass(frozen=True, kw_only=True)
class AttestationRecord:
    """Public facts about an attestation: no personal data."""

    attestation_id: str
    request_id: str
    document_type: str
    provider: str
    status: str  # issued or not-found: the response status it came with
    issued_at: dt.datetime
    valid_until: dt.datetime
    sha256: str
    revoked_at: dt.datetime | None = None

    def state(self, now: dt.datetime) -> str:
        """`valid`, `expired` or `revoked` (docs/protocol.md, public endpoints)."""
        valid, expired, revoked, _ = ATTESTATION_STATES
        if self.revoked_at is not None:
            return revoked
        return valid if now < self.valid_until else expired

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Self:
        """A row of the store's `attestations` columns, in the order of this record's fields."""
        return cls(**_by_field(cls, row))


@dataclass(frozen=True)
class Completion:
    """A request's remembered response and attestation, and the lease of `owner` they end:
    written with the request's audit entry, in the same transaction."""

    response: StoredResponse
    attestation: AttestationRecord | None
    owner: str


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """What was answered to one delivered message (by its delivery key), to replay it after a crash."""

    key: str
    request_id: str
    response_id: str
    body: bytes
    kind: Kind
    status: str
    problem: str | None


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """Who obtained what about whom, and why: one entry per answered request, dead letter,
    operator action or citizen report; no identifier in clear.

    `status` is a response status for a request, the dead-lettering for a dead letter, or
    the action's name for an operator (`login`, `replay`, ...); `problem` is the problem code,
    the dead-letter reason or the action's outcome."""

    at: dt.datetime
    request_id: str
    transport: str
    requester: str | None = None
    agency: str | None = None
    agent: str | None = None
    document_type: str | None = None
    purpose: str | None = None
    provider: str | None = None
    status: str
    problem: str | None = None
    request_sha256: str = ""
    response_sha256: str = ""
    subject_ref: str | None = None  # keyed hash of the NIN, NIF or RC

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Self:
        """A row of the journal's columns, in the order of AUDIT_COLUMNS."""
        return cls(**_by_field(cls, row))

    def row(self) -> tuple[Any, ...]:
        """The entry's values in the order of AUDIT_COLUMNS, as the stores write them."""
        return tuple(getattr(self, name) for name in AUDIT_COLUMNS)

    @classmethod
    def operator_action(
        cls, operator: str, action: str, outcome: str | None = None, subject: str | None = None
    ) -> Self:
        """An operator's action, now; `subject` names what it acted on (a request id), else the
        entry gets an id of its own."""
        return cls(
            at=dt.datetime.now(dt.UTC),
            request_id=subject or str(uuid.uuid4()),
            transport=Transport.OPERATOR,
            requester=operator,
            status=action,
            problem=outcome,
        )


#: The journal's columns, in the order the stores write and read them: the fields of AuditEntry.
AUDIT_COLUMNS = tuple(f.name for f in dataclasses.fields(AuditEntry))


@dataclass(frozen=True)
class Journey:
    """How long one answered request spent in each pipeline stage, in milliseconds, and
    whether it was answered within its type's deadline (None when no deadline applies)."""

    stages: tuple[tuple[str, float], ...]
    total_ms: float
    within_sla: bool | None
    #: Why it was refused or failed, in words, identifiers masked (`gateway.logs.mask_identifiers`).
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class JourneyRecord:
    """A journey as the request lookup shows it: the audit facts without personal data."""

    at: dt.datetime
    request_id: str
    transport: str
    agency: str | None
    document_type: str | None
    provider: str | None
    status: str
    problem: str | None
    stages: tuple[tuple[str, float], ...]
    total_ms: float
    detail: str | None = None


@dataclass(frozen=True)
class KpiCount:
    """Requests answered in a period with the same key, status, problem, SLA verdict and latency bucket."""

    key: str | None  # the provider, type, agency or wilaya asked for; a time slot for trends
    status: str
    problem: str | None
    within_sla: bool | None
    bucket: int
    count: int


@dataclass(frozen=True, kw_only=True)
class AlertRecord:
    """A misuse alert as the store keeps it: about an agent, one kind on one local day, with
    its reason and evidence, and how operators settled it (open, acknowledged, dismissed)."""

    alert_id: str
    agent: str
    agency: str
    kind: str
    day: str  # the agent's local day, YYYY-MM-DD
    raised_at: dt.datetime
    since: dt.datetime
    reason: str
    evidence: Mapping[str, Any]
    explorer: str
    state: str = "open"
    settled_by: str | None = None
    settled_at: dt.datetime | None = None
    note: str | None = None


@dataclass(frozen=True)
class OperatorSession:
    """A dashboard session as the store keeps it: whose, and since when (seconds since the epoch).
    The store knows it by a hash of its token only."""

    operator: str
    created_at: float
    last_seen: float


#: The columns a KPI breakdown may group by.
KPI_DIMENSIONS = ("provider", "document_type", "agency", "wilaya")


def _by_field(cls: type[Any], row: Sequence[Any]) -> dict[str, Any]:
    names = [f.name for f in dataclasses.fields(cls)]
    if len(row) != len(names):
        raise ValueError(f"{cls.__name__}: {len(row)} columns for {len(names)} fields")
    return dict(zip(names, row, strict=True))
