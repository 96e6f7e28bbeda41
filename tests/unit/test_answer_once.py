"""Answering once: within one worker, a copy of a request that arrives while an earlier copy's
answer is still being written waits for it, instead of asking the provider again; across
workers, one request id is never answered with two different documents."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest_asyncio

from gateway import config as config_module
from gateway.adapters.base import ProviderAnswer, ProviderQuery
from gateway.errors import BrokerLinkDown
from gateway.metrics import Metrics
from gateway.pipeline.attest import Attester
from gateway.pipeline.flow import Pipeline
from gateway.protocol import Transport
from gateway.records import AuditEntry, Completion, Delivery, Journey, StoredResponse
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
    ) -> StoredResponse | None:
        await asyncio.sleep(0.2)
        return await super().record(audit, delivery, journey, completion)


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


class LeaseLostRegistry(CountingRegistry):
    """A registry so slow to answer worker A that A's lease runs out: while A waits, the lease is
    gone and worker B answers another copy of the request in full."""

    def __init__(self, store: SQLiteStore, owner: str, meanwhile: Callable[[], Awaitable[bytes]]) -> None:
        super().__init__()
        self.store, self.owner, self.meanwhile = store, owner, meanwhile
        self.other: bytes = b""

    async def fetch(self, query: ProviderQuery, timeout: float) -> ProviderAnswer:
        await self.store.release_lease(query.request_id, self.owner)  # as when it expires
        self.other = await self.meanwhile()
        return await super().fetch(query, timeout)


def pipeline_on(config: config_module.Config, store: SQLiteStore, registry: CountingRegistry) -> Pipeline:
    """A worker's pipeline on `store`, asking `registry`."""
    return Pipeline(
        config,
        TrustStore([CA.cert]),
        store,
        {registry.provider: registry},
        Attester(Sealer(GATEWAY.key, [GATEWAY.cert]), "http://x"),
        Metrics(config.catalogue),
        b"k" * 32,
    )


@pytest_asyncio.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Pipeline, CountingRegistry]]:
    config = config_module.load()
    store = SlowRecords(tmp_path / "store.sqlite3")
    await store.open()
    registry = CountingRegistry()
    yield pipeline_on(config, store, registry), registry
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


def two_workers(
    config: config_module.Config, store: SQLiteStore, copy_for_b: bytes
) -> tuple[Pipeline, LeaseLostRegistry]:
    """Worker A, whose lease runs out while it asks the registry, and its registry; meanwhile worker B
    answers `copy_for_b` in full."""
    b = pipeline_on(config, store, CountingRegistry())

    async def b_answers() -> bytes:
        outcome = await b.handle(copy_for_b, "application/xml", transport=Transport.HTTP)
        return (await b.remember(outcome)).body

    slow = LeaseLostRegistry(store, "", b_answers)
    a = pipeline_on(config, store, slow)
    slow.owner = a.owner
    return a, slow


async def test_a_worker_whose_lease_ran_out_sends_the_document_another_worker_remembered(tmp_path: Path) -> None:
    """Worker A's lease runs out while it asks the registry and worker B answers a copy in full: A's
    document comes second, so A sends B's, byte for byte, and only B's attestation is kept."""
    config = config_module.load()
    store = SQLiteStore(tmp_path / "store.sqlite3")
    await store.open()
    try:
        _, body = signed_xml(CNAS)
        a, slow = two_workers(config, store, body)
        made = await a.handle(body, "application/xml", transport=Transport.HTTP)
        sent = await a.remember(made)
        assert slow.asked == 1 and slow.other
        assert made.body != slow.other
        assert sent.body == slow.other and sent.status == "issued" and sent.replayed
        kept = await store.find_response(made.request_id)
        assert kept is not None and kept.body == slow.other
        assert made.completion is not None and made.completion.attestation is not None
        assert await store.find_attestation(made.completion.attestation.attestation_id) is None
    finally:
        await store.close()


async def test_a_worker_whose_lease_ran_out_refuses_a_copy_with_other_content_and_journals_it(
    tmp_path: Path,
) -> None:
    """Worker A's lease runs out and worker B answers other signed content under the same request id: A
    sends duplicate_conflict, journals it after the document it dropped, and a redelivery of A's message
    gets that refusal again."""
    config = config_module.load()
    store = SQLiteStore(tmp_path / "store.sqlite3")
    await store.open()
    try:
        rid, mine = signed_xml(CNAS)
        _, other = signed_xml(CNAS, requestId=rid, agency="CNAS-31-001")
        a, _ = two_workers(config, store, other)
        made = await a.handle(mine, "application/xml", transport=Transport.AMQP)
        delivery = Delivery(
            key="message-key",
            request_id=rid,
            response_id=made.response_id,
            body=made.body,
            kind=made.kind,
            status=made.status,
            problem=made.problem,
        )
        sent = await a.remember(made, delivery)
        assert (sent.status, sent.problem, sent.http_status) == ("refused", "duplicate_conflict", 409)
        assert b"duplicate_conflict" in sent.body
        again = await store.find_delivery("message-key")
        assert again is not None and (again.body, again.problem) == (sent.body, "duplicate_conflict")
        journaled = [(e.status, e.problem) for e in await store.audit_entries(rid)]
        assert journaled == [("issued", None), ("issued", None), ("refused", "duplicate_conflict")]
    finally:
        await store.close()


class RegistryOfAStoppedWorker(CountingRegistry):
    """A bus registry whose broker first cannot say whether the worker holding the lease lives, then says it
    lives; it never has answers left for anyone."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    async def orphaned_answers(self, worker: str) -> tuple[bool, list[tuple[str, bytes]]]:
        self.checks += 1
        if self.checks == 1:
            raise BrokerLinkDown("dz.interieur.etat-civil: the broker cannot say now whether worker w lives")
        return True, []


async def test_a_broker_that_cannot_say_whether_the_lease_holder_lives_is_asked_again(tmp_path: Path) -> None:
    """A redelivered request finds another worker's lease while the broker link is being made again: the
    worker asks again whether that one lives instead of failing at once, and never asks the registry."""
    store = SQLiteStore(tmp_path / "store.sqlite3")
    await store.open()
    try:
        registry = RegistryOfAStoppedWorker()
        pipeline = pipeline_on(config_module.load(), store, registry)
        rid, body = signed_xml(CNAS)
        await store.acquire_lease(rid, "stopped-worker", 0.3)
        outcome = await pipeline.handle(body, "application/xml", transport=Transport.AMQP, redelivered=True)
        assert (outcome.status, outcome.problem) == ("failed", "provider_timeout")
        assert registry.checks >= 2 and registry.asked == 0
    finally:
        await store.close()
