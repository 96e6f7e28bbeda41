"""The processes of the benchmark besides its client: a bare echo server, a bare two-hop
relay, and a gateway worker on the benchmark's own queues (`gateway bench` starts them)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from pathlib import Path
from types import MappingProxyType

import aio_pika
import aio_pika.abc

from benchmarks.processes import queue_arguments
from gateway import config as config_module
from gateway.transports import brokers


async def echo_server(url: str, queue: str) -> None:
    connection = await brokers.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=200)
        q = await channel.declare_queue(queue, durable=True, arguments=queue_arguments())

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body, correlation_id=message.correlation_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                ),
                routing_key=message.reply_to or "",
            )
            await message.ack()

        await q.consume(on_message)
        await asyncio.Future()


async def gateway_worker(home: Path, run: str, ports: tuple[int, int]) -> None:
    from gateway.runtime.worker import Gateway

    config = bench_config(run, ports)
    gateway = Gateway(config, home)
    await gateway.start()
    try:
        await asyncio.Future()
    finally:
        await gateway.stop()


def bench_config(run: str, ports: tuple[int, int]) -> config_module.Config:
    """The gateway's configuration on this run's queues, with the tax directorate and the
    commercial register sandboxes on the ports (dgi, cnrc) given, and no quota in the way."""
    base = config_module.load()
    civil, dgi, cnrc = (base.providers[c] for c in ("dz.interieur.etat-civil", "dz.finances.dgi", "dz.commerce.cnrc"))
    providers = {
        civil.code: dataclasses.replace(
            civil, options=MappingProxyType({**civil.options, "queue": f"bench.{run}.partner"})
        ),
        dgi.code: dataclasses.replace(
            dgi, options=MappingProxyType({**dgi.options, "url": f"https://127.0.0.1:{ports[0]}"})
        ),
        cnrc.code: dataclasses.replace(
            cnrc, options=MappingProxyType({**cnrc.options, "url": f"http://127.0.0.1:{ports[1]}/soap"})
        ),
    }
    quota = config_module.Quota(per_second=1e6, burst=1_000_000)
    requesters = {c: dataclasses.replace(r, quota=quota) for c, r in base.requesters.items()}
    config = dataclasses.replace(base, providers=MappingProxyType(providers), requesters=MappingProxyType(requesters))
    return config.with_settings(
        request_queue=f"bench.{run}.requests", dead_queue=f"bench.{run}.dead", bulk_queue=f"bench.{run}.lane.bulk"
    )


async def relay_server(url: str, queue: str, partner_queue: str) -> None:
    """client -> relay -> partner echo -> relay -> client: the messaging every gateway request needs."""
    connection = await brokers.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=200)
        incoming = await channel.declare_queue(queue, durable=True, arguments=queue_arguments())
        await channel.declare_queue(partner_queue, durable=True, arguments=queue_arguments())
        replies = await channel.declare_queue(f"bench.relay-replies.{uuid.uuid4().hex[:8]}", exclusive=True)
        pending: dict[str, asyncio.Future[bytes]] = {}

        async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            future = pending.pop(message.correlation_id or "", None)
            if future is not None and not future.done():
                future.set_result(message.body)

        async def on_request(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            query_id = str(uuid.uuid4())
            future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
            pending[query_id] = future
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    correlation_id=query_id,
                    reply_to=replies.name,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=partner_queue,
            )
            answer = await future
            await channel.default_exchange.publish(
                aio_pika.Message(
                    answer, correlation_id=message.correlation_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                ),
                routing_key=message.reply_to or "",
            )
            await message.ack()

        await replies.consume(on_reply, no_ack=True)
        await incoming.consume(on_request)
        await asyncio.Future()
