"""The PostgreSQL store (asyncpg): for several gateway workers on several machines.

The same tables and semantics as the SQLite store. Leases use one atomic upsert, so two
workers never both believe they hold the same request id.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from gateway.kpi import minute_of
from gateway.records import (
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
from gateway.store.alert_rows import ALERT_COLUMNS, ALERTS_TABLE, alert_of, alert_row
from gateway.store.chain import GENESIS, ChainedEntry, canonical
from gateway.store.deliveries import FIND_DELIVERY, delivery_of, delivery_row
from gateway.store.forecast_rows import FORECAST_COLUMNS, FORECASTS_TABLE, ForecastRow
from gateway.store.kpi_rows import (
    HOURLY_LOAD,
    JOURNEY_ADDED_COLUMNS,
    JOURNEY_COLUMNS,
    KPI_KEY,
    journey_record,
    journey_row,
    kpi_column,
    kpi_count,
    kpi_row,
    kpi_tables,
)
from gateway.store.opening import postgres_failure
from gateway.store.postgres_batch import APPEND_MANY_FUNCTION, RecordBatcher
from gateway.store.search import AuditQuery, where
from gateway.store.supersessions import REPLACEMENT_PG, SUPERSEDE_PG, Supersession

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS responses (
    request_id    TEXT PRIMARY KEY,
    response_id   TEXT NOT NULL,
    digest        TEXT NOT NULL,
    body          BYTEA NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    problem       TEXT,
    http_status   INTEGER NOT NULL,
    document_type TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS responses_created ON responses (created_at);
CREATE TABLE IF NOT EXISTS leases (
    request_id TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    key         TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    response_id TEXT NOT NULL,
    body        BYTEA NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    problem     TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS deliveries_created ON deliveries (created_at);
CREATE TABLE IF NOT EXISTS orphan_answers (
    request_id TEXT PRIMARY KEY,
    answer     BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS attempts (
    key        TEXT PRIMARY KEY,
    count      INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS attestations (
    attestation_id TEXT PRIMARY KEY,
    request_id     TEXT NOT NULL,
    document_type  TEXT NOT NULL,
    provider       TEXT NOT NULL,
    status         TEXT NOT NULL,
    issued_at      TIMESTAMPTZ NOT NULL,
    valid_until    TIMESTAMPTZ NOT NULL,
    sha256         TEXT NOT NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS supersessions (
    attestation_id TEXT PRIMARY KEY,
    superseded_at  TIMESTAMPTZ NOT NULL,
    subject_ref    TEXT NOT NULL,
    document_type  TEXT NOT NULL,
    requester      TEXT,
    after_seq      BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq             BIGSERIAL PRIMARY KEY,
    at              TIMESTAMPTZ NOT NULL,
    request_id      TEXT NOT NULL,
    transport       TEXT NOT NULL,
    requester       TEXT,
    agency          TEXT,
    agent           TEXT,
    document_type   TEXT,
    purpose         TEXT,
    provider        TEXT,
    status          TEXT NOT NULL,
    problem         TEXT,
    request_sha256  TEXT NOT NULL,
    response_sha256 TEXT NOT NULL,
    subject_ref     TEXT,
    prev_hash       TEXT NOT NULL,
    entry_hash      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_request ON audit (request_id);
CREATE INDEX IF NOT EXISTS attestations_prefix ON attestations (attestation_id text_pattern_ops);
CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject_ref);
CREATE TABLE IF NOT EXISTS operators (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS operator_sessions (
    token_hash TEXT PRIMARY KEY,
    operator   TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    last_seen  DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS operator_sessions_operator ON operator_sessions (operator);
CREATE TABLE IF NOT EXISTS audit_head (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    entries BIGINT NOT NULL,
    head    TEXT NOT NULL
);
"""
    + kpi_tables(time="TIMESTAMPTZ", real="DOUBLE PRECISION", count="BIGINT")
    + ALERTS_TABLE
    + FORECASTS_TABLE
)
_AUDIT_COLUMNS = (
    "at, request_id, transport, requester, agency, agent, document_type, purpose, provider, status, "
    "problem, request_sha256, response_sha256, subject_ref"
)
# The journal's one appender at a time, server-side: the lock, the head, the entry and the new
# head in one call, so that the lock is held for no network round trip. The hash is the one
# `gateway.store.chain.chain_hash` computes: sha256 of the previous hash, a newline and the
# entry's canonical bytes (computed by the caller), in hex.
_APPEND_FUNCTION = f"""
CREATE OR REPLACE FUNCTION gateway_append_audit(
    p_at TIMESTAMPTZ, p_request_id TEXT, p_transport TEXT, p_requester TEXT, p_agency TEXT, p_agent TEXT,
    p_document_type TEXT, p_purpose TEXT, p_provider TEXT, p_status TEXT, p_problem TEXT,
    p_request_sha256 TEXT, p_response_sha256 TEXT, p_subject_ref TEXT, p_canonical BYTEA) RETURNS TEXT
LANGUAGE plpgsql AS $append$
DECLARE
    n BIGINT;
    previous TEXT;
    entry_hash TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock(72202);  -- held until the calling statement commits
    SELECT entries, head INTO n, previous FROM audit_head WHERE id = 1;
    IF NOT FOUND THEN
        n := 0;
        previous := '{GENESIS}';
    END IF;
    entry_hash := encode(sha256(convert_to(previous || E'\\n', 'UTF8') || p_canonical), 'hex');
    INSERT INTO audit ({_AUDIT_COLUMNS}, prev_hash, entry_hash)
    VALUES (p_at, p_request_id, p_transport, p_requester, p_agency, p_agent, p_document_type, p_purpose,
            p_provider, p_status, p_problem, p_request_sha256, p_response_sha256, p_subject_ref, previous,
            entry_hash);
    INSERT INTO audit_head VALUES (1, n + 1, entry_hash)
    ON CONFLICT (id) DO UPDATE SET entries = excluded.entries, head = excluded.head;
    RETURN entry_hash;
END
$append$;
"""
_APPEND = "SELECT gateway_append_audit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
# One statement records an answered request: the journal entry first (the other writes read
# its result, so they wait for its lock and always come after it), then the delivery (skipped
# when its key, $16, is NULL), the journey and the KPI count (both skipped when the journey's
# first parameter, $23, is NULL), and the completion: the response, the attestation and the
# lease's release (skipped when the response's request id, $42, is NULL; the attestation also
# when its id, $51, is); the journey's detail is the last parameter, $61. One statement is one
# transaction: all or nothing, one round trip. Records written together take
# `postgres_batch.RECORD_MANY` instead.
# The delivery keeps an empty body when the response is stored, before or by this statement
# (a statement does not see its own inserts, except through RETURNING).
_RECORD = f"""
WITH appended AS (
    SELECT gateway_append_audit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) AS entry_hash
),
answered AS (
    INSERT INTO responses (request_id, response_id, digest, body, kind, status, problem, http_status, document_type)
    SELECT $42::text, $43::text, $44::text, $45::bytea, $46::text, $47::text, $48::text, $49::integer, $50::text
    FROM appended WHERE $42::text IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING request_id, response_id
),
attested AS (
    INSERT INTO attestations
    SELECT $51::text, $52::text, $53::text, $54::text, $55::text, $56::timestamptz, $57::timestamptz, $58::text,
           $59::timestamptz
    FROM appended WHERE $51::text IS NOT NULL AND EXISTS (SELECT 1 FROM answered)
    ON CONFLICT DO NOTHING
),
released AS (
    DELETE FROM leases WHERE request_id = $42::text AND owner = $60::text AND EXISTS (SELECT 1 FROM appended)
),
delivered AS (
    INSERT INTO deliveries (key, request_id, response_id, body, kind, status, problem)
    SELECT $16::text, $17::text, $18::text,
           CASE WHEN EXISTS (SELECT 1 FROM responses WHERE request_id = $17::text AND response_id = $18::text)
                  OR EXISTS (SELECT 1 FROM answered WHERE request_id = $17::text AND response_id = $18::text)
                THEN ''::bytea ELSE $19::bytea END,
           $20::text, $21::text, $22::text
    FROM appended WHERE $16::text IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET request_id = excluded.request_id, response_id = excluded.response_id,
        body = excluded.body, kind = excluded.kind, status = excluded.status, problem = excluded.problem,
        created_at = now()
),
journeyed AS (
    INSERT INTO journeys
    SELECT $23::text, $24::timestamptz, $25::text, $26::text, $27::text, $28::text, $29::text, $30::text,
           $31::text, $32::double precision, $61::text
    FROM appended WHERE $23::text IS NOT NULL
),
counted AS (
    INSERT INTO kpi AS k
    SELECT $33::text, $34::text, $35::text, $36::text, $37::text, $38::text, $39::text, $40::integer,
           $41::integer, 1
    FROM appended WHERE $23::text IS NOT NULL
    ON CONFLICT ({KPI_KEY}) DO UPDATE SET n = k.n + 1
)
SELECT $42::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM answered) AS came_second FROM appended
"""
_NO_DELIVERY = (None,) * 7
_NO_JOURNEY = (None,) * 19
_NO_COMPLETION = (None,) * 19
# One statement completes a request: its response, its attestation (skipped when NULL) and
# the release of its lease, atomically.
_COMPLETE = """
WITH answered AS (
    INSERT INTO responses (request_id, response_id, digest, body, kind, status, problem, http_status, document_type)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING
    RETURNING request_id
),
attested AS (
    INSERT INTO attestations
    SELECT $10::text, $11::text, $12::text, $13::text, $14::text, $15::timestamptz, $16::timestamptz, $17::text,
           $18::timestamptz
    WHERE $10::text IS NOT NULL AND EXISTS (SELECT 1 FROM answered)
    ON CONFLICT DO NOTHING
),
released AS (
    DELETE FROM leases WHERE request_id = $1 AND owner = $19
)
SELECT 1
"""
_NO_ATTESTATION = (None,) * 9
# The lease in one statement: insert, renew our own, take over an expired one, or leave it;
# `only_if` can make the insert conditional on an earlier CTE.
_LEASE = """
previous AS (SELECT owner FROM leases WHERE request_id = $1),
upsert AS (
    INSERT INTO leases AS l (request_id, owner, expires_at)
    SELECT $1, $2, now() + make_interval(secs => $3) {only_if}
    ON CONFLICT (request_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
    WHERE l.owner = excluded.owner OR l.expires_at <= now()
    RETURNING 1
)"""
_LEASE_OUTCOME = "(SELECT count(*) FROM upsert) AS won, (SELECT owner FROM previous) AS previous_owner"
_ACQUIRE = f"WITH {_LEASE.format(only_if='')} SELECT {_LEASE_OUTCOME}"
# Check 8 and the lease in one statement: the remembered response if there is one, else the
# lease (none is then taken).
_CLAIM = f"""
WITH found AS (
    SELECT request_id, response_id, digest, body, kind, status, problem, http_status, document_type
    FROM responses WHERE request_id = $1
),
{_LEASE.format(only_if="WHERE NOT EXISTS (SELECT 1 FROM found)")}
SELECT found.*, {_LEASE_OUTCOME} FROM (SELECT) AS one LEFT JOIN found ON true
"""


def _completion_row(completion: Completion) -> tuple[object, ...]:
    """The parameters of a completion, in the order `_COMPLETE` and `_RECORD` take them."""
    r, a = completion.response, completion.attestation
    attested = (
        _NO_ATTESTATION
        if a is None
        else (
            a.attestation_id,
            a.request_id,
            a.document_type,
            a.provider,
            a.status,
            a.issued_at,
            a.valid_until,
            a.sha256,
            a.revoked_at,
        )
    )
    return (*r.row(), *attested, completion.owner)


ATTESTATIONS = (
    "SELECT attestation_id, request_id, document_type, provider, status, issued_at, valid_until, sha256, revoked_at "
    "FROM attestations"
)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool.

    The store's statements change no session state: its advisory locks are per transaction,
    or released at once (the schema's), and it never listens, opens cursors or sets
    variables. asyncpg's default reset (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`) would cost a round trip and the server's time on every release, as much as
    the statement itself. An open transaction is still rolled back by the pool before this.
    """


class PostgresStore:
    """The shared store: a connection pool on one PostgreSQL database."""

    def __init__(self, dsn: str, *, min_size: int = 2, max_size: int = 10) -> None:
        self._dsn = dsn
        self._sizes = (min_size, max_size)
        self._pool: asyncpg.Pool | None = None
        self._records: RecordBatcher | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "store is not open"
        return self._pool

    async def open(self) -> None:
        """Connects and creates or completes the schema; StoreUnavailable says why it cannot."""
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=self._sizes[0], max_size=self._sizes[1], reset=_keep_session
            )
            await self._create_schema(self._pool)
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            await self.close()
            raise postgres_failure(self._dsn, exc) from None
        self._records = RecordBatcher(self._pool, _RECORD)

    @staticmethod
    async def _create_schema(pool: asyncpg.Pool) -> None:
        async with pool.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock(72201)")  # one worker creates the schema at a time
            try:
                await connection.execute(SCHEMA)
                for name, kind in JOURNEY_ADDED_COLUMNS:  # what an older store lacks
                    await connection.execute(f"ALTER TABLE journeys ADD COLUMN IF NOT EXISTS {name} {kind}")
                await connection.execute(_APPEND_FUNCTION)
                await connection.execute(APPEND_MANY_FUNCTION)
            finally:
                await connection.execute("SELECT pg_advisory_unlock(72201)")

    async def close(self) -> None:
        if self._records is not None:
            await self._records.close()
            self._records = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def ping(self) -> bool:
        return self._pool is not None and await self.pool.fetchval("SELECT 1") == 1

    # ------------------------------------------------------------------ check 8 and leases
    async def find_response(self, request_id: str) -> StoredResponse | None:
        row = await self.pool.fetchrow(
            "SELECT request_id, response_id, digest, body, kind, status, problem, http_status, document_type "
            "FROM responses WHERE request_id = $1",
            request_id,
        )
        return StoredResponse.from_row(tuple(row)) if row else None

    async def acquire_lease(self, request_id: str, owner: str, seconds: float) -> Lease:
        return await self._lease(
            await self.pool.fetchrow(_ACQUIRE, request_id, owner, float(seconds)), request_id, owner
        )

    async def claim(self, request_id: str, owner: str, seconds: float) -> StoredResponse | Lease:
        row = await self.pool.fetchrow(_CLAIM, request_id, owner, float(seconds))
        if row["request_id"] is not None:
            return StoredResponse.from_row(tuple(row)[:9])
        return await self._lease(row, request_id, owner)

    async def _lease(self, row: asyncpg.Record, request_id: str, owner: str) -> Lease:
        previous = row["previous_owner"]
        if not row["won"]:
            return Lease("held", await self.lease_holder(request_id) or previous)
        if previous is not None and previous != owner:
            return Lease("taken_over", previous)
        return Lease("acquired")

    async def lease_holder(self, request_id: str) -> str | None:
        value = await self.pool.fetchval("SELECT owner FROM leases WHERE request_id = $1", request_id)
        return str(value) if value is not None else None

    async def release_lease(self, request_id: str, owner: str) -> None:
        await self.pool.execute("DELETE FROM leases WHERE request_id = $1 AND owner = $2", request_id, owner)

    async def complete(self, response: StoredResponse, attestation: AttestationRecord | None, owner: str) -> None:
        await self.pool.execute(_COMPLETE, *_completion_row(Completion(response, attestation, owner)))

    # ------------------------------------------------------------------ deliveries and audit
    async def record(
        self,
        audit: AuditEntry,
        delivery: Delivery | None,
        journey: Journey | None = None,
        completion: Completion | None = None,
    ) -> StoredResponse | None:
        a, d = audit, delivery
        delivered = _NO_DELIVERY if d is None else delivery_row(d, completion)
        # the journey's columns but its detail ($23-$32), then the KPI key; the detail goes last ($61)
        journeyed = _NO_JOURNEY if journey is None else (*journey_row(a, journey, a.at)[:-1], *kpi_row(a, journey))
        assert self._records is not None, "store is not open"
        came_second = await self._records.record(
            (
                *a.row(),
                canonical(a),
                *delivered,
                *journeyed,
                *(_NO_COMPLETION if completion is None else _completion_row(completion)),
                journey.detail if journey is not None else None,
            )
        )
        return await self.find_response(completion.response.request_id) if came_second and completion else None

    async def journeys(self, request_id: str) -> list[JourneyRecord]:
        rows = await self.pool.fetch(
            f"SELECT {JOURNEY_COLUMNS} FROM journeys WHERE request_id = $1 ORDER BY at", request_id
        )
        return [journey_record(r, r[0]) for r in rows]

    async def kpi_counts(self, since: dt.datetime, until: dt.datetime, dimension: str) -> list[KpiCount]:
        rows = await self.pool.fetch(
            f"SELECT {kpi_column(dimension)}, status, problem, within_sla, bucket, SUM(n) FROM kpi "
            "WHERE minute >= $1 AND minute < $2 GROUP BY 1, 2, 3, 4, 5",
            minute_of(since),
            minute_of(until),
        )
        return [kpi_count(r) for r in rows]

    async def kpi_by_minute(self, since: dt.datetime, until: dt.datetime, dimension: str) -> list[tuple[str, KpiCount]]:
        rows = await self.pool.fetch(
            f"SELECT minute, {kpi_column(dimension)}, status, problem, within_sla, bucket, SUM(n) FROM kpi "
            "WHERE minute >= $1 AND minute < $2 GROUP BY 1, 2, 3, 4, 5, 6",
            minute_of(since),
            minute_of(until),
        )
        return [(str(r[0]), kpi_count(tuple(r)[1:])) for r in rows]

    async def put_forecasts(self, rows: list[ForecastRow]) -> None:
        await self.pool.executemany(
            f"INSERT INTO forecasts ({FORECAST_COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, 12))}) "
            "ON CONFLICT (made_on, wilaya, document_type, day) DO UPDATE SET mean = excluded.mean, "
            "low80 = excluded.low80, high80 = excluded.high80, low95 = excluded.low95, high95 = excluded.high95, "
            "naive = excluded.naive, method = excluded.method",
            [r.row() for r in rows],
        )

    async def forecasts(self, made_on: str | None = None) -> list[ForecastRow]:
        rows = await self.pool.fetch(
            f"SELECT {FORECAST_COLUMNS} FROM forecasts WHERE made_on = "
            "coalesce($1, (SELECT max(made_on) FROM forecasts)) ORDER BY wilaya, document_type, day",
            made_on,
        )
        return [ForecastRow(*tuple(r)) for r in rows]

    async def hourly_load(self, since: dt.datetime, until: dt.datetime) -> list[tuple[str, str, str, int]]:
        rows = await self.pool.fetch(HOURLY_LOAD.format("$1", "$2"), minute_of(since), minute_of(until))
        return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    async def find_delivery(self, key: str) -> Delivery | None:
        return delivery_of(await self.pool.fetchrow(FIND_DELIVERY, key))

    async def keep_orphan_answers(self, answers: list[tuple[str, bytes]]) -> None:
        await self.pool.executemany(
            "INSERT INTO orphan_answers (request_id, answer) VALUES ($1, $2) ON CONFLICT DO NOTHING", answers
        )

    async def take_orphan_answer(self, request_id: str) -> bytes | None:
        value = await self.pool.fetchval(
            "DELETE FROM orphan_answers WHERE request_id = $1 RETURNING answer", request_id
        )
        return bytes(value) if value is not None else None

    async def count_attempt(self, key: str) -> int:
        value = await self.pool.fetchval(
            "INSERT INTO attempts (key, count) VALUES ($1, 1) ON CONFLICT (key) DO UPDATE "
            "SET count = attempts.count + 1 RETURNING count",
            key,
        )
        return int(value)

    async def audit_entries(self, request_id: str) -> list[AuditEntry]:
        rows = await self.pool.fetch(
            f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE request_id = $1 ORDER BY seq", request_id
        )
        return [AuditEntry.from_row(tuple(row)) for row in rows]

    async def audit_by_subject(self, subject_ref: str) -> list[AuditEntry]:
        rows = await self.pool.fetch(
            f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE subject_ref = $1 ORDER BY seq", subject_ref
        )
        return [AuditEntry.from_row(tuple(row)) for row in rows]

    async def audit_search(self, query: AuditQuery) -> list[tuple[int, AuditEntry]]:
        clause, values = where(query, lambda n: f"${n}", lambda at: at)
        rows = await self.pool.fetch(
            f"SELECT seq, {_AUDIT_COLUMNS} FROM audit{clause} ORDER BY seq DESC LIMIT ${len(values) + 1}",
            *values,
            query.limit,
        )
        return [(int(r[0]), AuditEntry.from_row(tuple(r)[1:])) for r in rows]

    async def audit_after(self, seq: int, limit: int) -> list[tuple[int, AuditEntry]]:
        rows = await self.pool.fetch(
            f"SELECT seq, {_AUDIT_COLUMNS} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2", seq, limit
        )
        return [(int(r[0]), AuditEntry.from_row(tuple(r)[1:])) for r in rows]

    async def add_alert(self, alert: AlertRecord) -> bool:
        status = await self.pool.execute(
            f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, 15))}) "
            "ON CONFLICT DO NOTHING",
            *alert_row(alert),
        )
        return bool(status.split()[-1] == "1")

    async def alerts(self, state: str | None = None, limit: int = 200) -> list[AlertRecord]:
        if state:
            rows = await self.pool.fetch(
                f"SELECT {ALERT_COLUMNS} FROM alerts WHERE state = $1 ORDER BY raised_at DESC LIMIT $2", state, limit
            )
        else:
            rows = await self.pool.fetch(f"SELECT {ALERT_COLUMNS} FROM alerts ORDER BY raised_at DESC LIMIT $1", limit)
        return [alert_of(tuple(r)) for r in rows]

    async def settle_alert(self, alert_id: str, state: str, operator: str, note: str | None) -> AlertRecord | None:
        row = await self.pool.fetchrow(
            "UPDATE alerts SET state = $2, settled_by = $3, settled_at = $4, note = $5 "
            f"WHERE alert_id = $1 AND state = 'open' RETURNING {ALERT_COLUMNS}",
            alert_id,
            state,
            operator,
            dt.datetime.now(dt.UTC).isoformat(),
            note,
        )
        return alert_of(tuple(row)) if row else None

    async def audit_head(self) -> tuple[int, str] | None:
        head = await self.pool.fetchrow("SELECT entries, head FROM audit_head WHERE id = 1")
        return (int(head["entries"]), str(head["head"])) if head else None

    async def audit_chain(self) -> tuple[list[ChainedEntry], tuple[int, str] | None]:
        rows = await self.pool.fetch(f"SELECT seq, {_AUDIT_COLUMNS}, prev_hash, entry_hash FROM audit ORDER BY seq")
        chain = [
            ChainedEntry(r[0], AuditEntry.from_row(list(r.values())[1:15]), r["prev_hash"], r["entry_hash"])
            for r in rows
        ]
        head = await self.pool.fetchrow("SELECT entries, head FROM audit_head WHERE id = 1")
        return chain, (int(head["entries"]), str(head["head"])) if head else None

    # ------------------------------------------------------------------ operators
    async def put_operator(self, name: str, password_hash: str) -> bool:
        created = await self.pool.fetchval(
            "WITH ended AS (DELETE FROM operator_sessions WHERE operator = $1) "
            "INSERT INTO operators (name, password_hash) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET "
            "password_hash = excluded.password_hash, updated_at = now() RETURNING (xmax = 0)",
            name,
            password_hash,
        )
        return bool(created)

    async def operator_hash(self, name: str) -> str | None:
        value = await self.pool.fetchval("SELECT password_hash FROM operators WHERE name = $1", name)
        return str(value) if value is not None else None

    async def open_session(self, token_hash: str, operator: str, now: float) -> None:
        await self.pool.execute("INSERT INTO operator_sessions VALUES ($1, $2, $3, $3)", token_hash, operator, now)

    async def find_session(self, token_hash: str) -> OperatorSession | None:
        row = await self.pool.fetchrow(
            "SELECT operator, created_at, last_seen FROM operator_sessions WHERE token_hash = $1", token_hash
        )
        return OperatorSession(str(row[0]), float(row[1]), float(row[2])) if row else None

    async def touch_session(self, token_hash: str, now: float) -> None:
        await self.pool.execute("UPDATE operator_sessions SET last_seen = $2 WHERE token_hash = $1", token_hash, now)

    async def end_session(self, token_hash: str) -> None:
        await self.pool.execute("DELETE FROM operator_sessions WHERE token_hash = $1", token_hash)

    # ------------------------------------------------------------------ attestations, housekeeping
    async def find_attestation(self, attestation_id: str) -> AttestationRecord | None:
        row = await self.pool.fetchrow(f"{ATTESTATIONS} WHERE attestation_id = $1", attestation_id)
        return AttestationRecord.from_row(tuple(row)) if row else None

    async def revoke(
        self, attestation_id: str, at: dt.datetime, audit: AuditEntry | None = None
    ) -> AttestationRecord | None:
        async with self.pool.acquire() as connection, connection.transaction():
            done = await connection.execute(
                "UPDATE attestations SET revoked_at = $2 WHERE attestation_id = $1 AND revoked_at IS NULL",
                attestation_id,
                at,
            )
            if done == "UPDATE 1" and audit is not None:
                await connection.execute(_APPEND, *audit.row(), canonical(audit))
            row = await connection.fetchrow(f"{ATTESTATIONS} WHERE attestation_id = $1", attestation_id)
        return AttestationRecord.from_row(tuple(row)) if row else None

    async def supersede(self, subject_ref: str, document_type: str, at: dt.datetime) -> int:
        async with self.pool.acquire() as connection, connection.transaction():
            last = await connection.fetchval("SELECT coalesce(max(seq), 0) FROM audit")
            done = await connection.execute(SUPERSEDE_PG, at, last, subject_ref, document_type)
        return int(done.rsplit(" ", 1)[-1])  # "INSERT 0 n"

    async def supersession(self, attestation_id: str) -> Supersession | None:
        row = await self.pool.fetchrow(
            "SELECT superseded_at, subject_ref, document_type, requester, after_seq FROM supersessions "
            "WHERE attestation_id = $1",
            attestation_id,
        )
        if row is None:
            return None
        after = await self.pool.fetchval(REPLACEMENT_PG, row[1], row[2], row[3], row[4])
        return Supersession(row[0], str(after) if after is not None else None)

    async def find_attestations_by_prefix(self, prefix: str, limit: int = 2) -> list[AttestationRecord]:
        rows = await self.pool.fetch(  # by the index attestations_prefix
            f"{ATTESTATIONS} WHERE attestation_id LIKE $1 || '%' LIMIT $2", prefix, limit
        )
        return [AttestationRecord.from_row(tuple(row)) for row in rows]

    async def purge(self, older_than: dt.datetime) -> int:
        removed = 0
        async with self.pool.acquire() as connection, connection.transaction():
            for table in ("responses", "deliveries", "attempts", "orphan_answers"):
                status = await connection.execute(f"DELETE FROM {table} WHERE created_at < $1", older_than)
                removed += int(status.split()[-1])
            status = await connection.execute("DELETE FROM leases WHERE expires_at < $1", older_than)
            removed += int(status.split()[-1])
            status = await connection.execute("DELETE FROM journeys WHERE at < $1", older_than)
            removed += int(status.split()[-1])
            status = await connection.execute(
                "DELETE FROM operator_sessions WHERE created_at < $1", older_than.timestamp()
            )
            removed += int(status.split()[-1])
            status = await connection.execute("DELETE FROM forecasts WHERE made_on < $1", older_than.date().isoformat())
            removed += int(status.split()[-1])
        return removed
