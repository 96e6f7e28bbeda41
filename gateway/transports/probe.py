"""Whether the broker takes writes now: the readiness check `broker_writes`.

A connection can be open while the broker cannot keep a message: a RabbitMQ cluster that has lost
its majority takes publishes to quorum queues but never confirms them. Every `interval` seconds
a probe message is published, with a confirm, to a small queue of the same type as the gateway's
(`<request queue>.probe`, one message kept at most); no confirm within `timeout` seconds means the
broker does not take writes, and the worker says so on /readyz, the dashboard and /metrics until
a probe is confirmed again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import aio_pika
import aio_pika.abc
import structlog

from gateway.channels import close_channel

log = structlog.get_logger(__name__)


class WriteProbe:
    """Publishes a probe every `interval` seconds and keeps whether the last one was confirmed."""

    def __init__(
        self,
        connection: aio_pika.abc.AbstractRobustConnection,
        queue: str,
        queue_arguments: Mapping[str, Any] | None,
        *,
        interval: float = 2.0,
        timeout: float = 3.0,
    ) -> None:
        self._connection = connection
        self.queue = queue
        self._arguments = {**(queue_arguments or {}), "x-max-length": 1, "x-overflow": "drop-head"}
        self._interval = interval
        self._timeout = timeout
        self.writable = True
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._declared = False
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Probes until `stop`."""
        while not self._stopping.is_set():
            ok = await self.probe()
            if ok != self.writable:
                (log.info if ok else log.warning)("broker_writes", writable=ok, probe_queue=self.queue)
            self.writable = ok
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)

    async def probe(self) -> bool:
        """True when a probe message was confirmed within the timeout.

        Only the wait for the confirm is bounded: cutting short a channel's opening or closing
        mid-exchange would make the broker close the whole connection."""
        try:
            if self._channel is None or self._channel.is_closed:
                self._channel = await self._connection.channel(publisher_confirms=True)
            if not self._declared:
                await self._channel.declare_queue(self.queue, durable=True, arguments=self._arguments)
                self._declared = True
            message = aio_pika.Message(b"probe", delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await asyncio.wait_for(
                self._channel.default_exchange.publish(message, routing_key=self.queue), self._timeout
            )
            return True
        except aio_pika.exceptions.ChannelPreconditionFailed as exc:
            log.error("probe_queue_differs", probe_queue=self.queue, error=str(exc), hint="delete it: it holds nothing")
            await self._drop_channel()
            return False
        except (TimeoutError, aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError):
            await self._drop_channel()  # a channel with an unconfirmed publish is not reused
            return False

    async def _drop_channel(self) -> None:
        channel, self._channel = self._channel, None
        await close_channel(channel)

    async def stop(self, task: asyncio.Task[None] | None = None, grace: float = 5.0) -> None:
        """Ends the probing: lets the probe in hand finish (at most `grace` seconds), then closes its channel."""
        self._stopping.set()
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                task.cancel()
        await self._drop_channel()
