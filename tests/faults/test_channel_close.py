"""Channels against the real broker. When the task that closes one is cancelled at any point of the
closing exchange, the broker keeps the connection (and every other channel of the worker) up,
where aiormq alone sends a second Channel.Close that makes the broker close it all. A publishing
channel is renewed at most once a second."""

from __future__ import annotations

import asyncio

import aio_pika
import aio_pika.abc
import pytest

from gateway.channels import RenewableChannel, close_channel, own_channel
from tests.faults.harness import AMQP_URL

pytestmark = pytest.mark.slow

#: How many loop turns the cancellation is moved through: a whole closing exchange fits in fewer.
TURNS = 60


async def turns_of_the_loop(turns: int) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


async def still_up(connection: aio_pika.abc.AbstractConnection) -> bool:
    """Whether the broker kept `connection`: it had closed it by now for a protocol error."""
    await asyncio.sleep(0.05)
    return not connection.is_closed


async def test_a_closing_cut_short_leaves_the_connection_up() -> None:
    """A close_channel cancelled anywhere in the closing exchange still closes the channel; the connection stays up."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        for turns in range(1, TURNS):  # from the first turn on, the task has begun the closing
            channel = await connection.channel()
            task = asyncio.create_task(close_channel(channel))
            await turns_of_the_loop(turns)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            assert await still_up(connection), f"the broker closed the connection (cancelled after {turns} turns)"
            for _ in range(100):
                if channel.is_closed:
                    break
                await asyncio.sleep(0.01)
            assert channel.is_closed, f"the channel stayed open (cancelled after {turns} turns)"
    finally:
        await connection.close()


async def test_an_own_channel_cancelled_while_closing_leaves_the_connection_up() -> None:
    """own_channel cancelled in its body, then again at any point of its closing, leaves the connection open."""
    connection = await aio_pika.connect(AMQP_URL)

    async def look(inside: asyncio.Event) -> None:
        async with own_channel(connection):
            inside.set()
            await asyncio.Event().wait()  # until cancelled

    try:
        for turns in range(TURNS):
            inside = asyncio.Event()
            task = asyncio.create_task(look(inside))
            await asyncio.wait_for(inside.wait(), 5)
            task.cancel()  # the body ends: the closing begins
            await turns_of_the_loop(turns)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            assert await still_up(connection), f"the broker closed the connection (cancelled after {turns} turns)"
    finally:
        await connection.close()


async def test_a_renewed_channel_replaces_the_old_one_at_most_once_a_second() -> None:
    """renew() puts a new channel in place and closes the old one; asked again within a second it
    does nothing, however many times; a second later it renews again."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        renewable = RenewableChannel(lambda: connection.channel(publisher_confirms=True))
        first = await renewable.open()
        assert await renewable.renew()
        second = renewable.channel
        assert second is not None and second is not first and not second.is_closed and first.is_closed
        assert not any([await renewable.renew() for _ in range(5)]) and renewable.channel is second
        await asyncio.sleep(1.05)
        assert await renewable.renew() and renewable.channel is not second and second.is_closed
        await renewable.close()
        assert renewable.channel is not None and renewable.channel.is_closed
        assert await still_up(connection)
    finally:
        await connection.close()
