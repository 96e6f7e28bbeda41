"""One store test suite, run against each back end: SQLite in a temporary folder and
PostgreSQL on 127.0.0.1:5432 in a database created for this session and dropped after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from gateway.store import Store
from gateway.store.postgres import PostgresStore
from gateway.store.sqlite import SQLiteStore
from tests.store.store_kit import StoreFactory


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path, pg_dsn: str) -> AsyncIterator[StoreFactory]:
    """Opens stores of one back end on one shared database (each call: another worker's connection)."""
    opened: list[Store] = []
    if request.param == "postgresql":
        dsn = pg_dsn
        admin = await asyncpg.connect(dsn)
        await admin.execute(
            "DROP TABLE IF EXISTS responses, leases, deliveries, attempts, attestations, audit, "
            "audit_head, orphan_answers, operators, operator_sessions, journeys, kpi, alerts, forecasts, supersessions"
        )
        await admin.close()

        def factory() -> Store:
            store = PostgresStore(dsn)
            opened.append(store)
            return store
    else:

        def factory() -> Store:
            store = SQLiteStore(tmp_path / "store.sqlite3")
            opened.append(store)
            return store

    yield factory
    for store in opened:
        await store.close()


@pytest_asyncio.fixture
async def store(make_store: StoreFactory) -> Store:
    opened = make_store()
    await opened.open()
    return opened
