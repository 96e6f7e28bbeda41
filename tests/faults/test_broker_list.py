"""The broker list against the real broker, reached through two TCP proxies that stand for two nodes:
the first that answers is used, and when it goes the connection moves to the other with its
consumers, so that messages keep flowing; with no broker answering, the error names each one."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import MappingProxyType

import aio_pika
import aio_pika.abc
import pytest
import pytest_asyncio

from gateway.adapters.base import AdapterContext, ProviderQuery
from gateway.adapters.bus import BusAdapter, reply_queue
from gateway.config import ConfigError, Provider
from gateway.errors import BrokerLinkDown, ProviderTimeout
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import ensure_development_pki, load_identity
from gateway.signing.trust import TrustStore
from gateway.transports import brokers
from tests.faults.harness import AMQP_URL, CuttableProxy

pytestmark = pytest.mark.slow


def through(proxy: CuttableProxy) -> str:
    """AMQP_URL with its host and port replaced by the proxy's."""
    credentials = AMQP_URL.split("//", 1)[1].split("@", 1)[0]
    return f"amqp://{credentials}@127.0.0.1:{proxy.port}/"


def refused_url() -> str:
    """An AMQP URL on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"amqp://guest:guest@127.0.0.1:{port}/"


@pytest_asyncio.fixture
async def nodes() -> AsyncIterator[tuple[CuttableProxy, CuttableProxy]]:
    first, second = CuttableProxy(), CuttableProxy()
    await first.start()
    await second.start()
    yield first, second
    await first.stop()
    await second.stop()


async def test_the_first_broker_that_answers_is_used() -> None:
    """A first broker that refuses the connection is passed over for the next."""
    connection = await brokers.connect([refused_url(), AMQP_URL], reconnect_interval=0.2)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("", exclusive=True)
        assert queue.name


async def test_with_no_broker_answering_the_error_names_each() -> None:
    """None answers: ConnectionError, naming both brokers tried, passwords hidden."""
    first, second = refused_url(), refused_url().replace("guest:guest", "gw:s3cret")
    with pytest.raises(ConnectionError, match="no broker answers") as caught:
        await brokers.connect([first, second], reconnect_interval=0.2)
    text = str(caught.value)
    assert first.rsplit(":", 1)[1].rstrip("/") in text and second.rsplit(":", 1)[1].rstrip("/") in text
    assert "s3cret" not in text


async def test_when_the_broker_in_use_goes_consumers_move_to_the_next(
    nodes: tuple[CuttableProxy, CuttableProxy],
) -> None:
    """The node in use stops (its connections cut, nothing listening): the connection is made again through
    the other node, the consumer is restored there, and a message published afterwards is received."""
    first, second = nodes
    queue_name = f"test.brokers.{uuid.uuid4().hex[:8]}"
    received: asyncio.Queue[bytes] = asyncio.Queue()
    connection = await brokers.connect([through(first), through(second)], reconnect_interval=0.2)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            received.put_nowait(message.body)

        await queue.consume(on_message, no_ack=True)
        assert isinstance(connection, brokers.BrokerList) and f":{first.port}/" in connection.broker
        await first.stop()  # the node goes: its connections cut, new ones refused
        publisher = await aio_pika.connect(AMQP_URL)
        async with publisher:
            sender = await publisher.channel()
            for _ in range(100):  # until the consumer is back on the other node
                await sender.default_exchange.publish(aio_pika.Message(b"after"), routing_key=queue_name)
                with contextlib.suppress(TimeoutError):
                    assert await asyncio.wait_for(received.get(), 0.2) == b"after"
                    break
            else:
                pytest.fail("no message received after the broker in use went")
        assert f":{second.port}/" in connection.broker
    finally:
        await connection.close()
        cleanup = await aio_pika.connect(AMQP_URL)
        async with cleanup:
            await (await cleanup.channel()).queue_delete(queue_name)


async def test_a_query_that_outlives_a_reconnection_is_not_held_against_the_partner(
    tmp_path: Path, nodes: tuple[CuttableProxy, CuttableProxy]
) -> None:
    """A bus query unanswered in time is provider_timeout, which circuit breakers count; when the gateway's
    own link to the broker was made again meanwhile (a node's death), it is BrokerLinkDown, which they don't."""
    first, second = nodes
    ensure_development_pki(tmp_path, ["dz.exchange.gateway", "dz.test.partner"])
    key, chain = load_identity(tmp_path / "dz.exchange.gateway")
    trust = TrustStore.from_pem_file(tmp_path / "ca.pem")
    queue = f"test.brokers.{uuid.uuid4().hex[:8]}"  # nobody consumes it: every query times out
    connection = await brokers.connect([through(first), through(second)], reconnect_interval=0.2)
    context = AdapterContext(connection, JWSSigner(key, chain), trust, "dz.exchange.gateway", tmp_path, "w1")
    adapter = BusAdapter(Provider("dz.test.partner", "bus", MappingProxyType({"queue": queue})), context)
    await adapter.start()
    ask = ProviderQuery(str(uuid.uuid4()), str(uuid.uuid4()), "pension-status", "p", "dz.cnas", "NIN", "1" * 18)
    try:
        with pytest.raises(ProviderTimeout) as plain:
            await adapter.fetch(ask, 0.5)
        assert not isinstance(plain.value, BrokerLinkDown)
        asking = asyncio.create_task(adapter.fetch(ask, 2.0))
        await asyncio.sleep(0.3)
        await first.stop()  # the node in use goes; the link is made again through the other
        with pytest.raises(BrokerLinkDown) as across:
            await asking
        assert across.value.code == "provider_unavailable"
    finally:
        await adapter.close()
        await connection.close()
        cleanup = await aio_pika.connect(AMQP_URL)
        async with cleanup:
            channel = await cleanup.channel()
            await channel.queue_delete(queue)
            await channel.queue_delete(reply_queue("dz.test.partner", "w1"))


async def test_a_partner_queue_of_the_other_type_stops_the_adapter_with_a_clear_error(tmp_path: Path) -> None:
    """With queue_type quorum, a partner queue that exists as a classic one is a configuration error
    naming the queue, not a broker error in the middle of the worker's start."""
    ensure_development_pki(tmp_path, ["dz.exchange.gateway"])
    key, chain = load_identity(tmp_path / "dz.exchange.gateway")
    queue = f"test.brokers.{uuid.uuid4().hex[:8]}"
    connection = await brokers.connect(AMQP_URL)
    try:
        await (await connection.channel()).declare_queue(queue, durable=True)
        context = AdapterContext(connection, JWSSigner(key, chain), TrustStore.from_pem_file(tmp_path / "ca.pem"),
                                 "dz.exchange.gateway", tmp_path, "w2", {"x-queue-type": "quorum"})  # fmt: skip
        adapter = BusAdapter(Provider("dz.test.partner", "bus", MappingProxyType({"queue": queue})), context)
        with pytest.raises(ConfigError, match=f"the queue {queue} exists with other arguments"):
            await adapter.start()
    finally:
        await (await connection.channel()).queue_delete(queue)
        await connection.close()
