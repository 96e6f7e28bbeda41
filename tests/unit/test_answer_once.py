"""Answering once within one worker: a copy of a request that arrives while an earlier copy's
answer is still being written waits for it, instead of asking the provider again."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from gateway import config as config_module
from gateway.adapters.base import ProviderAnswer, ProviderQuery
from gateway.metrics import Metrics
from gateway.pipeline.attest import Attester
from gateway.pipeline.flow import Pipeline
from gateway.protocol import Transport
from gateway.records import AuditEntry, Completion, Delivery, Journey
from gateway.signing import pki
from gateway.signing.seal import Sealer
from gateway.signing.trust import TrustStore
from gateway.store.sqlite import SQLiteStore
from tests.e2e.exchange import signed_xml

CA = pki.make_ca()
CNAS = pki.issue(CA, "dz.cnas")
GATEWAY = pki.issue(CA, "dz.exchange.gateway")


class SlowRecords(SQLiteStore):
    """A store whose records take a while to be written, as over a network to a database server;
    reads and leases go on meanwhile (as on another connection of a pool)."""

    async def record(
        self,
        audit: AuditEntry,
        delivery: Delivery | None,
        journey: Journey | None = None,
        completion: Completion | None = None,
    ) -> None:
        await asyncio.sleep(0.2)
        await super().record(audit, delivery, journey, completion)


class CountingRegistry:
    """A civil registry that finds everyone and counts the queries it is asked."""

    provider = "dz.interieur.etat-civil"

    def __init__(self) -> None:
        self.asked = 0

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def fetch(self, query: ProviderQuery, timeout: float) -> ProviderAnswer:
        self.asked += 1
        data = {"fullName": "Test Person", "birthDate": "1990-01-01", "birthPlace": "Alger"}
        return ProviderAnswer(self.provider, True, data, dt.datetime.now(dt.UTC))


@pytest_asyncio.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Pipeline, CountingRegistry]]:
    config = config_module.load()
    store = SlowRecords(tmp_path / "store.sqlite3")
    await store.open()
    registry = CountingRegistry()
    pipeline = Pipeline(
        config,
        TrustStore([CA.cert]),
        store,
        {registry.provider: registry},
        Attester(Sealer(GATEWAY.key, [GATEWAY.cert]), "http://x"),
        Metrics(config.catalogue),
        b"k" * 32,
    )
    yield pipeline, registry
    await store.close()


async def test_a_copy_waits_for_the_earlier_copys_answer_to_be_written(
    setup: tuple[Pipeline, CountingRegistry],
) -> None:
    """Three copies of one request handled at once, each remembered by its transport: one query, one answer."""
    pipeline, registry = setup
    _, body = signed_xml(CNAS)

    async def one_copy() -> bytes:
        outcome = await pipeline.handle(body, "application/xml", transport=Transport.HTTP)
        await pipeline.remember(outcome)
        return outcome.body

    bodies = await asyncio.gather(*(one_copy() for _ in range(3)))
    assert registry.asked == 1
    assert len(set(bodies)) == 1
