"""Any partner administration that answers on the bus (adapter `bus` in providers.toml; the
civil registry, dz.interieur.etat-civil, is one), per docs/protocol.md §10.

Queries go to the partner's queue as compact JWS signed by the gateway; the partner answers
on the gateway's reply queue with a JWS signed by its own certificate, which is checked
against the exchange anchors and must name the partner itself.

The bodies, query and answer, are those of `partner_protocol`, shared with the `rest` adapter.

Answers come back on this worker's reply queue. When a worker stops mid-query, the answers
left on its queue can be picked up by another worker (`orphaned_answers`), so that a
redelivered request is answered without asking the registry a second time.

Queries are published on a channel of their own. A channel was seen, after a cluster node's
death, to go on having every publish nacked although the queue had its new leader; a nacked
query makes the adapter open a new publishing channel (at most once a second) before it
tries again.
"""

from __future__ import annotations

import asyncio
import contextlib

import aio_pika
import aio_pika.abc
import structlog

from gateway.adapters import partner_protocol
from gateway.adapters.base import AdapterContext, ProviderAnswer, ProviderQuery
from gateway.channels import RenewableChannel, close_channel, own_channel
from gateway.config import ConfigError, Provider
from gateway.errors import BrokerLinkDown, ProviderError, ProviderTimeout, ProviderUnavailable
from gateway.signing import jws

log = structlog.get_logger(__name__)
LINK_RETRY_SECONDS = 0.2
ACK_TIMEOUT_SECONDS = 5.0  # an ack on a channel lost in a reconnection may never complete
REPLY_QUEUE_EXPIRES_MS = 10 * 60 * 1000


def query_queue(provider: Provider) -> str:
    """The queue a partner on the bus takes queries from: `queue` in providers.toml, else
    `partner.<code>.requests`."""
    return str(provider.options.get("queue", f"partner.{provider.code}.requests"))


def reply_queue(provider: str, worker: str) -> str:
    """The queue on which a gateway worker receives `provider`'s answers."""
    return f"gateway.replies.{provider}.{worker}"


class BusAdapter:
    """Request/reply with a partner administration over RabbitMQ, signed both ways."""

    def __init__(self, provider: Provider, context: AdapterContext) -> None:
        self.provider = provider.code
        self._queue_name = query_queue(provider)
        self._context = context
        self._verifier = jws.JWSVerifier(context.trust)
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._request_of: dict[str, str] = {}  # query id -> request id, while asked
        self._unsettled: dict[str, aio_pika.abc.AbstractIncomingMessage] = {}  # request id -> its answer
        self._channel: aio_pika.abc.AbstractChannel | None = None  # declares, and consumes the answers
        self._queries = RenewableChannel(self._publishing_channel)  # publishes the queries
        self._reply_queue: aio_pika.abc.AbstractQueue | None = None

    async def start(self) -> None:
        if self._context.connection is None:
            raise RuntimeError("the bus adapter needs a broker connection")
        self._channel = await self._context.connection.channel(publisher_confirms=True, on_return_raises=True)
        arguments = dict(self._context.queue_arguments or {})
        try:
            await self._channel.declare_queue(self._queue_name, durable=True, arguments=arguments or None)
        except aio_pika.exceptions.ChannelPreconditionFailed as exc:
            raise ConfigError(
                f"{self.provider}: the queue {self._queue_name} exists with other arguments than "
                f"{arguments or 'a classic queue'} ({exc}); a queue's type cannot change: delete it, or name another"
            ) from None
        # Named after this worker, not by the broker: it keeps its name when the robust connection
        # declares it again after a reconnection, and another worker can find the answers left
        # on it when this one stops mid-query. Durable and not exclusive, so it outlives this
        # worker and a broker restart; the broker deletes it REPLY_QUEUE_EXPIRES_MS after its last use.
        self._reply_queue = await self._channel.declare_queue(
            self._reply_queue_name(self._context.worker),
            durable=True,
            auto_delete=False,
            arguments={"x-expires": REPLY_QUEUE_EXPIRES_MS, **arguments},
        )
        # Answers are acked only once the response they made is stored (`settle`): if this
        # worker stops before, the answer goes back on its queue for another worker to recover.
        await self._reply_queue.consume(self._on_reply)
        await self._queries.open()

    async def _publishing_channel(self) -> aio_pika.abc.AbstractChannel:
        assert self._context.connection is not None
        return await self._context.connection.channel(publisher_confirms=True, on_return_raises=True)

    async def close(self) -> None:
        for future in self._pending.values():
            future.cancel()
        await self._queries.close()
        if self._channel is not None and not self._channel.is_closed:
            if self._reply_queue is not None and not self._pending:
                with contextlib.suppress(Exception):
                    await self._reply_queue.delete(if_unused=False, if_empty=False)
            await close_channel(self._channel)

    def _reply_queue_name(self, worker: str) -> str:
        return reply_queue(self.provider, worker)

    async def orphaned_answers(self, worker: str) -> tuple[bool, list[tuple[str, bytes]]]:
        """Whether `worker` is still alive (it consumes its reply queue), and, when it is not,
        the answers left on its reply queue, by the request id they claim (checked on use).
        Raises BrokerLinkDown when the broker cannot be asked now (a reconnection under way)."""
        try:
            return await self._orphaned_answers(worker)
        except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise BrokerLinkDown(
                f"{self.provider}: the broker cannot say now whether worker {worker} lives ({type(exc).__name__})"
            ) from None

    async def _orphaned_answers(self, worker: str) -> tuple[bool, list[tuple[str, bytes]]]:
        assert self._context.connection is not None
        async with own_channel(self._context.connection) as channel:
            try:
                queue = await channel.declare_queue(self._reply_queue_name(worker), passive=True)
            except aio_pika.exceptions.ChannelClosed:
                return False, []  # no such queue: nothing was left
            if queue.declaration_result.consumer_count:
                return True, []
            found: list[tuple[str, bytes]] = []
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                if (claimed := partner_protocol.claimed_request(message.body)) is not None:
                    found.append((claimed, message.body))
            return False, found

    def read_orphaned_answer(self, body: bytes, request_id: str) -> ProviderAnswer:
        """An answer found on a stopped worker's reply queue, checked like any other."""
        return partner_protocol.read_answer(self.provider, self._verifier, body, request_id=request_id)

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        query_id = message.correlation_id or ""
        future = self._pending.get(query_id)
        if future is None or future.done():
            log.warning("partner_reply_unexpected", provider=self.provider)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(message.ack(), ACK_TIMEOUT_SECONDS)
            return
        self._unsettled[self._request_of[query_id]] = message
        future.set_result(message.body)

    async def settle(self, request_id: str) -> None:
        """Acks the answer used for `request_id`, once the response it made is stored."""
        message = self._unsettled.pop(request_id, None)
        if message is not None:
            with contextlib.suppress(Exception):  # lost with a reconnection: the broker gives it back
                async with asyncio.timeout(ACK_TIMEOUT_SECONDS):
                    await message.ack()

    async def fetch(self, query: ProviderQuery, timeout: float) -> ProviderAnswer:
        if self._channel is None or self._reply_queue is None:
            raise ProviderUnavailable(f"{self.provider}: adapter not started")
        body = partner_protocol.signed_query(self._context, query)
        link = self._link_generation()
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[query.query_id] = future
        self._request_of[query.query_id] = query.request_id
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + timeout
        try:
            confirmed = await self._publish(
                aio_pika.Message(
                    body,
                    content_type=partner_protocol.CONTENT_TYPE,
                    correlation_id=query.query_id,
                    message_id=query.query_id,
                    reply_to=self._reply_queue.name,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    expiration=max(timeout, 0.001),
                ),
                give_up_at,
            )
            try:
                async with asyncio.timeout_at(max(give_up_at, loop.time() + 0.001)):
                    answer = await future
            except TimeoutError:
                if not confirmed or self._link_generation() != link or not self._link_up():
                    # The broker did not confirm the query, or the gateway's own link to it went and came
                    # back meanwhile (a node's death): the missing answer says nothing of the partner's
                    # health, so no circuit breaker counts it.
                    raise BrokerLinkDown(
                        f"{self.provider}: no answer within {timeout:.1f} s, with the query unconfirmed by the "
                        "broker or the link to it made again"
                    ) from None
                raise ProviderTimeout(f"{self.provider} did not answer within {timeout:.1f} s") from None
        finally:
            self._pending.pop(query.query_id, None)
            self._request_of.pop(query.query_id, None)
        try:
            return partner_protocol.read_answer(self.provider, self._verifier, answer, query_id=query.query_id)
        except ProviderError:
            await self.settle(query.request_id)  # a bad answer is not worth keeping
            raise

    def _link_up(self) -> bool:
        connection = self._context.connection
        return connection is not None and not connection.is_closed and connection.connected.is_set()

    def _link_generation(self) -> int:
        """How many times the broker connection was made: it grows with each reconnection."""
        return int(getattr(self._context.connection, "connection_attempt", 0))

    async def _publish(self, message: aio_pika.Message, give_up_at: float) -> bool:
        """Publishes a query once, waiting out a reconnection of the gateway's own broker link; whether
        the broker confirmed it.

        A query is sent again only when it certainly did not leave (the channel was already
        closed). When the link fails after sending, the registry may have it: the answer is
        awaited, on a reply queue that the reconnection declares again under the same name.
        """
        loop = asyncio.get_running_loop()
        while True:
            channel = self._queries.channel
            assert channel is not None
            try:
                async with asyncio.timeout_at(max(give_up_at, loop.time() + 0.001)):
                    await channel.default_exchange.publish(message, routing_key=self._queue_name, mandatory=True)
                return True
            except aio_pika.exceptions.DeliveryError as exc:
                # Returned (no route to the partner's queue) or nacked (the broker could not take it): both
                # are seen while a node dies and a quorum queue changes leader. Neither left the broker, so
                # the query is sent again until the deadline. A queue still missing then is the partner's
                # fault; a broker still refusing is not, and no circuit breaker counts it.
                if loop.time() + LINK_RETRY_SECONDS >= give_up_at:
                    if isinstance(exc, aio_pika.exceptions.PublishError):
                        raise ProviderUnavailable(f"{self.provider}: query not routed ({exc})") from None
                    raise BrokerLinkDown(f"{self.provider}: the broker refused the query until the deadline") from None
                if not isinstance(exc, aio_pika.exceptions.PublishError):
                    with contextlib.suppress(Exception):  # the link itself may be down: tried again next time
                        if await self._queries.renew():
                            log.warning("query_channel_renewed", provider=self.provider)
                await asyncio.sleep(LINK_RETRY_SECONDS)
            except aio_pika.exceptions.ChannelInvalidStateError as exc:
                if loop.time() + LINK_RETRY_SECONDS >= give_up_at:
                    raise BrokerLinkDown(f"{self.provider}: the broker link is down ({type(exc).__name__})") from None
                await asyncio.sleep(LINK_RETRY_SECONDS)
            except (aio_pika.exceptions.AMQPError, ConnectionError, TimeoutError) as exc:
                log.warning("partner_query_unconfirmed", provider=self.provider, error=type(exc).__name__)
                return False


def create(provider: Provider, context: AdapterContext) -> BusAdapter:
    return BusAdapter(provider, context)
