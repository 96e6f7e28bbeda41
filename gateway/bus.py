"""The AMQP transport (PROTOCOL §2): consume `gateway.requests`, reply to `reply_to`,
dead-letter what cannot be answered.

Each request is acked only after its response is recorded (issued and not-found answers,
by the pipeline) and its reply is confirmed by the broker, or after it is confirmed on
`gateway.dead`. A crash before the ack redelivers the request, and the store replays the
same bytes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
import aio_pika.abc
import structlog

from gateway.errors import DEAD_NO_REPLY_TO, DEAD_UNROUTABLE
from gateway.intake import JOSE, XML
from gateway.metrics import Metrics
from gateway.model import Outcome
from gateway.pipeline import Pipeline

log = structlog.get_logger(__name__)


class BusIntake:
    """Consumes requests and publishes responses on one channel with publisher confirms."""

    def __init__(self, connection: aio_pika.abc.AbstractRobustConnection, pipeline: Pipeline, metrics: Metrics,
                 *, request_queue: str, dead_queue: str, prefetch: int) -> None:
        self._connection = connection
        self._pipeline = pipeline
        self._metrics = metrics
        self._request_queue = request_queue
        self._dead_queue = dead_queue
        self._prefetch = prefetch
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._queue: aio_pika.abc.AbstractQueue | None = None
        self._tag: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        await self._channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await self._channel.declare_queue(self._request_queue, durable=True)
        await self._channel.declare_queue(self._dead_queue, durable=True)
        self._tag = await self._queue.consume(self._on_message)
        log.info("bus_intake_started", queue=self._request_queue, prefetch=self._prefetch)

    async def stop(self, grace: float = 10.0) -> None:
        """Stops taking requests, lets those in flight finish within `grace` seconds."""
        if self._queue is not None and self._tag is not None:
            await self._queue.cancel(self._tag)
            self._tag = None
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    @property
    def ready(self) -> bool:
        return self._channel is not None and not self._channel.is_closed and not self._connection.is_closed

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        task = asyncio.create_task(self._process(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            if not message.reply_to:
                await self._dead_letter(message, DEAD_NO_REPLY_TO)
            else:
                outcome = await self._pipeline.handle(message.body, message.content_type,
                                                      message_id=message.message_id, transport="amqp")
                try:
                    await self._reply(message, outcome)
                except aio_pika.exceptions.DeliveryError:
                    await self._dead_letter(message, DEAD_UNROUTABLE)
            await message.ack()
        except Exception:
            # The broker or the channel failed: leave the request unacked, so it is redelivered.
            log.exception("bus_processing_failed", message_id=message.message_id)

    async def _reply(self, message: aio_pika.abc.AbstractIncomingMessage, outcome: Outcome) -> None:
        assert self._channel is not None
        headers: dict[str, Any] = {"x-status": outcome.status}
        if outcome.problem:
            headers["x-problem"] = outcome.problem
        if outcome.retry_after is not None:
            headers["x-retry-after"] = outcome.retry_after
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                outcome.body,
                content_type=JOSE if outcome.kind == "jose" else XML,
                correlation_id=message.correlation_id or message.message_id,
                message_id=outcome.response_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers=headers,
            ),
            routing_key=message.reply_to or "",
            mandatory=True,
        )

    async def _dead_letter(self, message: aio_pika.abc.AbstractIncomingMessage, reason: str) -> None:
        assert self._channel is not None
        headers = dict(message.headers or {})
        headers["x-dead-reason"] = reason
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                message.body,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                correlation_id=message.correlation_id,
                message_id=message.message_id,
                reply_to=message.reply_to,
                type=message.type,
                app_id=message.app_id,
                timestamp=message.timestamp,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers=headers,
            ),
            routing_key=self._dead_queue,
            mandatory=True,
        )
        self._metrics.dead_letters.labels(reason).inc()
        log.warning("dead_lettered", reason=reason, message_id=message.message_id)

