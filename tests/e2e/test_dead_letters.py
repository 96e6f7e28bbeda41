"""The operators' dead-letter module against the real broker: browse takes nothing, replay
moves exactly what was asked with a confirm, purge removes only the count the operator saw.

Each test runs on classic and on quorum queues of its own, deleted after. A classic queue takes
a handed-back message back where it was; a quorum queue of RabbitMQ 3 appends it at the tail,
so there the tests that hand back part of a queue pin its content, not its order."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aio_pika
import aio_pika.abc
import pytest
import pytest_asyncio

from gateway.protocol import DeadReason
from gateway.transports.dead_letters import DeadLetterError, DeadLetters, PurgeMismatch

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
STAMP = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Sent:
    """One dead message as the test published it."""

    body: bytes
    message_id: str
    correlation_id: str
    reply_to: str | None
    reason: str

    @property
    def key(self) -> str:
        digest = hashlib.sha256()
        for part in (self.message_id, self.correlation_id, self.reply_to or ""):
            digest.update(part.encode() + b"\0")
        digest.update(self.body)
        return digest.hexdigest()


@dataclass(frozen=True)
class Broker:
    """This test's queues, a confirming channel on them, and the module under test."""

    connection: aio_pika.abc.AbstractRobustConnection
    channel: aio_pika.abc.AbstractChannel
    quorum: bool
    dead_queue: str
    request_queue: str
    dead_letters: DeadLetters

    async def bury(self, reason: str, *, reply_to: str | None = "client.replies", n: int = 0) -> Sent:
        """Publishes a dead message shaped as `bus._dead_letter` would."""
        rid = f"req-{n}-{uuid.uuid4().hex[:8]}"
        sent = Sent(
            f"<Request id='{rid}'><Subject>NIN 10990{n}</Subject></Request>".encode(),
            rid,
            f"corr-{n}",
            reply_to,
            reason,
        )
        await self.channel.default_exchange.publish(
            aio_pika.Message(
                sent.body,
                content_type="application/xml",
                correlation_id=sent.correlation_id,
                message_id=sent.message_id,
                reply_to=reply_to,
                app_id="cnas-back-office",
                timestamp=STAMP,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={"x-dead-reason": reason, "x-trace": f"trace-{n}"},
            ),
            routing_key=self.dead_queue,
            mandatory=True,
        )
        return sent

    async def count(self, name: str) -> int:
        declared = await self.channel.declare_queue(name, passive=True)
        return int(declared.declaration_result.message_count or 0)

    async def bodies(self, name: str, *, ordered: bool = True) -> list[bytes]:
        """The bodies left in `name`, consumed: in queue order, or sorted when the queue may have rotated."""
        bodies = [m.body for m in await self.drain(name)]
        return bodies if ordered or not self.quorum else sorted(bodies)

    async def drain(self, name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
        """Consumes every message of `name`, in order."""
        queue = await self.channel.get_queue(name, ensure=False)
        out: list[aio_pika.abc.AbstractIncomingMessage] = []
        while (message := await queue.get(no_ack=True, fail=False, timeout=5)) is not None:
            out.append(message)
        return out


@pytest_asyncio.fixture(params=["classic", "quorum"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    arguments: dict[str, Any] | None = {"x-queue-type": "quorum"} if request.param == "quorum" else None
    suffix = uuid.uuid4().hex
    dead_queue, request_queue = f"test.dead.{suffix}", f"test.requests.{suffix}"
    # The module gets a robust connection, as the runtime's; the test's own side uses a plain one,
    # whose passive declarations really ask the broker (a robust channel answers them from a cache).
    robust, plain = await aio_pika.connect_robust(AMQP_URL), await aio_pika.connect(AMQP_URL)
    try:
        channel = await plain.channel(publisher_confirms=True, on_return_raises=True)
        for name in (dead_queue, request_queue):
            await channel.declare_queue(name, durable=True, arguments=arguments)
        yield Broker(
            robust,
            channel,
            arguments is not None,
            dead_queue,
            request_queue,
            DeadLetters(robust, dead_queue, request_queue, arguments),
        )
        cleanup = await plain.channel()
        for name in (dead_queue, request_queue):
            await cleanup.queue_delete(name)
    finally:
        await robust.close()
        await plain.close()


async def bury_three(broker: Broker) -> list[Sent]:
    return [
        await broker.bury(DeadReason.REPLY_TO_UNROUTABLE, n=0),
        await broker.bury(DeadReason.POISON_MESSAGE, n=1),
        await broker.bury(DeadReason.REPLY_TO_MISSING, reply_to=None, n=2),
    ]


async def test_browse_shows_envelopes_and_leaves_every_message_in_place(broker: Broker) -> None:
    """Browsing lists each dead letter's envelope, reason and fingerprint in queue order, and every message stays."""
    sent = await bury_three(broker)

    letters, total = await broker.dead_letters.browse()

    assert total == 3
    assert [letter.position for letter in letters] == [0, 1, 2]
    assert [letter.message_id for letter in letters] == [s.message_id for s in sent]
    assert [letter.correlation_id for letter in letters] == ["corr-0", "corr-1", "corr-2"]
    assert [letter.reply_to for letter in letters] == ["client.replies", "client.replies", None]
    assert [letter.reason for letter in letters] == ["reply_to_unroutable", "poison_message", "reply_to_missing"]
    assert [letter.key for letter in letters] == [s.key for s in sent]
    assert [letter.size for letter in letters] == [len(s.body) for s in sent]
    assert [letter.fingerprint for letter in letters] == [hashlib.sha256(s.body).hexdigest()[:12] for s in sent]
    assert {letter.content_type for letter in letters} == {"application/xml"}
    assert letters[0].dead_at is not None and letters[0].dead_at.timestamp() == STAMP.timestamp()
    assert not any(s.body.decode() in repr(letter) for s, letter in zip(sent, letters, strict=True))

    again, total_again = await broker.dead_letters.browse()
    assert (again, total_again) == (letters, 3)
    assert await broker.count(broker.dead_queue) == 3
    left = await broker.drain(broker.dead_queue)
    assert [m.body for m in left] == [s.body for s in sent]
    assert [(m.headers or {}).get("x-dead-reason") for m in left] == [s.reason for s in sent]
    assert [m.message_id for m in left] == [s.message_id for s in sent]


async def test_browse_limit_shows_the_head_and_counts_the_whole_queue(broker: Broker) -> None:
    """A browse limited to two shows the first two messages, reports all three, and takes none."""
    sent = await bury_three(broker)

    letters, total = await broker.dead_letters.browse(limit=2)

    assert ([letter.message_id for letter in letters], total) == ([s.message_id for s in sent[:2]], 3)
    assert await broker.bodies(broker.dead_queue, ordered=False) == sorted(s.body for s in sent)


async def test_replay_one_moves_exactly_that_message_with_its_properties(broker: Broker) -> None:
    """Replaying one key moves that message alone to the request queue, its properties kept, reason swapped."""
    sent = await bury_three(broker)

    assert await broker.dead_letters.replay(sent[1].key) == 1

    [moved] = await broker.drain(broker.request_queue)
    assert moved.body == sent[1].body
    assert (moved.message_id, moved.correlation_id, moved.reply_to) == (sent[1].message_id, "corr-1", "client.replies")
    assert (moved.content_type, moved.app_id) == ("application/xml", "cnas-back-office")
    assert moved.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert moved.timestamp is not None and moved.timestamp.timestamp() == STAMP.timestamp()
    # A quorum queue stamps x-delivery-count on each delivery: 0 here, the dead queue's count not carried over.
    assert moved.headers == {
        "x-replayed-from-dead": "poison_message",
        "x-trace": "trace-1",
        **({"x-delivery-count": 0} if broker.quorum else {}),
    }
    assert await broker.bodies(broker.dead_queue, ordered=False) == sorted([sent[0].body, sent[2].body])


async def test_replay_all_moves_every_message_in_order(broker: Broker) -> None:
    """Replaying with no key moves every dead letter, in order, and empties the dead queue."""
    sent = await bury_three(broker)

    assert await broker.dead_letters.replay(None) == 3

    moved = await broker.drain(broker.request_queue)
    assert [m.body for m in moved] == [s.body for s in sent]
    assert [(m.headers or {}).get("x-replayed-from-dead") for m in moved] == [s.reason for s in sent]
    assert not any("x-dead-reason" in (m.headers or {}) for m in moved)
    assert await broker.count(broker.dead_queue) == 0


async def test_replay_of_an_unknown_key_changes_nothing(broker: Broker) -> None:
    """Replaying a key no message has returns 0, publishes nothing and leaves the dead queue as it was."""
    sent = await bury_three(broker)

    assert await broker.dead_letters.replay("0" * 64) == 0

    assert await broker.count(broker.request_queue) == 0
    assert await broker.bodies(broker.dead_queue, ordered=False) == sorted(s.body for s in sent)


async def test_replay_to_a_missing_request_queue_loses_nothing(broker: Broker) -> None:
    """When the broker cannot route the replay, DeadLetterError is raised and the message stays dead."""
    sent = await bury_three(broker)
    await broker.channel.queue_delete(broker.request_queue)

    with pytest.raises(DeadLetterError, match=rf"did not take the replay .* it stays in {broker.dead_queue}"):
        await broker.dead_letters.replay(sent[0].key)

    assert await broker.bodies(broker.dead_queue, ordered=False) == sorted(s.body for s in sent)


async def test_purge_with_the_confirmed_count_empties_the_queue(broker: Broker) -> None:
    """Purging with the count the operator saw removes exactly those messages and returns that count."""
    await bury_three(broker)

    assert await broker.dead_letters.purge(3) == 3

    assert await broker.count(broker.dead_queue) == 0
    assert await broker.dead_letters.browse() == ([], 0)


async def test_purge_with_a_stale_count_raises_and_removes_nothing(broker: Broker) -> None:
    """Purging with a count that no longer matches raises PurgeMismatch naming both counts and removes nothing."""
    sent = await bury_three(broker)

    with pytest.raises(PurgeMismatch, match="holds 3 message\\(s\\), not the 2 confirmed") as caught:
        await broker.dead_letters.purge(2)

    assert (caught.value.expected, caught.value.actual) == (2, 3)
    assert await broker.bodies(broker.dead_queue) == [s.body for s in sent]


async def test_concurrent_operations_run_one_at_a_time(broker: Broker) -> None:
    """Two browses and a replay started together do not interleave their gets: each sees the whole queue."""
    sent = await bury_three(broker)

    first, second, replayed = await asyncio.gather(
        broker.dead_letters.browse(), broker.dead_letters.browse(), broker.dead_letters.replay(sent[2].key)
    )

    assert [letter.message_id for letter in first[0]] == [s.message_id for s in sent]
    assert [letter.message_id for letter in second[0]] == [s.message_id for s in sent]
    assert replayed == 1
    assert [m.body for m in await broker.drain(broker.request_queue)] == [sent[2].body]


async def test_broker_errors_become_dead_letter_errors(broker: Broker) -> None:
    """A dead queue declared with other arguments than configured fails with DeadLetterError, not an aio-pika error."""
    await bury_three(broker)
    other = {"x-queue-type": "classic"} if broker.quorum else {"x-queue-type": "quorum"}
    mismatched = DeadLetters(broker.connection, broker.dead_queue, broker.request_queue, other)

    with pytest.raises(DeadLetterError, match=rf"browse of {broker.dead_queue} failed: .*PRECONDITION_FAILED"):
        await mismatched.browse()

    assert await broker.count(broker.dead_queue) == 3
