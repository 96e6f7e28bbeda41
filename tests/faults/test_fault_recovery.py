"""Real faults against real processes: several workers, a worker killed with SIGKILL in the
middle of a burst, SIGTERM, a message that keeps killing its worker, and the TCP connection
to the broker cut. Every request must end answered (all copies byte-identical) or on the
dead queue with a reason, and no request id may make the provider answer twice."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time

import pytest
from lxml import etree

from tests.faults.harness import Cluster, Collector, CuttableProxy

NS = "{urn:dz:exchange:v1}"
pytestmark = pytest.mark.slow


def statuses(client: Collector) -> dict[str, int]:
    out: dict[str, int] = {}
    for copies in client.copies.values():
        root = etree.fromstring(copies[0])
        problem = root.find(f"{NS}Problem")
        label = root.findtext(f"{NS}Status") or "?"
        if problem is not None:
            label += "/" + (problem.get("code") or "")
        out[label] = out.get(label, 0) + 1
    return out


def assert_nothing_lost(cluster: Cluster, client: Collector, ids: set[str]) -> None:
    missing = ids - set(client.copies) - set(client.dead)
    assert not missing, f"{len(missing)} requests never answered"
    for rid, copies in client.copies.items():
        assert all(c == copies[0] for c in copies), f"copies of {rid} differ"
    asked = cluster.provider_queries()
    twice = {rid: n for rid, n in asked.items() if n > 1}
    assert not twice, f"provider asked more than once for {len(twice)} request ids"


async def start(cluster: Cluster, workers: int, amqp_url: str | None = None) -> None:
    cluster.start_registry()
    for _ in range(workers):
        cluster.start_worker(amqp_url)
    await cluster.wait_consumers(cluster.partner)
    await cluster.wait_consumers(cluster.requests, workers)


async def until_answers(client: Collector, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(client.copies) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_three_workers_answer_a_burst_exactly_once(
    cluster: Cluster, client: Collector, postgres_dsn: str, store: str
) -> None:
    """Three workers (sharing one SQLite file, or one PostgreSQL), 1,000 requests: each answered
    exactly once, and one provider query per request."""
    if store == "postgresql":
        cluster.store_env = {"GATEWAY_STORE": "postgresql", "GATEWAY_STORE_DSN": postgres_dsn}
    await start(cluster, 3)
    requests = cluster.requests_to_send(1000)
    await client.send(cluster.requests, requests)
    await client.wait_for({rid for rid, _ in requests}, cluster.dead, timeout=180)
    assert_nothing_lost(cluster, client, {rid for rid, _ in requests})
    assert all(len(c) == 1 for c in client.copies.values()) and not client.dead
    assert sum(cluster.provider_queries().values()) == 1000
    assert set(statuses(client)) == {"issued"}


async def test_registry_killed_mid_burst_loses_nothing(cluster: Cluster, client: Collector) -> None:
    """The civil registry is killed with SIGKILL mid-burst and restarted: every request is still answered."""
    await start(cluster, 1)
    requests = cluster.requests_to_send(500)
    await client.send(cluster.requests, requests)
    await until_answers(client, 150)
    assert cluster.registry is not None
    cluster.registry.send_signal(signal.SIGKILL)
    cluster.registry.wait(10)
    await asyncio.sleep(1)
    cluster.start_registry()
    await client.wait_for({rid for rid, _ in requests}, cluster.dead, timeout=120)
    assert_nothing_lost(cluster, client, {rid for rid, _ in requests})
    print("after the registry's SIGKILL:", statuses(client))


async def test_sigkill_of_a_worker_mid_burst_loses_nothing(cluster: Cluster, client: Collector) -> None:
    """Three workers, 1,000 requests, one killed with SIGKILL after 300 answers: nothing lost or asked twice."""
    await start(cluster, 3)
    requests = cluster.requests_to_send(1000)
    sending = asyncio.create_task(client.send(cluster.requests, requests))
    await until_answers(client, 300)
    cluster.workers[0].send_signal(signal.SIGKILL)
    await sending
    await client.wait_for({rid for rid, _ in requests}, cluster.dead, timeout=180)
    assert_nothing_lost(cluster, client, {rid for rid, _ in requests})
    print(
        "after SIGKILL:",
        statuses(client),
        "duplicate copies:",
        sum(len(c) - 1 for c in client.copies.values()),
        "dead:",
        len(client.dead),
        "answers recovered from the killed worker:",
        cluster.worker_events("answer_recovered"),
    )


async def test_sigterm_drains_in_flight_work_and_exits_0(cluster: Cluster, client: Collector) -> None:
    """SIGTERM: the worker stops taking requests, finishes those in flight, exits 0; a new worker does the rest."""
    await start(cluster, 1)
    requests = cluster.requests_to_send(400)
    await client.send(cluster.requests, requests)
    await until_answers(client, 100)
    cluster.workers[0].send_signal(signal.SIGTERM)
    assert cluster.workers[0].wait(60) == 0
    cluster.start_worker()
    await client.wait_for({rid for rid, _ in requests}, cluster.dead, timeout=120)
    assert_nothing_lost(cluster, client, {rid for rid, _ in requests})
    assert all(len(c) == 1 for c in client.copies.values()), "a drained request was answered twice"


async def test_a_message_that_keeps_killing_its_worker_is_dead_lettered(cluster: Cluster, client: Collector) -> None:
    """A request whose worker dies on it every time is dead-lettered as poison_message after max_deliveries."""
    toml = cluster.config / "gateway.toml"
    toml.write_text(toml.read_text().replace("max_deliveries = 5", "max_deliveries = 3"))
    requests = cluster.requests_to_send(1)  # no registry runs: the worker waits on the provider
    await client.send(cluster.requests, requests)
    for _ in range(6):
        worker = cluster.start_worker()
        await cluster.wait_ready()
        await asyncio.sleep(1.0)  # the redelivered request reaches the worker, which waits on the provider
        await client.collect_dead(cluster.dead)
        if client.dead:
            break
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    assert client.dead == {requests[0][0]: "poison_message"}
    assert not client.copies


async def test_cut_broker_connection_mid_burst_loses_nothing(cluster: Cluster, client: Collector) -> None:
    """The worker's TCP connection to the broker is cut mid-burst: it reconnects, and nothing is lost."""
    proxy = CuttableProxy()
    await proxy.start()
    try:
        await start(cluster, 1, amqp_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/")
        requests = cluster.requests_to_send(500)
        sending = asyncio.create_task(client.send(cluster.requests, requests))
        await until_answers(client, 150)
        assert proxy.cut() > 0
        cut_at = time.monotonic()
        await sending
        await client.wait_for({rid for rid, _ in requests}, cluster.dead, timeout=180)
        assert_nothing_lost(cluster, client, {rid for rid, _ in requests})
        print("after the cut:", statuses(client), f"recovered in {time.monotonic() - cut_at:.1f} s")
    finally:
        await proxy.stop()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs the local broker's rabbitmqctl")
async def test_broker_restart_mid_burst_loses_nothing(cluster: Cluster, client: Collector) -> None:
    """RabbitMQ restarted mid-burst: durable queues keep the requests, every one is answered after it returns."""
    await start(cluster, 1)
    requests = cluster.requests_to_send(500)
    await client.send(cluster.requests, requests)
    await until_answers(client, 150)
    stopped_at = time.monotonic()
    rabbitmqctl("stop_app")
    try:
        await asyncio.sleep(2)
    finally:
        rabbitmqctl("start_app")
    answered_before = len(client.copies)
    deadline = time.monotonic() + 120
    while len(client.copies) <= answered_before and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    recovered = time.monotonic() - stopped_at
    await client.wait_for({rid for rid, _ in requests}, cluster.dead, timeout=180)
    assert_nothing_lost(cluster, client, {rid for rid, _ in requests})
    print("after the broker restart:", statuses(client), f"answers resumed {recovered:.1f} s after the stop")


async def test_urgent_requests_overtake_a_bulk_flood(cluster: Cluster, client: Collector) -> None:
    """Urgent requests sent during a flood of 3,000 bulk ones are answered in a small part of the flood's time."""
    await start(cluster, 1)
    bulk = cluster.requests_to_send(3000, "bulk")
    urgent = cluster.requests_to_send(20, "urgent")
    flood_started = time.monotonic()
    flooding = asyncio.create_task(client.send(cluster.requests, bulk))
    for i in range(len(urgent)):
        await asyncio.sleep(0.15)
        await client.send(cluster.requests, urgent[i : i + 1])
    await flooding
    await client.wait_for({rid for rid, _ in urgent}, cluster.dead, timeout=60)
    latencies = sorted(client.answered_at[rid] - client.sent_at[rid] for rid, _ in urgent)
    await client.wait_for({rid for rid, _ in bulk}, cluster.dead, timeout=300)
    flood_seconds = max(client.answered_at[rid] for rid, _ in bulk) - flood_started
    assert_nothing_lost(cluster, client, {rid for rid, _ in [*bulk, *urgent]})
    print(
        f"urgent under a bulk flood: p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms; the 3,000 bulk took {flood_seconds:.1f} s"
    )
    assert latencies[-1] < flood_seconds / 4


async def test_quorum_queues_serve_the_same_protocol(cluster: Cluster, client: Collector) -> None:
    """With queue_type = "quorum" (the production setting) requests, lanes and dead letters work alike, and
    every queue the gateway and its partner declare is a quorum queue: requests, lane, dead letters, the
    partner's queue and the worker's reply queue."""
    toml = cluster.config / "gateway.toml"
    toml.write_text(toml.read_text().replace('queue_type = "classic"', 'queue_type = "quorum"'))
    await start(cluster, 1)
    requests = [*cluster.requests_to_send(20), *cluster.requests_to_send(20, "bulk")]
    await client.send(cluster.requests, requests)
    await client.wait_for({rid for rid, _ in requests}, cluster.dead, timeout=60)
    assert_nothing_lost(cluster, client, {rid for rid, _ in requests})
    assert set(statuses(client)) == {"issued"} and len(client.copies) == 40
    types = cluster.queue_types()
    assert {cluster.requests, cluster.bulk, cluster.dead, cluster.partner} <= set(types)
    assert any(name.startswith("gateway.replies.") for name in types), types
    assert set(types.values()) == {"quorum"}, types
