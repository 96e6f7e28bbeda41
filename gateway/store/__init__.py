"""The store: remembered responses (duplicates), leases, the outcome journal of each
delivery, attestations, and the audit entries.

One interface, `Store`, with two back ends: SQLite, the embedded default (one file under
the home folder, shared by the workers of one host), and PostgreSQL, for several workers
on several machines. `tests/store/` runs one suite against both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from gateway.audit import ChainedEntry

LeaseState = Literal["acquired", "held", "taken_over"]


@dataclass(frozen=True)
class Lease:
    """The outcome of asking for a request id's lease, and who else has or had it."""

    state: LeaseState
    holder: str | None = None  # the other owner: holding it now (`held`) or before (`taken_over`)


@dataclass(frozen=True)
class StoredResponse:
    """The exact sealed response given to a request id, and the content it answered."""

    request_id: str
    response_id: str
    digest: str
    body: bytes
    kind: str
    status: str
    problem: str | None
    http_status: int
    document_type: str | None


@dataclass(frozen=True)
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
        """`valid`, `expired` or `revoked` (PROTOCOL §7)."""
        if self.revoked_at is not None:
            return "revoked"
        return "valid" if now < self.valid_until else "expired"


@dataclass(frozen=True)
class Delivery:
    """What was answered to one delivered message (by its delivery key), to replay it after a crash."""

    key: str
    request_id: str
    response_id: str
    body: bytes
    kind: str
    status: str
    problem: str | None


@dataclass(frozen=True)
class AuditEntry:
    """Who obtained what about whom, and why: one entry per answered request, no identifier in clear."""

    at: dt.datetime
    request_id: str
    transport: str
    requester: str | None
    agency: str | None
    agent: str | None
    document_type: str | None
    purpose: str | None
    provider: str | None
    status: str
    problem: str | None
    request_sha256: str
    response_sha256: str
    subject_ref: str | None  # keyed hash of the NIN, NIF or RC


@dataclass(frozen=True)
class Journey:
    """How long one answered request spent in each pipeline stage, in milliseconds, and
    whether it was answered within its type's deadline (None when no deadline applies)."""

    stages: tuple[tuple[str, float], ...]
    total_ms: float
    within_sla: bool | None


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class KpiCount:
    """Requests answered in a period with the same key, status, problem, SLA verdict and latency bucket."""

    key: str | None  # the provider, type, agency or wilaya asked for; a time slot for trends
    status: str
    problem: str | None
    within_sla: bool | None
    bucket: int
    count: int


#: The columns a KPI breakdown may group by.
KPI_DIMENSIONS = ("provider", "document_type", "agency", "wilaya")


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    # ------------------------------------------------------------------ check 8 and leases
    async def find_response(self, request_id: str) -> StoredResponse | None: ...

    async def acquire_lease(self, request_id: str, owner: str, seconds: float) -> Lease:
        """`acquired` (no lease, or ours), `held` (another owner's, unexpired), or
        `taken_over` (another owner's lease had expired: it may have asked the provider)."""
        ...

    async def claim(self, request_id: str, owner: str, seconds: float) -> StoredResponse | Lease:
        """Check 8 and the lease in one call: the remembered response when there is one, else
        what `acquire_lease` returns."""
        ...

    async def lease_holder(self, request_id: str) -> str | None: ...

    async def release_lease(self, request_id: str, owner: str) -> None: ...

    async def complete(self, response: StoredResponse, attestation: AttestationRecord | None, owner: str) -> None:
        """Records the response and its attestation once, and releases the lease, in one transaction."""
        ...

    # ------------------------------------------------------------------ deliveries and audit
    async def record(self, audit: AuditEntry, delivery: Delivery | None, journey: Journey | None = None) -> None:
        """Writes the audit entry and, for a bus delivery, what it was answered, and the request's
        journey and KPI counts, in one transaction."""
        ...

    async def find_delivery(self, key: str) -> Delivery | None: ...

    # ------------------------------------------------------------------ answers left by a stopped worker
    async def keep_orphan_answers(self, answers: list[tuple[str, bytes]]) -> None:
        """Keeps provider answers (by request id) found on the reply queue of a worker that stopped."""
        ...

    async def take_orphan_answer(self, request_id: str) -> bytes | None:
        """The kept answer for a request id, removed from the store; None when there is none."""
        ...

    async def count_attempt(self, key: str) -> int:
        """Counts one more delivery attempt of a redelivered message; returns the count."""
        ...

    async def audit_entries(self, request_id: str) -> list[AuditEntry]: ...

    async def audit_by_subject(self, subject_ref: str) -> list[AuditEntry]:
        """Every entry about one subject (by the keyed hash of its identifier), oldest first."""
        ...

    async def audit_chain(self) -> tuple[list[ChainedEntry], tuple[int, str] | None]:
        """The whole journal in order, with its hashes, and the head kept beside it."""
        ...

    # ------------------------------------------------------------------ KPIs and journeys
    async def journeys(self, request_id: str) -> list[JourneyRecord]:
        """Every answer given to a request id (a replay is one more), oldest first."""
        ...

    async def kpi_counts(self, since: dt.datetime, until: dt.datetime, dimension: str) -> list[KpiCount]:
        """Counts of requests answered in [since, until), grouped by `dimension` (one of
        KPI_DIMENSIONS, or `minute` / `hour` for trends: the key is then the UTC time slot)."""
        ...

    # ------------------------------------------------------------------ operators
    async def put_operator(self, name: str, password_hash: str) -> bool:
        """Creates the operator account or resets its password; True when it was created."""
        ...

    async def operator_hash(self, name: str) -> str | None: ...

    # ------------------------------------------------------------------ attestations, housekeeping
    async def find_attestation(self, attestation_id: str) -> AttestationRecord | None: ...

    async def purge(self, older_than: dt.datetime) -> int:
        """Forgets responses, deliveries and attempts older than `older_than`; returns rows removed."""
        ...
