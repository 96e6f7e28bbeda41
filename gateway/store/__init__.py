"""The store: remembered responses (duplicates), attestations, and what the dashboard counts.

One interface, `Store`; SQLite is the embedded default, one file under the home folder.
A PostgreSQL back end (several workers on several machines) goes behind the same protocol.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


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


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    async def find_response(self, request_id: str) -> StoredResponse | None: ...

    async def save_response(self, response: StoredResponse, attestation: AttestationRecord | None) -> None:
        """Records the response (and its attestation) once; a second save of one id is ignored."""
        ...

    async def find_attestation(self, attestation_id: str) -> AttestationRecord | None: ...

    async def purge(self, older_than: dt.datetime) -> int: ...
