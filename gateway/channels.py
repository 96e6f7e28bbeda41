"""Closing AMQP channels without taking their connection down.

aiormq answers a `Channel.Close` whose wait is cancelled (a task stopped at shutdown, an HTTP
client that went away, a `wait_for` that timed out) by sending a second `Channel.Close` on the
same channel. When the broker has already closed that channel, it takes the second one for a
protocol error and closes the whole connection (`504 CHANNEL_ERROR - expected
'channel.open'`), and with it every consumer, every publish awaiting its confirm and every
other channel of the worker. So a channel is always closed here to the end of its exchange,
whatever happens to the task that asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika.abc


async def close_channel(channel: aio_pika.abc.AbstractChannel | None) -> None:
    """Closes `channel` when it is open. The closing exchange runs to its end even when the caller
    is cancelled or stops waiting; its failure (the channel or its connection already gone) is
    dropped, since the channel is closed either way."""
    if channel is None or channel.is_closed:
        return
    closing = asyncio.ensure_future(channel.close())
    closing.add_done_callback(_drop_outcome)
    with contextlib.suppress(Exception):
        await asyncio.shield(closing)


@contextlib.asynccontextmanager
async def own_channel(
    connection: aio_pika.abc.AbstractConnection, **options: Any
) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A channel opened for one short exchange with the broker, closed by `close_channel` on leaving."""
    channel = await connection.channel(**options)
    try:
        yield channel
    finally:
        await close_channel(channel)


class RenewableChannel:
    """A publishing channel that is replaced by a new one when the broker keeps refusing its
    publishes: one was seen, after a cluster node's death, to have every publish nacked long after
    its queue had a new leader. Replaced at most once a second, however many publishes were nacked."""

    def __init__(self, open_channel: Callable[[], Awaitable[aio_pika.abc.AbstractChannel]]) -> None:
        self._open = open_channel
        self._lock = asyncio.Lock()
        self._renewed_at = 0.0
        self.channel: aio_pika.abc.AbstractChannel | None = None

    async def open(self) -> aio_pika.abc.AbstractChannel:
        self.channel = await self._open()
        return self.channel

    async def renew(self) -> bool:
        """Publishes go to a new channel from now on, and the old one is closed; False when the
        channel was renewed less than a second ago (nothing done)."""
        async with self._lock:
            now = asyncio.get_running_loop().time()
            if now - self._renewed_at < 1.0:
                return False
            self._renewed_at = now
            old, self.channel = self.channel, await self._open()
        await close_channel(old)
        return True

    async def close(self) -> None:
        await close_channel(self.channel)


def _drop_outcome(closing: asyncio.Future[None]) -> None:
    """Takes the outcome of a close nobody awaits any more, so asyncio does not report it as lost."""
    if not closing.cancelled():
        closing.exception()
