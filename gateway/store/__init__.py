"""The store: remembered responses (duplicates), leases, the outcome of each delivery,
attestations, the audit journal, journeys and KPI counts, and operator accounts.

One interface, `Store`, with two back ends: SQLite, the embedded default (one file under
the home folder, shared by the workers of one host), and PostgreSQL, for several workers
on several machines. `tests/store/` runs one suite against both. `chain` holds the journal's
hash chain, which both back ends write.

May import: the records, the KPI keys, the configuration and the protocol constants; never a
stage, a transport or anything above them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Protocol

from gateway.config import Config
from gateway.records import (
    SUPERSEDED,
    AlertRecord,
    AttestationRecord,
    AuditEntry,
    Completion,
    Delivery,
    Journey,
    JourneyRecord,
    KpiCount,
    Lease,
    OperatorSession,
    StoredResponse,
)
from gateway.store.chain import ChainedEntry
from gateway.store.forecast_rows import ForecastRow
from gateway.store.search import AuditQuery
from gateway.store.supersessions import Supersession


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
        """Records the response and its attestation, unless a response was remembered for the
        request id before, and releases the lease, in one transaction."""
        ...

    # ------------------------------------------------------------------ deliveries and audit
    async def record(
        self,
        audit: AuditEntry,
        delivery: Delivery | None,
        journey: Journey | None = None,
        completion: Completion | None = None,
    ) -> StoredResponse | None:
        """Writes the audit entry and, for a bus delivery, what it was answered, the request's
        journey and KPI counts, and its completion (what `complete` writes), in one transaction.
        Returns the response remembered before for the completion's request id, when there was
        one (its attestation then not written, the delivery pointing to the one remembered);
        None otherwise."""
        ...

    async def kpi_by_minute(self, since: dt.datetime, until: dt.datetime, dimension: str) -> list[tuple[str, KpiCount]]:
        """The KPI counts per minute (`YYYY-MM-DDTHH:MM`) and `dimension`, as `kpi_counts` groups them."""
        ...

    async def put_forecasts(self, rows: list[ForecastRow]) -> None:
        """Keeps a forecast's rows (a row of the same made_on, series and day is replaced); `purge`
        forgets the forecasts made before its cutoff."""
        ...

    async def forecasts(self, made_on: str | None = None) -> list[ForecastRow]:
        """The rows of the forecast made on `made_on` (the latest when None)."""
        ...

    async def hourly_load(self, since: dt.datetime, until: dt.datetime) -> list[tuple[str, str, str, int]]:
        """Requests per UTC hour (`YYYY-MM-DDTHH`), wilaya and document type, from the KPI counts."""
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

    async def audit_search(self, query: AuditQuery) -> list[tuple[int, AuditEntry]]:
        """The entries that match `query`, newest first, each with its sequence number (at most
        `query.limit`; the next page starts under the last one's)."""
        ...

    async def audit_after(self, seq: int, limit: int) -> list[tuple[int, AuditEntry]]:
        """The entries after sequence number `seq`, oldest first, each with its sequence number (at
        most `limit`)."""
        ...

    # ------------------------------------------------------------------ misuse alerts
    async def add_alert(self, alert: AlertRecord) -> bool:
        """Keeps a new alert; False when one with its id (agent, kind, day) is already kept."""
        ...

    async def alerts(self, state: str | None = None, limit: int = 200) -> list[AlertRecord]:
        """The alerts in `state` (all when None), the newest first."""
        ...

    async def settle_alert(self, alert_id: str, state: str, operator: str, note: str | None) -> AlertRecord | None:
        """Marks an open alert acknowledged or dismissed by `operator`; None when it is not open."""
        ...

    async def audit_head(self) -> tuple[int, str] | None:
        """The journal's head as the store keeps it: (entries, hash of the last), None while empty."""
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
        """Creates the operator account or resets its password, ending every session it had, in one
        transaction; True when it was created."""
        ...

    async def operator_hash(self, name: str) -> str | None: ...

    async def open_session(self, token_hash: str, operator: str, now: float) -> None: ...

    async def find_session(self, token_hash: str) -> OperatorSession | None: ...

    async def touch_session(self, token_hash: str, now: float) -> None:
        """Records that the session was used at `now`."""
        ...

    async def end_session(self, token_hash: str) -> None: ...

    # ------------------------------------------------------------------ attestations, housekeeping
    async def find_attestation(self, attestation_id: str) -> AttestationRecord | None: ...

    async def revoke(
        self, attestation_id: str, at: dt.datetime, audit: AuditEntry | None = None
    ) -> AttestationRecord | None:
        """Marks the attestation revoked at `at`, unless it was revoked before (then its date is kept),
        and journals `audit` in the same transaction when this call revoked it: both or neither.
        The attestation as it now is, None when none has that id."""
        ...

    async def supersede(self, subject_ref: str, document_type: str, at: dt.datetime) -> int:
        """Marks superseded every `issued` attestation of `document_type` about `subject_ref` journaled so far
        (a correction of the record they came from); returns how many were not superseded already."""
        ...

    async def supersession(self, attestation_id: str) -> Supersession | None:
        """When the attestation was superseded, and the first attestation issued since for the same requester,
        type and subject (None until one is); None when it was not superseded (`supersessions.py`)."""
        ...

    async def find_attestations_by_prefix(self, prefix: str, limit: int = 2) -> list[AttestationRecord]:
        """The attestations whose id begins with `prefix` (a check code's, `gateway.ids.id_prefix`), at most
        `limit`: more than one means the code is ambiguous."""
        ...

    async def purge(self, older_than: dt.datetime) -> int:
        """Forgets responses, deliveries, attempts and sessions older than `older_than`; returns rows
        removed."""
        ...


def open_store(config: Config, home: Path) -> Store:
    """The store the configuration names: SQLite under `home`, or PostgreSQL."""
    if config.settings.store_backend == "postgresql":
        from gateway.store.postgres import PostgresStore

        return PostgresStore(config.settings.store_dsn)
    from gateway.store.sqlite import SQLiteStore

    return SQLiteStore(home / config.settings.store_path)


async def attestation_state(store: Store, record: AttestationRecord, now: dt.datetime) -> tuple[str, str | None]:
    """An attestation's state as the public sees it: `revoked`; `superseded` by a correction of its record,
    with the attestation issued since in its place (None until one is); else `valid` or `expired`."""
    if record.revoked_at is not None:
        return record.state(now), None
    superseded = await store.supersession(record.attestation_id)
    if superseded is not None:
        return SUPERSEDED, superseded.replaced_by
    return record.state(now), None
