"""The broker list against the real broker, reached through two TCP proxies that stand for two nodes:
the first that answers is used, and when it goes the connection moves to the other with its
consumers, so that messages keep flowing; with no broker answering, the error names each one."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator

import aio_pika
import aio_pika.abc
import pytest
import pytest_asyncio

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
