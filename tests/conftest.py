"""Fixtures shared by every test folder: fresh PostgreSQL databases on 127.0.0.1:5432."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest_asyncio

ADMIN_DSN = os.environ.get("GATEWAY_TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@asynccontextmanager
async def fresh_database(prefix: str) -> AsyncIterator[str]:
    """A database created for the caller and dropped after; yields its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    finally:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest_asyncio.fixture(scope="session")
async def pg_dsn() -> AsyncIterator[str]:
    """One PostgreSQL database for the whole session."""
    async with fresh_database("gateway_test") as dsn:
        yield dsn


@pytest_asyncio.fixture
async def postgres_dsn() -> AsyncIterator[str]:
    """A PostgreSQL database for one test."""
    async with fresh_database("gateway_fault") as dsn:
        yield dsn
