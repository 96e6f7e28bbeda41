"""The SQLite store: one file, one connection, one worker thread so the event loop never blocks."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from gateway.store import AttestationRecord, StoredResponse

T = TypeVar("T")

SCHEMA = """
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
"""


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


class SQLiteStore:
    """The embedded store. All calls run on one dedicated thread, in order."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._db: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            assert self._db is not None, "store is not open"
            return fn(self._db)

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            return db

        self._db = await asyncio.get_running_loop().run_in_executor(self._pool, connect)

    async def close(self) -> None:
        if self._db is not None:
            await self._run(lambda db: db.close())
            self._db = None
        self._pool.shutdown(wait=True)

    async def ping(self) -> bool:
        if self._db is None:
            return False
        return await self._run(lambda db: db.execute("SELECT 1").fetchone() == (1,))

    async def find_response(self, request_id: str) -> StoredResponse | None:
        row = await self._run(lambda db: db.execute(
            "SELECT request_id, response_id, digest, body, kind, status, problem, http_status, document_type "
            "FROM responses WHERE request_id = ?",
            (request_id,)).fetchone())
        return StoredResponse(*row) if row else None

    async def save_response(self, response: StoredResponse, attestation: AttestationRecord | None) -> None:
        def save(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                db.execute(
                    "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (response.request_id, response.response_id, response.digest, response.body, response.kind,
                     response.status, response.problem, response.http_status, response.document_type,
                     _iso(dt.datetime.now(dt.UTC))),
                )
                if attestation is not None:
                    a = attestation
                    db.execute(
                        "INSERT OR IGNORE INTO attestations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (a.attestation_id, a.request_id, a.document_type, a.provider, a.status,
                         _iso(a.issued_at), _iso(a.valid_until), a.sha256,
                         _iso(a.revoked_at) if a.revoked_at else None),
                    )

        await self._run(save)

    async def find_attestation(self, attestation_id: str) -> AttestationRecord | None:
        row = await self._run(lambda db: db.execute(
            "SELECT attestation_id, request_id, document_type, provider, status, issued_at, valid_until, "
            "sha256, revoked_at FROM attestations WHERE attestation_id = ?", (attestation_id,)).fetchone())
        if row is None:
            return None
        issued, until, revoked = _time(row[5]), _time(row[6]), _time(row[8])
        assert issued is not None and until is not None
        return AttestationRecord(row[0], row[1], row[2], row[3], row[4], issued, until, row[7], revoked)

    async def purge(self, older_than: dt.datetime) -> int:
        def purge(db: sqlite3.Connection) -> int:
            with db:
                return db.execute("DELETE FROM responses WHERE created_at < ?", (_iso(older_than),)).rowcount

        return await self._run(purge)
