"""The readiness check `broker_writes` against the real broker, reached through a proxy whose
connections can be cut: confirmed while the broker takes writes, not once it cannot be reached, and
confirmed again by itself when it can."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import pytest

from gateway.transports import brokers
from gateway.transports.probe import WriteProbe
from tests.faults.harness import AMQP_URL, CuttableProxy

pytestmark = pytest.mark.slow


async def test_the_probe_follows_the_broker_down_and_back() -> None:
    """True through a live broker; False with the proxy stopped (no confirm can come); True again once it
    listens anew, without a restart; the probe queue keeps one message at most."""
    proxy = CuttableProxy()
    await proxy.start()
    port = proxy.port
    url = AMQP_URL.split("@", 1)[0] + f"@127.0.0.1:{port}/"
    queue = f"test.probe.{uuid.uuid4().hex[:8]}"
    connection = await brokers.connect(url, reconnect_interval=0.2)
    probe = WriteProbe(connection, queue, {"x-queue-type": "quorum"}, timeout=1.0)
    try:
        assert await probe.probe() and await probe.probe()
        await proxy.stop()
        assert not await probe.probe()
        proxy = CuttableProxy()
        await proxy.start(port)
        for _ in range(40):
            if await probe.probe():
                break
            await asyncio.sleep(0.25)
        else:
            pytest.fail("the probe did not see the broker back")
        checker = await aio_pika.connect(AMQP_URL)
        async with checker:
            declared = await (await checker.channel()).declare_queue(queue, passive=True)
            assert declared.declaration_result.message_count == 1
    finally:
        await probe.stop()
        await connection.close()
        await proxy.stop()
        cleanup = await aio_pika.connect(AMQP_URL)
        async with cleanup:
            await (await cleanup.channel()).queue_delete(queue)
