"""Dead letters for operators (docs/protocol.md §3): see what waits in `gateway.dead`, replay one or
all of it to `gateway.requests`, purge what was seen.

Browsing takes nothing away: each message is fetched with basic.get and no auto-ack, then
all are handed back (basic.nack, requeue) one by one in the order they came. A classic queue
puts each back where it was. A quorum queue with a delivery limit (the default from RabbitMQ
4.0) returns them ahead of the rest, in that order; one without (RabbitMQ 3's default) appends
them at the tail, so there a browse of part of the queue rotates it (a browse of all of it
keeps the order). No message is lost in any case, and a replay names its message by key, not
by position. Caution: before RabbitMQ 4.3, a quorum queue counts every hand-back against its
delivery limit and drops a message past it, so there a dead queue should have no limit.

A replay publishes to the request queue with a broker confirm and only then acks the dead
copy: a failure at any point leaves the message in the dead queue, at worst in both queues,
which the gateway answers with the same bytes (check 8).

Bodies carry personal identifiers: a `DeadLetter` shows a fingerprint of the body, never the
body, and nothing here logs a body.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import aio_pika
import aio_pika.abc
import aio_pika.exceptions
import structlog

from gateway.channels import close_channel
from gateway.transports.amqp import PUBLISH_TIMEOUT_SECONDS, delivery_key
from gateway.transports.copies import copy_of

log = structlog.get_logger(__name__)
T = TypeVar("T")

REASON_HEADER = "x-dead-reason"
DEAD_AT_HEADER = "x-dead-at"  # when the gateway dead-lettered it (ISO 8601, UTC)
REPLAYED_HEADER = "x-replayed-from-dead"
#: Set by a quorum queue on each delivery; a replay is a new message, not a redelivery.
_BROKER_COUNTERS = ("x-delivery-count", "x-acquired-count")
SETTLE_SECONDS = 2.0  # at most, for a quorum queue to count the messages handed back
_BROKER_ERRORS = (
    aio_pika.exceptions.AMQPError,
    aio_pika.exceptions.ChannelInvalidStateError,
    ConnectionError,
    TimeoutError,
)


class DeadLetterError(Exception):
    """The broker failed an operation on the dead-letter queue; no message was lost."""


class PurgeMismatch(Exception):
    """The dead-letter queue does not hold the number of messages the operator confirmed."""

    def __init__(self, queue: str, expected: int, actual: int) -> None:
        super().__init__(
            f"{queue} holds {actual} message(s), not the {expected} confirmed: nothing was purged; "
            f"browse again and confirm the new count"
        )
        self.queue = queue
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class DeadLetter:
    """What an operator sees of one dead message: its envelope and a fingerprint, never its body."""

    position: int  # 0-based, in the queue when browsed
    key: str  # sha256 of (message_id, correlation_id, reply_to, body): `bus.delivery_key`; names it for replay
    message_id: str | None
    correlation_id: str | None
    reply_to: str | None
    content_type: str | None
    reason: str | None  # the `x-dead-reason` header
    dead_at: dt.datetime | None  # when it was dead-lettered (x-dead-at), else the message's timestamp
    size: int  # body bytes
    fingerprint: str  # first 12 hex digits of the body's sha256

    @classmethod
    def of(cls, position: int, message: aio_pika.abc.AbstractIncomingMessage) -> DeadLetter:
        return cls(
            position=position,
            key=delivery_key(message),
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            reply_to=message.reply_to,
            content_type=message.content_type,
            reason=_reason(message),
            dead_at=_dead_at(message),
            size=len(message.body),
            fingerprint=hashlib.sha256(message.body).hexdigest()[:12],
        )


def _reason(message: aio_pika.abc.AbstractIncomingMessage) -> str | None:
    value = (message.headers or {}).get(REASON_HEADER)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None else str(value)


def _dead_at(message: aio_pika.abc.AbstractIncomingMessage) -> dt.datetime | None:
    value = (message.headers or {}).get(DEAD_AT_HEADER)
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    return message.timestamp


async def _bounded(operation: Awaitable[T]) -> T:
    """One broker round trip, bounded in time: a channel lost mid-way fails the operation, never hangs it."""
    return await asyncio.wait_for(operation, PUBLISH_TIMEOUT_SECONDS)


def _describe(exc: BaseException) -> str:
    # Never repr() a DeliveryError: its args hold the returned message, body included.
    if isinstance(exc, TimeoutError):
        return f"no answer from the broker within {PUBLISH_TIMEOUT_SECONDS:g} s"
    return f"{type(exc).__name__}: {exc}"


class DeadLetters:
    """Browse, replay and purge one dead-letter queue, on the given (robust) connection.

    One operation runs at a time on an instance: concurrent gets on the same queue would
    interleave. Keep one instance per process (the runtime's) for the lock to mean that.
    """

    def __init__(
        self,
        connection: aio_pika.abc.AbstractRobustConnection,
        dead_queue: str,
        request_queue: str,
        queue_arguments: dict[str, Any] | None = None,
    ) -> None:
        self._connection = connection
        self._dead_queue = dead_queue
        self._request_queue = request_queue
        self._queue_arguments = queue_arguments
        self._lock = asyncio.Lock()

    async def browse(self, limit: int = 100) -> tuple[list[DeadLetter], int]:
        """The first `limit` dead letters, in queue order, and how many the queue holds; all stay in the queue."""
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        letters: list[DeadLetter] = []
        async with self._session("browse", confirms=False) as (queue, count):
            taken: list[int] = []
            try:
                while len(letters) < limit and (message := await _get(queue)) is not None:
                    taken.append(_tag(message))
                    letters.append(DeadLetter.of(len(letters), message))
            finally:
                await _hand_back(queue, taken, count)
        total = max(count, len(letters))
        log.info("dead_letters_browsed", queue=self._dead_queue, shown=len(letters), total=total)
        return letters, total

    async def replay(self, key: str | None) -> int:
        """Replays the dead letter named `key`, or all of them when `key` is None, to the request queue;
        returns how many were replayed (0 when no message has that key). Others stay in the dead queue.

        Only the messages present when the replay starts are looked at, so a replayed request that
        dies again (its reply queue still missing) is not replayed twice by the same call.
        """
        replayed = 0
        async with self._session("replay", confirms=True) as (queue, count):
            held: list[int] = []  # taken and not acked: handed back at the end, in order
            try:
                for _ in range(count):
                    message = await _get(queue)
                    if message is None:
                        break
                    held.append(_tag(message))
                    if key is not None and delivery_key(message) != key:
                        continue
                    await self._forward(queue.channel, message, replayed)
                    await self._ack(message, replayed)
                    held.pop()
                    replayed += 1
                    log.info(
                        "dead_letter_replayed",
                        queue=self._dead_queue,
                        to=self._request_queue,
                        message_id=message.message_id,
                        reason=_reason(message),
                    )
                    if key is not None:
                        break
            finally:
                await _hand_back(queue, held, count - replayed)
        log.info("dead_letters_replay_done", queue=self._dead_queue, replayed=replayed, one=key is not None)
        return replayed

    async def purge(self, expected: int) -> int:
        """Removes the dead letters, only when the queue holds exactly `expected` of them (the count the
        operator confirmed); else raises PurgeMismatch and removes nothing. Returns how many were removed.

        The messages are taken from the head and acked together rather than by queue.purge, so a
        message dead-lettered after the count was checked is never removed unseen.
        """
        async with self._session("purge", confirms=False) as (queue, count):
            if count != expected:
                raise PurgeMismatch(self._dead_queue, expected, count)
            taken: list[int] = []
            try:
                while len(taken) < expected and (message := await _get(queue)) is not None:
                    taken.append(_tag(message))
                if len(taken) != expected:  # another consumer took some meanwhile
                    raise PurgeMismatch(self._dead_queue, expected, len(taken))
                if taken:
                    underlay = await queue.channel.get_underlay_channel()
                    await _bounded(underlay.basic_ack(taken[-1], multiple=True))
                    taken = []
            finally:
                await _hand_back(queue, taken, len(taken))
        log.warning("dead_letters_purged", queue=self._dead_queue, purged=expected)
        return expected

    async def _forward(
        self, channel: aio_pika.abc.AbstractChannel, message: aio_pika.abc.AbstractIncomingMessage, replayed: int
    ) -> None:
        """Publishes `message` to the request queue, persistent and confirmed; raises DeadLetterError if it
        was not confirmed (the caller hands the message back to the dead queue)."""
        headers = dict(message.headers or {})
        reason = _reason(message)
        for name in (REASON_HEADER, DEAD_AT_HEADER, *_BROKER_COUNTERS):
            headers.pop(name, None)
        headers[REPLAYED_HEADER] = reason or "unknown"
        try:
            await _bounded(
                channel.default_exchange.publish(
                    copy_of(message, headers),
                    routing_key=self._request_queue,
                    mandatory=True,
                )
            )
        except aio_pika.exceptions.DeliveryError as exc:
            log.warning(
                "dead_letter_replay_refused",
                queue=self._dead_queue,
                to=self._request_queue,
                message_id=message.message_id,
                replayed=replayed,
            )
            raise DeadLetterError(
                f"the broker did not take the replay of {message.message_id!r} to {self._request_queue} "
                f"(no such queue, or refused): it stays in {self._dead_queue}; {replayed} replayed before it"
            ) from exc
        except _BROKER_ERRORS as exc:
            raise DeadLetterError(
                f"replay of {message.message_id!r} to {self._request_queue} not confirmed ({_describe(exc)}): "
                f"it stays in {self._dead_queue} and may also have reached {self._request_queue}, which answers "
                f"a repeat with the same bytes; {replayed} replayed before it"
            ) from exc

    async def _ack(self, message: aio_pika.abc.AbstractIncomingMessage, replayed: int) -> None:
        try:
            await _bounded(message.ack())
        except _BROKER_ERRORS as exc:
            raise DeadLetterError(
                f"{message.message_id!r} was replayed to {self._request_queue} but its dead copy could not be "
                f"removed ({_describe(exc)}): it stays in {self._dead_queue}, and replaying it again is answered "
                f"with the same bytes; {replayed} replayed before it"
            ) from exc

    @contextlib.asynccontextmanager
    async def _session(
        self, operation: str, *, confirms: bool
    ) -> AsyncIterator[tuple[aio_pika.abc.AbstractQueue, int]]:
        """The lock, a channel of its own, and the dead queue with its message count; aio-pika errors
        inside become DeadLetterError. Closing the channel hands back any message still unacked."""
        async with self._lock:
            channel: aio_pika.abc.AbstractChannel | None = None
            try:
                channel = await _bounded(
                    self._connection.channel(publisher_confirms=confirms, on_return_raises=confirms)
                )
                queue = await _bounded(
                    channel.declare_queue(self._dead_queue, durable=True, arguments=self._queue_arguments, robust=False)
                )
                yield queue, int(queue.declaration_result.message_count or 0)
            except _BROKER_ERRORS as exc:
                log.warning(
                    "dead_letters_failed", operation=operation, queue=self._dead_queue, error=type(exc).__name__
                )
                raise DeadLetterError(
                    f"{operation} of {self._dead_queue} failed: {_describe(exc)}; no message was lost"
                ) from exc
            finally:
                with contextlib.suppress(TimeoutError):
                    await _bounded(close_channel(channel))


async def _get(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage | None:
    """The next message, unacked, or None when the queue is empty."""
    return await _bounded(queue.get(no_ack=False, fail=False, timeout=PUBLISH_TIMEOUT_SECONDS))


def _tag(message: aio_pika.abc.AbstractIncomingMessage) -> int:
    assert message.delivery_tag is not None  # always set on a basic.get without auto-ack
    return message.delivery_tag


async def _hand_back(queue: aio_pika.abc.AbstractQueue, tags: list[int], floor: int) -> None:
    """Returns the taken messages to the queue one by one, in the order they came, and waits (briefly)
    until the queue counts at least `floor` messages again: a quorum queue applies a return after the
    nack, so without the wait an operation right after this one could miss them.

    basic.nack, not basic.reject: from RabbitMQ 4.3 a quorum queue counts a reject against its
    delivery limit. If the channel is gone, the broker returns the messages when it closes."""
    if not tags:
        return
    try:
        underlay = await queue.channel.get_underlay_channel()
        for tag in tags:
            await _bounded(underlay.basic_nack(tag, requeue=True))
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while await _count(queue) < floor and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
    except _BROKER_ERRORS:
        log.info("dead_letters_hand_back_lost: the broker requeues them when the channel closes")


async def _count(queue: aio_pika.abc.AbstractQueue) -> int:
    """The messages ready in `queue`, asked of the broker (a passive declaration, not a cached one)."""
    underlay = await queue.channel.get_underlay_channel()
    declared = await _bounded(underlay.queue_declare(queue.name, passive=True))
    return int(declared.message_count or 0)
