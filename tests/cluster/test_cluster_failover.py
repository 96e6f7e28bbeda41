"""The production topology on this machine: a three-node RabbitMQ cluster with quorum queues, the
PostgreSQL store, the civil registry and two gateway workers, all given the list of brokers.

The node that leads the request queue is killed with SIGKILL while a few hundred requests are in
flight: every request must still be answered (issued, or failed with a retryable code), all copies
of an answer byte-identical and sealed, and the registry asked once per request id. Then two nodes
are stopped: nothing is lost while there is no majority, and work resumes by itself when a node
returns."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from lxml import etree

from gateway.errors import BY_CODE
from gateway.signing.seal import verify_seal
from gateway.signing.trust import TrustStore
from tests.cluster.rabbit import RabbitCluster
from tests.faults.harness import Cluster, Collector
from tests.faults.test_fault_recovery import start, statuses

NS = "{urn:dz:exchange:v1}"
IN_FLIGHT = 400
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rabbit() -> Iterator[RabbitCluster]:
    """Three RabbitMQ nodes joined into one cluster, for this module only."""
    cluster = RabbitCluster()
    cluster.up()
    yield cluster
    if not os.environ.get("GATEWAY_TEST_CLUSTER_KEEP"):  # kept, with its logs, to look into a failure
        cluster.down()


def retryable(label: str) -> bool:
    """`issued`, or `failed/<code>` with a code the protocol marks retryable."""
    status, _, code = label.partition("/")
    return status == "issued" or (status == "failed" and code in BY_CODE and BY_CODE[code].retryable)


def label(body: bytes) -> str:
    root = etree.fromstring(body)
    problem = root.find(f"{NS}Problem")
    return (root.findtext(f"{NS}Status") or "?") + ("/" + (problem.get("code") or "") if problem is not None else "")


def assert_answered_once(processes: Cluster, client: Collector, ids: set[str]) -> None:
    """Every request answered; every copy of one message's answer the same bytes, the registry asked once.

    A request the client published again (its first publish unconfirmed when a node died) is a second
    message: as for any retry, the gateway may answer it anew after a retryable failure, but never with
    two different documents."""
    missing = ids - set(client.copies) - set(client.dead)
    assert not missing, f"{len(missing)} requests never answered"
    for rid, copies in client.copies.items():
        if rid in client.resent:
            issued = {c for c in copies if label(c) == "issued"}
            assert len(issued) <= 1 and all(retryable(label(c)) for c in copies), [label(c) for c in copies]
        else:
            assert all(c == copies[0] for c in copies), f"copies of {rid} differ: {[label(c) for c in copies]}"
    twice = {rid: n for rid, n in processes.provider_queries().items() if n > 1 and rid not in client.resent}
    assert not twice, f"provider asked more than once for {len(twice)} request ids"


async def first_answer_after(client: Collector, moment: float, timeout: float = 120) -> float:
    """Seconds from `moment` to the first answer that arrived after it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        later = [at for at in client.answered_at.values() if at > moment]
        if later:
            return min(later) - moment
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no answer within {timeout} s of the kill")


async def test_killing_the_leader_of_the_request_queue_loses_nothing(
    rabbit: RabbitCluster, tmp_path: Path, postgres_dsn: str
) -> None:
    """SIGKILL of the node leading the request queue with 400 requests in flight: each request answered,
    issued or failed-retryable; copies identical and sealed; the registry asked once per request id."""
    processes = Cluster(tmp_path, amqp_url=rabbit.urls)
    processes.store_env = {"GATEWAY_STORE": "postgresql", "GATEWAY_STORE_DSN": postgres_dsn}
    toml = processes.config / "gateway.toml"
    toml.write_text(toml.read_text().replace('queue_type = "classic"', 'queue_type = "quorum"'))
    client = Collector(rabbit.urls, {"x-queue-type": "quorum"})
    try:
        await start(processes, 2)
        await client.open()
        leader = rabbit.leader_of(processes.requests)
        partner_leader = rabbit.leader_of(processes.partner)
        requests = processes.requests_to_send(IN_FLIGHT)
        sending = asyncio.create_task(client.send(processes.requests, requests))
        while len(client.copies) < IN_FLIGHT // 8:
            await asyncio.sleep(0.01)
        killed_at, answered_before = time.monotonic(), len(client.copies)
        leader.kill()
        to_next = await first_answer_after(client, killed_at)
        await sending
        await client.wait_for({rid for rid, _ in requests}, processes.dead, timeout=240)
        also = " and of the registry's query queue" if partner_leader is leader else ""
        print(
            f"killed {leader.name} (leader of the request queue{also}) with {answered_before} of {IN_FLIGHT} "
            "answered; "
            f"next answer {to_next:.2f} s after the kill; "
            f"{len(client.resent)} publishes resent; statuses {statuses(client)}"
        )
        assert_answered_once(processes, client, {rid for rid, _ in requests})
        trust = TrustStore.from_pem_file(processes.home / "pki" / "ca.pem")
        for copies in client.copies.values():
            root = etree.fromstring(copies[0])
            assert root.findtext(f"{NS}Status") in ("issued", "failed")
            assert verify_seal(copies[0], trust).signer.participant == "dz.exchange.gateway"
    finally:
        await client.close()
        processes.stop()
        await processes.delete_queues()


async def readiness(port: int) -> dict[str, bool]:
    """The checks of a worker's /readyz (empty when it does not answer)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(f"http://127.0.0.1:{port}/readyz") as response,
        ):
            checks: dict[str, bool] = (await response.json())["checks"]
            return checks
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
        return {}


async def until(predicate: Callable[[], Awaitable[bool]], seconds: float, what: str) -> float:
    """Seconds until `predicate` holds; fails naming `what` after `seconds`."""
    started = time.monotonic()
    while not await predicate():
        assert time.monotonic() - started < seconds, f"{what} not seen within {seconds} s"
        await asyncio.sleep(0.5)
    return time.monotonic() - started


async def test_without_a_majority_nothing_is_lost_and_work_resumes_by_itself(
    rabbit: RabbitCluster, tmp_path: Path, postgres_dsn: str
) -> None:
    """Two of the three nodes stopped: both workers say on /readyz that the broker takes no writes, and no
    request is answered; one node back: they say ready again and every request sent meanwhile is answered."""
    for node in rabbit.nodes:
        if not node.alive():
            node.start()
    processes = Cluster(tmp_path, amqp_url=rabbit.urls)
    processes.store_env = {"GATEWAY_STORE": "postgresql", "GATEWAY_STORE_DSN": postgres_dsn}
    toml = processes.config / "gateway.toml"
    toml.write_text(toml.read_text().replace('queue_type = "classic"', 'queue_type = "quorum"'))
    client = Collector(rabbit.urls, {"x-queue-type": "quorum"})
    stopped = rabbit.nodes[1:]
    try:
        await start(processes, 2)
        await client.open()
        warm = processes.requests_to_send(20)
        await client.send(processes.requests, warm)
        await client.wait_for({rid for rid, _ in warm}, processes.dead, timeout=60)

        for node in stopped:
            await asyncio.to_thread(node.stop)

        async def none_writable() -> bool:
            checks = [await readiness(port) for port in processes.ports]
            return all(c.get("broker_writes") is False for c in checks)

        said_in = await until(none_writable, 60, "broker_writes false on both workers")
        answered_before = len(client.copies)
        held = processes.requests_to_send(50)
        sending = asyncio.create_task(client.send(processes.requests, held))
        await asyncio.sleep(10)
        assert len(client.copies) == answered_before, "requests answered while the cluster had no majority"

        back_at = time.monotonic()
        await asyncio.to_thread(stopped[0].start)

        async def all_ready() -> bool:
            checks = [await readiness(port) for port in processes.ports]
            return all(c and all(c.values()) for c in checks)

        ready_in = await until(all_ready, 120, "both workers ready again")
        await sending
        await client.wait_for({rid for rid, _ in held}, processes.dead, timeout=180)
        print(
            f"no majority: said by both workers in {said_in:.1f} s; a node started again: both workers ready "
            f"{ready_in:.1f} s after it answered, the first held request answered "
            f"{min(client.answered_at[rid] for rid, _ in held) - back_at:.1f} s after its start command; "
            f"{len(client.resent)} publishes resent; statuses {statuses(client)}"
        )
        assert_answered_once(processes, client, {rid for rid, _ in [*warm, *held]})
        assert not client.dead, client.dead
    finally:
        await client.close()
        processes.stop()
        await processes.delete_queues()
        for node in rabbit.nodes:
            if not node.alive():
                node.start()
