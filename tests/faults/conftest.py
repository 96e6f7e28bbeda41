"""Fixtures for the fault tests: a cluster of real processes and a client, cleaned up after."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest_asyncio
from harness import Cluster, Collector

ADMIN_DSN = os.environ.get("GATEWAY_TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    made = Cluster(tmp_path)
    yield made
    made.stop()
    await made.delete_queues()


@pytest_asyncio.fixture
async def postgres_dsn() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped after it."""
    name = f"gateway_fault_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest_asyncio.fixture
async def client(cluster: Cluster) -> AsyncIterator[Collector]:
    made = Collector(cluster.amqp_url)
    await made.open()
    yield made
    await made.close()
