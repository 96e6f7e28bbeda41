"""Why a store cannot be opened, said so that whoever starts the gateway can fix it.

A worker that cannot open its store does not start: `gateway up` reports the reason in one
line (never the DSN's password) and exits with status 3, instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import asyncpg


class StoreUnavailable(RuntimeError):
    """The store cannot be opened; the message says which store and what to do."""


def postgres_failure(dsn: str, exc: BaseException) -> StoreUnavailable:
    """What `exc`, raised while connecting to `dsn`, means for the operator."""
    where = _where(dsn)
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        database = where.database or "the database"
        return StoreUnavailable(
            f"the PostgreSQL database {database} does not exist on {where.server}: create it "
            f"(createdb -h {where.host} -p {where.port} -U {where.user} {database}) "
            "or name another in GATEWAY_STORE_DSN"
        )
    if isinstance(exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
        return StoreUnavailable(
            f"PostgreSQL on {where.server} refused the user {where.user}: {exc}; "
            "check GATEWAY_STORE_DSN and pg_hba.conf"
        )
    if isinstance(exc, OSError | TimeoutError):
        return StoreUnavailable(
            f"no PostgreSQL answers on {where.server} ({type(exc).__name__}: {exc}); start it, or set GATEWAY_STORE_DSN"
        )
    return StoreUnavailable(f"PostgreSQL on {where.server} could not be used: {type(exc).__name__}: {exc}")


def sqlite_failure(path: object, exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(
        f"the SQLite store {path} cannot be opened ({type(exc).__name__}: {exc}); "
        "check that the home folder is writable by this user"
    )


@dataclass(frozen=True)
class _Where:
    host: str
    port: int
    user: str
    database: str

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


def _where(dsn: str) -> _Where:
    """The server, user and database a postgresql:// DSN names, without its password."""
    try:
        parts = urlsplit(dsn)
        port = parts.port or 5432
    except ValueError:
        parts, port = urlsplit(""), 5432
    return _Where(parts.hostname or "localhost", port, parts.username or "postgres", parts.path.lstrip("/"))
