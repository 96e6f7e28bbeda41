"""The AMQP transport (docs/protocol.md §3): consume `gateway.requests`, reply to `reply_to`,
dead-letter what cannot be answered.

Order of work for each delivery: answer, record (the audit entry and the bytes answered,
keyed by the delivery), publish with a broker confirm, then ack. A crash anywhere before
the ack redelivers the message; a redelivered message whose answer was recorded gets the
same bytes again, so a client may see a response twice but never two different ones.
A message redelivered `max_deliveries` times without an answer (it keeps killing its
worker) is a poison message: it goes to `gateway.dead` and never loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
from collections.abc import Awaitable, Mapping
from typing import Any

import aio_pika
import aio_pika.abc
import structlog

from gateway.channels import RenewableChannel, close_channel
from gateway.metrics import Metrics
from gateway.pipeline.flow import Pipeline
from gateway.pipeline.values import AnsweredElsewhere
from gateway.protocol import JOSE, XML, DeadReason, Priority, Transport
from gateway.records import AuditEntry, Delivery, unverified
from gateway.store import Store
from gateway.transports.copies import copy_of
from gateway.transports.lanes import PriorityGate, peek_priority

log = structlog.get_logger(__name__)
RETRY_PAUSE_SECONDS = 1.0
PUBLISH_TIMEOUT_SECONDS = 10.0


def delivery_key(message: aio_pika.abc.AbstractIncomingMessage) -> str:
    """Names one published message across its redeliveries."""
    digest = hashlib.sha256()
    for part in (message.message_id or "", message.correlation_id or "", message.reply_to or ""):
        digest.update(part.encode() + b"\0")
    digest.update(message.body)
    return digest.hexdigest()


class BusIntake:
    """Consumes requests and publishes responses on one channel with publisher confirms."""

    def __init__(
        self,
        connection: aio_pika.abc.AbstractRobustConnection,
        pipeline: Pipeline,
        store: Store,
        metrics: Metrics,
        *,
        request_queue: str,
        dead_queue: str,
        prefetch: int,
        max_deliveries: int,
        bulk_queue: str,
        bulk_prefetch: int,
        max_concurrency: int,
        queue_arguments: Mapping[str, Any] | None = None,  # Settings.queue_arguments: classic or quorum
    ) -> None:
        self._queue_arguments = dict(queue_arguments) if queue_arguments else None
        self._connection = connection
        self._bulk_queue_name = bulk_queue
        self._bulk_prefetch = bulk_prefetch
        self._gate = PriorityGate(max_concurrency)
        self._lane_channel: aio_pika.abc.AbstractChannel | None = None
        self._lane_queue: aio_pika.abc.AbstractQueue | None = None
        self._lane_tag: str | None = None
        self._pipeline = pipeline
        self._store = store
        self._metrics = metrics
        self._request_queue = request_queue
        self._dead_queue = dead_queue
        self._prefetch = prefetch
        self._max_deliveries = max_deliveries
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._replies = RenewableChannel(  # responses and dead letters are published here
            lambda: self._connection.channel(publisher_confirms=True, on_return_raises=True)
        )
        self._queue: aio_pika.abc.AbstractQueue | None = None
        self._tag: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._active: dict[str, asyncio.Task[None]] = {}  # delivery key -> the task working on it

    async def start(self) -> None:
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        await self._channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await self._channel.declare_queue(
            self._request_queue, durable=True, arguments=self._queue_arguments
        )
        await self._channel.declare_queue(self._dead_queue, durable=True, arguments=self._queue_arguments)
        await self._replies.open()
        self._lane_channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        await self._lane_channel.set_qos(prefetch_count=self._bulk_prefetch)
        self._lane_queue = await self._lane_channel.declare_queue(
            self._bulk_queue_name, durable=True, arguments=self._queue_arguments
        )
        self._tag = await self._queue.consume(self._on_message)
        self._lane_tag = await self._lane_queue.consume(self._on_lane_message)
        log.info(
            "bus_intake_started", queue=self._request_queue, prefetch=self._prefetch, bulk_queue=self._bulk_queue_name
        )

    async def stop(self, grace: float = 20.0) -> None:
        """Stops taking requests and lets those in flight finish within `grace` seconds;
        what is still unfinished then stays unacked and the broker gives it to another worker."""
        if self._queue is not None and self._tag is not None:
            await self._queue.cancel(self._tag)
            self._tag = None
        if self._lane_queue is not None and self._lane_tag is not None:
            await self._lane_queue.cancel(self._lane_tag)
            self._lane_tag = None
        if self._tasks:
            log.info("draining", in_flight=len(self._tasks), grace=grace)
            await asyncio.wait(self._tasks, timeout=grace)
        for channel in (self._channel, self._lane_channel, self._replies.channel):
            await close_channel(channel)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    @property
    def ready(self) -> bool:
        return self._channel is not None and not self._channel.is_closed and not self._connection.is_closed

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        lane = peek_priority(message.body, message.content_type)
        if lane == Priority.BULK:
            self._track(asyncio.create_task(self._move_to_bulk_lane(message)))
        else:
            self._start(message, lane)

    async def _on_lane_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self._start(message, Priority.BULK)

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _move_to_bulk_lane(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        """Moves a bulk request, unchanged, to the bulk lane: published with a confirm, then acked."""
        assert self._channel is not None
        try:
            await self._confirmed(
                self._channel.default_exchange.publish(
                    copy_of(message, message.headers or {}),
                    routing_key=self._bulk_queue_name,
                    mandatory=True,
                )
            )
            await self._ack(message)
        except Exception:
            log.exception("bulk_move_failed", message_id=message.message_id)
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(message.nack(requeue=True), PUBLISH_TIMEOUT_SECONDS)

    def _start(self, message: aio_pika.abc.AbstractIncomingMessage, lane: str) -> None:
        key = delivery_key(message)
        earlier = self._active.get(key)
        task = asyncio.create_task(self._process(message, key, earlier, lane))
        self._active[key] = task
        self._track(task)
        task.add_done_callback(lambda t: self._active.pop(key, None) if self._active.get(key) is t else None)

    async def _process(
        self, message: aio_pika.abc.AbstractIncomingMessage, key: str, earlier: asyncio.Task[None] | None, lane: str
    ) -> None:
        if earlier is not None:
            # Redelivered after a reconnection while this worker still works on the first copy:
            # wait for it, so that the answer it records is the one sent again.
            await asyncio.wait([earlier])
        async with self._gate.slot(lane):
            await self._work(message, key)

    async def _work(self, message: aio_pika.abc.AbstractIncomingMessage, key: str) -> None:
        try:
            if message.redelivered and await self._settle_redelivery(message, key):
                return
            if not message.reply_to:
                await self._dead_letter(message, DeadReason.REPLY_TO_MISSING)
            else:
                outcome = await self._pipeline.handle(
                    message.body,
                    message.content_type,
                    message_id=message.message_id,
                    transport=Transport.AMQP,
                    redelivered=bool(message.redelivered),
                )
                outcome = await self._pipeline.remember(
                    outcome,
                    Delivery(
                        key=key,
                        request_id=outcome.request_id,
                        response_id=outcome.response_id,
                        body=outcome.body,
                        kind=outcome.kind,
                        status=outcome.status,
                        problem=outcome.problem,
                    ),
                )
                if message.channel.is_closed:
                    # The delivery went with its channel (a node's death, a reconnection): the broker gives
                    # the message again, maybe to another worker, and its copy gets the answer recorded here.
                    log.info("delivery_lost_to_reconnection", message_id=message.message_id)
                    return
                await self._reply_or_dead(
                    message,
                    outcome.body,
                    outcome.kind,
                    outcome.status,
                    outcome.problem,
                    outcome.response_id,
                    outcome.retry_after,
                )
            await self._ack(message)
        except AnsweredElsewhere:
            # Another worker answered this message (a copy it got before a failover): send its recorded answer.
            try:
                if await self._replay_recorded(message, key):
                    return
            except Exception:
                log.exception("bus_processing_failed", message_id=message.message_id)
            await self._hand_back(message)
        except Exception:
            # The store or the broker failed: hand the message back, after a pause, to be tried again.
            log.exception("bus_processing_failed", message_id=message.message_id)
            await self._hand_back(message)

    @staticmethod
    async def _hand_back(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        """Nacks with requeue, after a pause: the message is redelivered, to this worker or another."""
        await asyncio.sleep(RETRY_PAUSE_SECONDS)
        try:
            await asyncio.wait_for(message.nack(requeue=True), PUBLISH_TIMEOUT_SECONDS)
        except Exception:
            log.warning("nack_failed: the broker will redeliver when the channel closes")

    async def _replay_recorded(self, message: aio_pika.abc.AbstractIncomingMessage, key: str) -> bool:
        """Sends the answer recorded for this message by another worker, waiting a little for it to be
        recorded; False when none came."""
        deadline = asyncio.get_running_loop().time() + PUBLISH_TIMEOUT_SECONDS
        while (previous := await self._store.find_delivery(key)) is None:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.1)
        log.info("answered_elsewhere_replayed", message_id=message.message_id)
        await self._send_recorded(message, previous)
        return True

    async def _send_recorded(self, message: aio_pika.abc.AbstractIncomingMessage, previous: Delivery) -> None:
        """The answer recorded for this message, sent again byte for byte, then the ack."""
        await self._reply_or_dead(
            message, previous.body, previous.kind, previous.status, previous.problem, previous.response_id, None
        )
        await self._ack(message)

    async def _settle_redelivery(self, message: aio_pika.abc.AbstractIncomingMessage, key: str) -> bool:
        """True when the redelivered message is dealt with: its recorded answer sent again, or dead-lettered."""
        previous = await self._store.find_delivery(key)
        if previous is not None:
            log.info("redelivery_replayed", message_id=message.message_id)
            await self._send_recorded(message, previous)
            return True
        attempts = await self._store.count_attempt(key)
        if attempts >= self._max_deliveries:
            await self._dead_letter(message, DeadReason.POISON_MESSAGE)
            await self._ack(message)
            return True
        return False

    @staticmethod
    async def _confirmed(publishing: Awaitable[Any]) -> None:
        """A publish and its broker confirm, bounded in time: a confirm lost with the channel
        in a broker restart must fail the attempt (to be redone), never hang it."""
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):  # no task per call, unlike wait_for
            await publishing

    @staticmethod
    async def _ack(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        """Acks; when the channel it came on is gone, the broker redelivers and the recorded answer is replayed."""
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                await message.ack()
        except (
            aio_pika.exceptions.ChannelInvalidStateError,
            aio_pika.exceptions.AMQPError,
            ConnectionError,
            TimeoutError,
        ):
            log.info("ack_lost_to_reconnection", message_id=message.message_id)

    async def _reply_or_dead(
        self,
        message: aio_pika.abc.AbstractIncomingMessage,
        body: bytes,
        kind: str,
        status: str,
        problem: str | None,
        response_id: str,
        retry_after: int | None,
    ) -> None:
        assert self._replies.channel is not None
        if not message.reply_to:
            await self._dead_letter(message, DeadReason.REPLY_TO_MISSING)
            return
        headers: dict[str, Any] = {"x-status": status}
        if problem:
            headers["x-problem"] = problem
        if retry_after is not None:
            headers["x-retry-after"] = retry_after
        try:
            await self._confirmed(
                self._replies.channel.default_exchange.publish(
                    aio_pika.Message(
                        body,
                        content_type=JOSE if kind == "jose" else XML,
                        correlation_id=message.correlation_id or message.message_id,
                        message_id=response_id,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        headers=headers,
                    ),
                    routing_key=message.reply_to,
                    mandatory=True,
                )
            )
        except aio_pika.exceptions.PublishError:  # returned: no queue by that name
            await self._dead_letter(message, DeadReason.REPLY_TO_UNROUTABLE)
        except aio_pika.exceptions.DeliveryError:
            # Nacked: not a missing queue, but the broker could not take the response now (a node going
            # down, a quorum queue changing leader). The request is handed back and its redelivery sends
            # the recorded response again, on a fresh channel: one that went on nacking was seen after a
            # node's death.
            if await self._replies.renew():
                log.warning("reply_channel_renewed")
            raise

    async def _dead_letter(self, message: aio_pika.abc.AbstractIncomingMessage, reason: str) -> None:
        assert self._replies.channel is not None
        headers = dict(message.headers or {})
        headers["x-dead-reason"] = reason
        headers["x-dead-at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        await self._confirmed(
            self._replies.channel.default_exchange.publish(
                copy_of(message, headers),
                routing_key=self._dead_queue,
                mandatory=True,
            )
        )
        self._metrics.dead_letters.labels(reason).inc()
        await self._audit_dead(message, reason)
        log.warning("dead_lettered", reason=reason, message_id=message.message_id)

    async def _audit_dead(self, message: aio_pika.abc.AbstractIncomingMessage, reason: str) -> None:
        try:
            await self._store.record(
                AuditEntry(
                    at=dt.datetime.now(dt.UTC),
                    request_id=unverified(message.message_id or ""),
                    transport=Transport.AMQP,
                    status="dead",
                    problem=reason,
                    request_sha256=hashlib.sha256(message.body).hexdigest(),
                ),
                None,
            )
        except Exception:
            log.exception("audit_failed", message_id=message.message_id)
