"""Fixtures for the fault tests: a cluster of real processes and a client, cleaned up after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.faults.harness import Cluster, Collector


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    made = Cluster(tmp_path)
    yield made
    made.stop()
    await made.delete_queues()


@pytest_asyncio.fixture
async def client(cluster: Cluster) -> AsyncIterator[Collector]:
    made = Collector(cluster.amqp_url)
    await made.open()
    yield made
    await made.close()
