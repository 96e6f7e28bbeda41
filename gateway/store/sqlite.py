"""The SQLite store: one file, WAL, one connection on one thread per process, so the event
loop never blocks, with group commit (sqlite_batch): the writes queued when the thread wakes
share one transaction. Several processes of one host may share the file."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

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
    LeaseState,
    OperatorSession,
    StoredResponse,
)
from gateway.store.alert_rows import ALERT_COLUMNS, ALERTS_TABLE, alert_of, alert_row
from gateway.store.chain import GENESIS, ChainedEntry, chain_hash
from gateway.store.deliveries import FIND_DELIVERY, SQLITE_DELIVERY_BODY, delivery_of, delivery_row
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
from gateway.store.opening import sqlite_failure
from gateway.store.search import AuditQuery, where
from gateway.store.sqlite_batch import Batcher
from gateway.store.supersessions import REPLACEMENT_SQLITE, SUPERSEDE_SQLITE, Supersession

T = TypeVar("T")

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS responses (
    request_id    TEXT PRIMARY KEY,
    response_id   TEXT NOT NULL,
    digest        TEXT NOT NULL,
    body          BLOB NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    problem       TEXT,
    http_status   INTEGER NOT NULL,
    document_type TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_created ON responses (created_at);
CREATE TABLE IF NOT EXISTS leases (
    request_id TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    key         TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    response_id TEXT NOT NULL,
    body        BLOB NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    problem     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_created ON deliveries (created_at);
CREATE TABLE IF NOT EXISTS orphan_answers (
    request_id TEXT PRIMARY KEY,
    answer     BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    key        TEXT PRIMARY KEY,
    count      INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attestations (
    attestation_id TEXT PRIMARY KEY,
    request_id     TEXT NOT NULL,
    document_type  TEXT NOT NULL,
    provider       TEXT NOT NULL,
    status         TEXT NOT NULL,
    issued_at      TEXT NOT NULL,
    valid_until    TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    revoked_at     TEXT
);
CREATE TABLE IF NOT EXISTS supersessions (
    attestation_id TEXT PRIMARY KEY,
    superseded_at  TEXT NOT NULL,
    subject_ref    TEXT NOT NULL,
    document_type  TEXT NOT NULL,
    requester      TEXT,
    after_seq      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
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
CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject_ref);
CREATE TABLE IF NOT EXISTS operators (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operator_sessions (
    token_hash TEXT PRIMARY KEY,
    operator   TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS operator_sessions_operator ON operator_sessions (operator);
CREATE TABLE IF NOT EXISTS audit_head (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    entries INTEGER NOT NULL,
    head    TEXT NOT NULL
);
"""
    + kpi_tables(time="TEXT", real="REAL", count="INTEGER")
    + ALERTS_TABLE
    + FORECASTS_TABLE
)
_AUDIT_COLUMNS = (
    "at, request_id, transport, requester, agency, agent, document_type, purpose, provider, status, "
    "problem, request_sha256, response_sha256, subject_ref"
)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


class SQLiteStore:
    """The embedded store. All calls of one process run on one dedicated thread; writes are
    each atomic, and the ones waiting together are committed together."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._batcher: Batcher | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read, outside any transaction (a WAL snapshot)."""
        if self._batcher is None:
            raise RuntimeError("store is not open")
        return await self._batcher.run(fn, write=False)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A write, atomic, in the transaction of its batch; committed before this returns."""
        if self._batcher is None:
            raise RuntimeError("store is not open")
        return await self._batcher.run(fn, write=True)

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, timeout=30)
            _while_locked(lambda: db.execute("PRAGMA journal_mode=WAL"))
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            _while_locked(lambda: db.executescript(SCHEMA))
            _while_locked(lambda: _add_columns(db))
            return db

        batcher = Batcher(connect, writers_lock=self._path.with_name(self._path.name + "-writers.lock"))
        try:
            await batcher.start()
        except (sqlite3.Error, OSError) as exc:
            raise sqlite_failure(self._path, exc) from None
        self._batcher = batcher

    async def close(self) -> None:
        if self._batcher is not None:
            batcher, self._batcher = self._batcher, None
            await batcher.stop()

    async def ping(self) -> bool:
        if self._batcher is None:
            return False
        return await self._run(lambda db: db.execute("SELECT 1").fetchone() == (1,))

    # ------------------------------------------------------------------ check 8 and leases
    async def find_response(self, request_id: str) -> StoredResponse | None:
        return await self._run(lambda db: _response(db, request_id))

    async def acquire_lease(self, request_id: str, owner: str, seconds: float) -> Lease:
        return await self._write(lambda db: _acquire(db, request_id, owner, seconds))

    async def claim(self, request_id: str, owner: str, seconds: float) -> StoredResponse | Lease:
        return await self._write(lambda db: _response(db, request_id) or _acquire(db, request_id, owner, seconds))

    async def lease_holder(self, request_id: str) -> str | None:
        row = await self._run(
            lambda db: db.execute("SELECT owner FROM leases WHERE request_id = ?", (request_id,)).fetchone()
        )
        return str(row[0]) if row else None

    async def release_lease(self, request_id: str, owner: str) -> None:
        await self._write(
            lambda db: db.execute("DELETE FROM leases WHERE request_id = ? AND owner = ?", (request_id, owner))
        )

    async def complete(self, response: StoredResponse, attestation: AttestationRecord | None, owner: str) -> None:
        await self._write(lambda db: _complete(db, Completion(response, attestation, owner)))

    # ------------------------------------------------------------------ deliveries and audit
    async def record(
        self,
        audit: AuditEntry,
        delivery: Delivery | None,
        journey: Journey | None = None,
        completion: Completion | None = None,
    ) -> StoredResponse | None:
        def save(db: sqlite3.Connection) -> StoredResponse | None:
            earlier = None
            if completion is not None and not _complete(db, completion):
                earlier = _response(db, completion.response.request_id)
            a = audit
            _append(db, a)
            if delivery is not None:
                key, request_id, response_id, body, kind, status, problem = delivery_row(delivery, completion)
                db.execute(
                    f"INSERT INTO deliveries VALUES (?, ?, ?, {SQLITE_DELIVERY_BODY}, ?, ?, ?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET request_id = excluded.request_id, response_id = excluded.response_id, "
                    "body = excluded.body, kind = excluded.kind, status = excluded.status, "
                    "problem = excluded.problem, created_at = excluded.created_at",
                    (key, request_id, response_id, request_id, response_id, body, kind, status, problem, _iso(_now())),
                )
            if journey is not None:
                db.execute(
                    "INSERT INTO journeys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", journey_row(a, journey, _iso(a.at))
                )
                db.execute(
                    "INSERT INTO kpi VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1) "
                    f"ON CONFLICT ({KPI_KEY}) DO UPDATE SET n = n + 1",
                    kpi_row(a, journey),
                )
            return earlier

        return await self._write(save)

    async def journeys(self, request_id: str) -> list[JourneyRecord]:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {JOURNEY_COLUMNS} FROM journeys WHERE request_id = ? ORDER BY at", (request_id,)
            ).fetchall()
        )
        return [journey_record(r, dt.datetime.fromisoformat(r[0])) for r in rows]

    async def kpi_counts(self, since: dt.datetime, until: dt.datetime, dimension: str) -> list[KpiCount]:
        column = kpi_column(dimension)
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {column}, status, problem, within_sla, bucket, SUM(n) FROM kpi "
                "WHERE minute >= ? AND minute < ? GROUP BY 1, 2, 3, 4, 5",
                (minute_of(since), minute_of(until)),
            ).fetchall()
        )
        return [kpi_count(r) for r in rows]

    async def kpi_by_minute(self, since: dt.datetime, until: dt.datetime, dimension: str) -> list[tuple[str, KpiCount]]:
        column = kpi_column(dimension)
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT minute, {column}, status, problem, within_sla, bucket, SUM(n) FROM kpi "
                "WHERE minute >= ? AND minute < ? GROUP BY 1, 2, 3, 4, 5, 6",
                (minute_of(since), minute_of(until)),
            ).fetchall()
        )
        return [(str(r[0]), kpi_count(r[1:])) for r in rows]

    async def put_forecasts(self, rows: list[ForecastRow]) -> None:
        values = [r.row() for r in rows]
        await self._write(
            lambda db: db.executemany(
                f"INSERT OR REPLACE INTO forecasts ({FORECAST_COLUMNS}) VALUES ({', '.join('?' * 11)})", values
            )
        )

    async def forecasts(self, made_on: str | None = None) -> list[ForecastRow]:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {FORECAST_COLUMNS} FROM forecasts WHERE made_on = "
                "coalesce(?, (SELECT max(made_on) FROM forecasts)) ORDER BY wilaya, document_type, day",
                (made_on,),
            ).fetchall()
        )
        return [ForecastRow(*r) for r in rows]

    async def hourly_load(self, since: dt.datetime, until: dt.datetime) -> list[tuple[str, str, str, int]]:
        rows = await self._run(
            lambda db: db.execute(HOURLY_LOAD.format("?", "?"), (minute_of(since), minute_of(until))).fetchall()
        )
        return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    async def find_delivery(self, key: str) -> Delivery | None:
        row = await self._run(lambda db: db.execute(FIND_DELIVERY.replace("$1", "?"), (key,)).fetchone())
        return delivery_of(row)

    async def keep_orphan_answers(self, answers: list[tuple[str, bytes]]) -> None:
        def keep(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT OR IGNORE INTO orphan_answers VALUES (?, ?, ?)",
                [(rid, answer, _iso(_now())) for rid, answer in answers],
            )

        await self._write(keep)

    async def take_orphan_answer(self, request_id: str) -> bytes | None:
        def take(db: sqlite3.Connection) -> bytes | None:
            row = db.execute(
                "DELETE FROM orphan_answers WHERE request_id = ? RETURNING answer", (request_id,)
            ).fetchone()
            return bytes(row[0]) if row else None

        return await self._write(take)

    async def count_attempt(self, key: str) -> int:
        def count(db: sqlite3.Connection) -> int:
            row = db.execute(
                "INSERT INTO attempts VALUES (?, 1, ?) ON CONFLICT (key) DO UPDATE SET count = count + 1 "
                "RETURNING count",
                (key, _iso(_now())),
            ).fetchone()
            return int(row[0])

        return await self._write(count)

    async def audit_entries(self, request_id: str) -> list[AuditEntry]:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE request_id = ? ORDER BY seq", (request_id,)
            ).fetchall()
        )
        return [AuditEntry.from_row((dt.datetime.fromisoformat(r[0]), *r[1:])) for r in rows]

    async def audit_by_subject(self, subject_ref: str) -> list[AuditEntry]:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE subject_ref = ? ORDER BY seq", (subject_ref,)
            ).fetchall()
        )
        return [AuditEntry.from_row((dt.datetime.fromisoformat(r[0]), *r[1:])) for r in rows]

    async def audit_search(self, query: AuditQuery) -> list[tuple[int, AuditEntry]]:
        clause, values = where(query, lambda n: "?", _iso)
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT seq, {_AUDIT_COLUMNS} FROM audit{clause} ORDER BY seq DESC LIMIT ?", (*values, query.limit)
            ).fetchall()
        )
        return [(int(r[0]), AuditEntry.from_row((dt.datetime.fromisoformat(r[1]), *r[2:]))) for r in rows]

    async def audit_after(self, seq: int, limit: int) -> list[tuple[int, AuditEntry]]:
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT seq, {_AUDIT_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            ).fetchall()
        )
        return [(int(r[0]), AuditEntry.from_row((dt.datetime.fromisoformat(r[1]), *r[2:]))) for r in rows]

    async def add_alert(self, alert: AlertRecord) -> bool:
        added = await self._write(
            lambda db: (
                db.execute(
                    f"INSERT OR IGNORE INTO alerts ({ALERT_COLUMNS}) VALUES ({', '.join('?' * 14)})", alert_row(alert)
                ).rowcount
            )
        )
        return bool(added)

    async def alerts(self, state: str | None = None, limit: int = 200) -> list[AlertRecord]:
        where, values = ("WHERE state = ?", (state, limit)) if state else ("", (limit,))
        rows = await self._run(
            lambda db: db.execute(
                f"SELECT {ALERT_COLUMNS} FROM alerts {where} ORDER BY raised_at DESC LIMIT ?", values
            ).fetchall()
        )
        return [alert_of(r) for r in rows]

    async def settle_alert(self, alert_id: str, state: str, operator: str, note: str | None) -> AlertRecord | None:
        def settle(db: sqlite3.Connection) -> Any:
            db.execute(
                "UPDATE alerts SET state = ?, settled_by = ?, settled_at = ?, note = ? "
                "WHERE alert_id = ? AND state = 'open'",
                (state, operator, _iso(_now()), note, alert_id),
            )
            if db.execute("SELECT changes()").fetchone()[0] == 0:
                return None
            return db.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()

        row = await self._write(settle)
        return alert_of(row) if row else None

    async def audit_head(self) -> tuple[int, str] | None:
        head = await self._run(lambda db: db.execute("SELECT entries, head FROM audit_head WHERE id = 1").fetchone())
        return (int(head[0]), str(head[1])) if head else None

    async def audit_chain(self) -> tuple[list[ChainedEntry], tuple[int, str] | None]:
        def read(db: sqlite3.Connection) -> tuple[list[ChainedEntry], tuple[int, str] | None]:
            rows = db.execute(f"SELECT seq, {_AUDIT_COLUMNS}, prev_hash, entry_hash FROM audit ORDER BY seq")
            chain = [
                ChainedEntry(r[0], AuditEntry.from_row((dt.datetime.fromisoformat(r[1]), *r[2:15])), r[15], r[16])
                for r in rows
            ]
            head = db.execute("SELECT entries, head FROM audit_head WHERE id = 1").fetchone()
            return chain, (int(head[0]), str(head[1])) if head else None

        return await self._run(read)

    # ------------------------------------------------------------------ operators
    async def put_operator(self, name: str, password_hash: str) -> bool:
        def put(db: sqlite3.Connection) -> bool:
            existed = db.execute("SELECT 1 FROM operators WHERE name = ?", (name,)).fetchone() is not None
            db.execute(
                "INSERT INTO operators VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "password_hash = excluded.password_hash, updated_at = excluded.updated_at",
                (name, password_hash, _iso(_now())),
            )
            db.execute("DELETE FROM operator_sessions WHERE operator = ?", (name,))
            return not existed

        return await self._write(put)

    async def operator_hash(self, name: str) -> str | None:
        row = await self._run(
            lambda db: db.execute("SELECT password_hash FROM operators WHERE name = ?", (name,)).fetchone()
        )
        return str(row[0]) if row else None

    async def open_session(self, token_hash: str, operator: str, now: float) -> None:
        await self._write(
            lambda db: db.execute("INSERT INTO operator_sessions VALUES (?, ?, ?, ?)", (token_hash, operator, now, now))
        )

    async def find_session(self, token_hash: str) -> OperatorSession | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT operator, created_at, last_seen FROM operator_sessions WHERE token_hash = ?", (token_hash,)
            ).fetchone()
        )
        return OperatorSession(str(row[0]), float(row[1]), float(row[2])) if row else None

    async def touch_session(self, token_hash: str, now: float) -> None:
        await self._write(
            lambda db: db.execute("UPDATE operator_sessions SET last_seen = ? WHERE token_hash = ?", (now, token_hash))
        )

    async def end_session(self, token_hash: str) -> None:
        await self._write(lambda db: db.execute("DELETE FROM operator_sessions WHERE token_hash = ?", (token_hash,)))

    # ------------------------------------------------------------------ attestations, housekeeping
    async def find_attestation(self, attestation_id: str) -> AttestationRecord | None:
        row = await self._run(
            lambda db: db.execute(f"{ATTESTATIONS} WHERE attestation_id = ?", (attestation_id,)).fetchone()
        )
        return _attestation(row) if row is not None else None

    async def revoke(
        self, attestation_id: str, at: dt.datetime, audit: AuditEntry | None = None
    ) -> AttestationRecord | None:
        def mark(db: sqlite3.Connection) -> Any:
            revoked = db.execute(
                "UPDATE attestations SET revoked_at = ? WHERE attestation_id = ? AND revoked_at IS NULL",
                (_iso(at), attestation_id),
            ).rowcount
            if revoked and audit is not None:
                _append(db, audit)
            return db.execute(f"{ATTESTATIONS} WHERE attestation_id = ?", (attestation_id,)).fetchone()

        row = await self._write(mark)
        return _attestation(row) if row is not None else None

    async def supersede(self, subject_ref: str, document_type: str, at: dt.datetime) -> int:
        def supersede(db: sqlite3.Connection) -> int:
            (last,) = db.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()
            return db.execute(SUPERSEDE_SQLITE, (_iso(at), last, subject_ref, document_type)).rowcount

        return await self._write(supersede)

    async def supersession(self, attestation_id: str) -> Supersession | None:
        def read(db: sqlite3.Connection) -> Supersession | None:
            row = db.execute(
                "SELECT superseded_at, subject_ref, document_type, requester, after_seq FROM supersessions "
                "WHERE attestation_id = ?",
                (attestation_id,),
            ).fetchone()
            if row is None:
                return None
            after = db.execute(REPLACEMENT_SQLITE, row[1:]).fetchone()
            at = _time(row[0])
            assert at is not None
            return Supersession(at, str(after[0]) if after else None)

        return await self._run(read)

    async def find_attestations_by_prefix(self, prefix: str, limit: int = 2) -> list[AttestationRecord]:
        rows = await self._run(
            lambda db: db.execute(
                f"{ATTESTATIONS} WHERE attestation_id >= ? AND attestation_id < ? LIMIT ?",
                (prefix, prefix + "~", limit),  # ids are lowercase hex and dashes, all before "~"
            ).fetchall()
        )
        return [_attestation(row) for row in rows]

    async def purge(self, older_than: dt.datetime) -> int:
        def purge(db: sqlite3.Connection) -> int:
            cutoff = _iso(older_than)
            removed = db.execute("DELETE FROM responses WHERE created_at < ?", (cutoff,)).rowcount
            removed += db.execute("DELETE FROM deliveries WHERE created_at < ?", (cutoff,)).rowcount
            removed += db.execute("DELETE FROM attempts WHERE created_at < ?", (cutoff,)).rowcount
            removed += db.execute("DELETE FROM orphan_answers WHERE created_at < ?", (cutoff,)).rowcount
            removed += db.execute("DELETE FROM journeys WHERE at < ?", (cutoff,)).rowcount
            removed += db.execute("DELETE FROM leases WHERE expires_at < ?", (older_than.timestamp(),)).rowcount
            removed += db.execute(
                "DELETE FROM operator_sessions WHERE created_at < ?", (older_than.timestamp(),)
            ).rowcount
            removed += db.execute("DELETE FROM forecasts WHERE made_on < ?", (older_than.date().isoformat(),)).rowcount
            return removed

        return await self._write(purge)


def _while_locked(step: Callable[[], object], seconds: float = 30.0) -> None:
    """Runs a set-up step again while another process holds the database: workers opening a
    new store together race for WAL mode and the schema, and SQLite answers `database is
    locked` at once there instead of waiting for its busy timeout."""
    give_up = time.monotonic() + seconds
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                raise
            time.sleep(0.05)


def _append(db: sqlite3.Connection, entry: AuditEntry) -> None:
    """Appends `entry` to the hash-chained journal, inside the caller's transaction."""
    head = db.execute("SELECT entries, head FROM audit_head WHERE id = 1").fetchone()
    entries, previous = head if head else (0, GENESIS)
    entry_hash = chain_hash(previous, entry)
    db.execute(
        f"INSERT INTO audit ({_AUDIT_COLUMNS}, prev_hash, entry_hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (_iso(entry.at), *entry.row()[1:], previous, entry_hash),
    )
    db.execute(
        "INSERT INTO audit_head VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE "
        "SET entries = excluded.entries, head = excluded.head",
        (entries + 1, entry_hash),
    )


def _response(db: sqlite3.Connection, request_id: str) -> StoredResponse | None:
    row = db.execute(
        "SELECT request_id, response_id, digest, body, kind, status, problem, http_status, "
        "document_type FROM responses WHERE request_id = ?",
        (request_id,),
    ).fetchone()
    return StoredResponse.from_row(row) if row else None


ATTESTATIONS = (
    "SELECT attestation_id, request_id, document_type, provider, status, issued_at, valid_until, sha256, revoked_at "
    "FROM attestations"
)


def _attestation(row: Sequence[Any]) -> AttestationRecord:
    issued, until, revoked = _time(row[5]), _time(row[6]), _time(row[8])
    assert issued is not None and until is not None
    return AttestationRecord.from_row((*row[:5], issued, until, row[7], revoked))


def _add_columns(db: sqlite3.Connection) -> None:
    """Adds the columns an older store's tables lack."""
    present = {row[1] for row in db.execute("PRAGMA table_info(journeys)")}
    for name, kind in JOURNEY_ADDED_COLUMNS:
        if name not in present:
            db.execute(f"ALTER TABLE journeys ADD COLUMN {name} {kind}")


def _complete(db: sqlite3.Connection, completion: Completion) -> bool:
    """Writes the response and its attestation and releases the lease; False, and nothing but the
    release written, when a response was remembered for the request id before."""
    r, attestation = completion.response, completion.attestation
    first = (
        db.execute(
            "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*r.row(), _iso(_now())),
        ).rowcount
        == 1
    )
    if first and attestation is not None:
        a = attestation
        db.execute(
            "INSERT OR IGNORE INTO attestations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                a.attestation_id,
                a.request_id,
                a.document_type,
                a.provider,
                a.status,
                _iso(a.issued_at),
                _iso(a.valid_until),
                a.sha256,
                _iso(a.revoked_at) if a.revoked_at else None,
            ),
        )
    db.execute("DELETE FROM leases WHERE request_id = ? AND owner = ?", (r.request_id, completion.owner))
    return first


def _acquire(db: sqlite3.Connection, request_id: str, owner: str, seconds: float) -> Lease:
    now = _now().timestamp()
    row = db.execute("SELECT owner, expires_at FROM leases WHERE request_id = ?", (request_id,)).fetchone()
    if row is not None and row[0] != owner and row[1] > now:
        state: LeaseState = "held"
    else:
        state = "taken_over" if row is not None and row[0] != owner else "acquired"
        db.execute(
            "INSERT INTO leases VALUES (?, ?, ?) ON CONFLICT (request_id) DO UPDATE "
            "SET owner = excluded.owner, expires_at = excluded.expires_at",
            (request_id, owner, now + seconds),
        )
    return Lease(state, row[0] if row is not None and row[0] != owner else None)
