"""Group commit for the PostgreSQL store's records: the records a worker asks for while its
previous batch is being written go together, as one statement.

Each answered request ends with one `record` (its audit entry, delivery, journey, KPI count
and completion). One statement per request costs a network round trip, a commit and the
server's work for a statement, and under load these were the largest part of what the
store cost. Here, a worker writes one batch at a time: the first record goes at once,
alone; the records that arrive meanwhile wait for it and then go as the next batch. So an
idle gateway writes each record as soon as it comes, and a loaded one writes fewer, larger
statements. The journal's entries of a batch are chained in the order they were asked for.

A batch is one transaction. When it fails, each of its records is written again alone, so
that only a failing record raises, to its own caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
import structlog

from gateway.store.chain import GENESIS
from gateway.store.kpi_rows import KPI_KEY

log = structlog.get_logger(__name__)
MAX_BATCH = 128

_AUDIT = (
    "at, request_id, transport, requester, agency, agent, document_type, purpose, provider, status, "
    "problem, request_sha256, response_sha256, subject_ref"
)
# The types of a record's parameters, in the order of `postgres._RECORD`: the audit entry and its
# canonical bytes (1-15), the delivery (16-22), the journey (23-32), the KPI key (33-41), the
# completion (42-60), the journey's detail (61).
TYPES = (
    ("timestamptz",) + ("text",) * 13 + ("bytea",)
    + ("text",) * 3 + ("bytea",) + ("text",) * 3
    + ("text", "timestamptz") + ("text",) * 7 + ("float8",)
    + ("text",) * 7 + ("integer", "integer")
    + ("text",) * 3 + ("bytea",) + ("text",) * 3 + ("integer", "text")
    + ("text",) * 5 + ("timestamptz", "timestamptz", "text", "timestamptz")
    + ("text",)
    + ("text",)
)  # fmt: skip
_NAMES = (
    "d_key, d_request_id, d_response_id, d_body, d_kind, d_status, d_problem, "
    "j_request_id, j_at, j_transport, j_agency, j_document_type, j_provider, j_status, j_problem, j_stages, "
    "j_total_ms, k_minute, k_provider, k_document_type, k_agency, k_wilaya, k_status, k_problem, k_within_sla, "
    "k_bucket, c_request_id, c_response_id, c_digest, c_body, c_kind, c_status, c_problem, c_http_status, "
    "c_document_type, a_id, a_request_id, a_document_type, a_provider, a_status, a_issued_at, a_valid_until, "
    "a_sha256, a_revoked_at, c_owner, j_detail"
)
_ARRAY_PARAMETERS = ", ".join(
    f"p_{name} {kind.upper()}[]" for name, kind in zip(_AUDIT.split(", "), TYPES[:14], strict=True)
)

# The journal's appender for a batch: one lock, the entries chained in order, one new head.
APPEND_MANY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION gateway_append_audit_many({_ARRAY_PARAMETERS}, p_canonical BYTEA[]) RETURNS INTEGER
LANGUAGE plpgsql AS $append$
DECLARE
    n BIGINT;
    previous TEXT;
    entry_hash TEXT;
    added INTEGER := coalesce(array_length(p_at, 1), 0);
BEGIN
    PERFORM pg_advisory_xact_lock(72202);  -- the lock of gateway_append_audit, held until commit
    SELECT entries, head INTO n, previous FROM audit_head WHERE id = 1;
    IF NOT FOUND THEN
        n := 0;
        previous := '{GENESIS}';
    END IF;
    FOR i IN 1 .. added LOOP
        entry_hash := encode(sha256(convert_to(previous || E'\\n', 'UTF8') || p_canonical[i]), 'hex');
        INSERT INTO audit ({_AUDIT}, prev_hash, entry_hash)
        VALUES (p_at[i], p_request_id[i], p_transport[i], p_requester[i], p_agency[i], p_agent[i],
                p_document_type[i], p_purpose[i], p_provider[i], p_status[i], p_problem[i], p_request_sha256[i],
                p_response_sha256[i], p_subject_ref[i], previous, entry_hash);
        previous := entry_hash;
    END LOOP;
    INSERT INTO audit_head VALUES (1, n + added, previous)
    ON CONFLICT (id) DO UPDATE SET entries = excluded.entries, head = excluded.head;
    RETURN added;
END
$append$;
"""
_UNNEST = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(TYPES[15:], start=16))
# The same writes as `postgres._RECORD`, for a batch: every parameter is an array with a value per
# record, the KPI counts of one key added up.
RECORD_MANY = f"""
WITH appended AS (
    SELECT gateway_append_audit_many({", ".join(f"${i}::{kind}[]" for i, kind in enumerate(TYPES[:15], start=1))})
        AS entries
),
input AS (
    SELECT * FROM unnest({_UNNEST}) AS i({_NAMES})
),
answered AS (
    INSERT INTO responses (request_id, response_id, digest, body, kind, status, problem, http_status, document_type)
    SELECT c_request_id, c_response_id, c_digest, c_body, c_kind, c_status, c_problem, c_http_status, c_document_type
    FROM input, appended WHERE c_request_id IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING request_id, response_id
),
attested AS (
    INSERT INTO attestations
    SELECT a_id, a_request_id, a_document_type, a_provider, a_status, a_issued_at, a_valid_until, a_sha256,
           a_revoked_at
    FROM input, appended WHERE a_id IS NOT NULL AND a_request_id IN (SELECT request_id FROM answered)
    ON CONFLICT DO NOTHING
),
released AS (
    DELETE FROM leases l USING input, appended
    WHERE l.request_id = input.c_request_id AND l.owner = input.c_owner
),
delivered AS (
    INSERT INTO deliveries (key, request_id, response_id, body, kind, status, problem)
    SELECT d_key, d_request_id, d_response_id,
           CASE WHEN EXISTS (SELECT 1 FROM responses r WHERE r.request_id = d_request_id
                                                         AND r.response_id = d_response_id)
                  OR EXISTS (SELECT 1 FROM answered a WHERE a.request_id = d_request_id
                                                         AND a.response_id = d_response_id)
                THEN ''::bytea ELSE d_body END,
           d_kind, d_status, d_problem
    FROM input, appended WHERE d_key IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET request_id = excluded.request_id, response_id = excluded.response_id,
        body = excluded.body, kind = excluded.kind, status = excluded.status, problem = excluded.problem,
        created_at = now()
),
journeyed AS (
    INSERT INTO journeys
    SELECT j_request_id, j_at, j_transport, j_agency, j_document_type, j_provider, j_status, j_problem, j_stages,
           j_total_ms, j_detail
    FROM input, appended WHERE j_request_id IS NOT NULL
),
counted AS (
    INSERT INTO kpi AS k
    SELECT k_minute, k_provider, k_document_type, k_agency, k_wilaya, k_status, k_problem, k_within_sla, k_bucket,
           count(*)
    FROM input, appended WHERE j_request_id IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    ON CONFLICT ({KPI_KEY}) DO UPDATE SET n = k.n + excluded.n
)
SELECT ARRAY(
    SELECT c_request_id FROM input WHERE c_request_id IS NOT NULL
    EXCEPT SELECT request_id FROM answered
) AS came_second FROM appended
"""

Waiting = tuple[Sequence[Any], "asyncio.Future[bool]"]
COMPLETED_REQUEST_ID = 41  # the index of a record's completion's request id in its parameters


class RecordBatcher:
    """Writes records one batch at a time: `single` for a batch of one, `many` for more.

    `single` returns whether the record's completion came second (a response was remembered for
    its request id before); `many`, the request ids of those that did."""

    def __init__(self, pool: asyncpg.Pool, single: str, many: str = RECORD_MANY) -> None:
        self._pool = pool
        self._single = single
        self._many = many
        self._waiting: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.records = 0

    async def record(self, parameters: Sequence[Any]) -> bool:
        """Writes one record's parameters (those of `single`), with whatever else is waiting; True
        when its completion came second."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((parameters, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def close(self) -> None:
        """Waits for what is being written."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            self.batches += 1
            self.records += len(batch)
            if len(batch) == 1:
                await self._alone(*batch[0])
                continue
            try:
                came_second = set(await self._pool.fetchval(self._many, *columns(p for p, _ in batch)))
            except Exception:
                log.warning("record_batch_failed", records=len(batch), exc_info=True)
                for parameters, future in batch:  # each again alone: only a failing one raises
                    await self._alone(parameters, future)
                continue
            for parameters, future in batch:
                if not future.done():
                    future.set_result(parameters[COMPLETED_REQUEST_ID] in came_second)

    async def _alone(self, parameters: Sequence[Any], future: asyncio.Future[bool]) -> None:
        try:
            came_second = bool(await self._pool.fetchval(self._single, *parameters))
        except Exception as error:
            if not future.done():
                future.set_exception(error)
        else:
            if not future.done():
                future.set_result(came_second)


def columns(rows: Any) -> list[list[Any]]:
    """Rows of parameters turned into one list per parameter."""
    return [list(column) for column in zip(*rows, strict=True)]
