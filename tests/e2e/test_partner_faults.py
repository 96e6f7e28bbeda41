"""The civil-registry adapter over the real bus, against partners that misbehave: an answer
signed by someone else, an unsigned one, one for another query, or none at all."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from types import MappingProxyType

import aio_pika
import aio_pika.abc
import pytest_asyncio
import structlog.testing

from gateway.adapters.base import AdapterContext, ProviderQuery
from gateway.adapters.bus import BusAdapter, reply_queue
from gateway.config import Provider
from gateway.errors import BrokerLinkDown, GatewayError
from gateway.runtime.worker import Gateway
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import Issued
from tests.e2e.exchange import AMQP_URL, now_iso, signed_xml

Answer = Callable[[dict[str, object]], bytes]


@pytest_asyncio.fixture()
async def partner(gateway: Gateway) -> AsyncIterator[tuple[BusAdapter, Callable[[Answer], Awaitable[None]]]]:
    """An adapter on a queue of its own, and a way to plug in how the fake partner answers."""
    queue = f"test.partner-fault.{uuid.uuid4().hex[:8]}"
    adapter = BusAdapter(
        Provider("dz.interieur.etat-civil", "bus", MappingProxyType({"queue": queue})),
        AdapterContext(gateway.connection, gateway.jws_signer, gateway.trust, "dz.exchange.gateway", gateway.pki),
    )
    await adapter.start()
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()

    async def plug(answer: Answer) -> None:
        q = await channel.declare_queue(queue, durable=True)

        async def on_query(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            query = json.loads(_payload(message.body))
            await channel.default_exchange.publish(
                aio_pika.Message(answer(query), correlation_id=message.correlation_id),
                routing_key=message.reply_to or "",
            )
            await message.ack()

        await q.consume(on_query)

    yield adapter, plug
    await adapter.close()
    await channel.queue_delete(queue)
    await connection.close()


def _payload(token: bytes) -> bytes:
    part = token.split(b".")[1]
    return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))


def query() -> ProviderQuery:
    return ProviderQuery(
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        "birth-certificate",
        "family-allowance",
        "dz.cnas",
        "NIN",
        "109870123456789012",
    )


def signed_by(who: Issued) -> Answer:
    signer = JWSSigner(who.key, [who.cert])
    return lambda q: signer.sign(
        json.dumps(
            {"queryId": q["queryId"], "status": "found", "data": {"sex": "M"}, "obtainedAt": "2026-11-29T10:00:00Z"}
        ).encode()
    )


async def fetch_code(adapter: BusAdapter, timeout: float = 3.0) -> str:
    try:
        await adapter.fetch(query(), timeout)
    except GatewayError as exc:
        return exc.code
    return "answered"


async def test_answer_signed_by_the_registry_is_data(partner, identity) -> None:  # type: ignore[no-untyped-def]
    """An answer signed with the registry's own certificate is accepted as data."""
    adapter, plug = partner
    await plug(signed_by(identity("dz.interieur.etat-civil")))
    answer = await adapter.fetch(query(), 3.0)
    assert answer.found and answer.data == {"sex": "M"}


async def test_answer_signed_by_another_participant_is_provider_error(partner, identity) -> None:  # type: ignore[no-untyped-def]
    """An answer signed by the tax directorate, for the civil registry, is provider_error, never data."""
    adapter, plug = partner
    await plug(signed_by(identity("dz.finances.dgi")))
    assert await fetch_code(adapter) == "provider_error"


async def test_unsigned_answer_is_provider_error(partner) -> None:  # type: ignore[no-untyped-def]
    """A plain JSON answer with no signature is provider_error."""
    adapter, plug = partner
    await plug(lambda q: json.dumps({"queryId": q["queryId"], "status": "found", "data": {}}).encode())
    assert await fetch_code(adapter) == "provider_error"


async def test_answer_for_another_query_is_provider_error(partner, identity) -> None:  # type: ignore[no-untyped-def]
    """A genuine answer whose queryId is not the query's is provider_error."""
    adapter, plug = partner
    honest = signed_by(identity("dz.interieur.etat-civil"))
    await plug(lambda q: honest({**q, "queryId": str(uuid.uuid4())}))
    assert await fetch_code(adapter) == "provider_error"


async def test_silent_partner_is_provider_timeout(partner) -> None:  # type: ignore[no-untyped-def]
    """A partner that never answers gives provider_timeout once the time allowed is spent."""
    adapter, _ = partner  # nothing consumes the queue
    started = asyncio.get_running_loop().time()
    assert await fetch_code(adapter, timeout=0.5) == "provider_timeout"
    assert asyncio.get_running_loop().time() - started < 2


async def test_a_query_the_broker_keeps_refusing_goes_again_on_a_new_channel(gateway: Gateway) -> None:
    """A query the broker nacks (here a full queue that rejects publishes) is sent again on a
    new channel, at most once a second, until the deadline: then provider_unavailable."""
    queue = f"test.partner-nack.{uuid.uuid4().hex[:8]}"
    full = {"x-max-length": 0, "x-overflow": "reject-publish"}
    adapter = BusAdapter(
        Provider("dz.interieur.etat-civil", "bus", MappingProxyType({"queue": queue})),
        AdapterContext(
            gateway.connection,
            gateway.jws_signer,
            gateway.trust,
            "dz.exchange.gateway",
            gateway.pki,
            worker=f"test-{uuid.uuid4().hex[:8]}",  # its reply queue, refusing too, is its own
            queue_arguments=full,
        ),
    )
    await adapter.start()
    try:
        with structlog.testing.capture_logs() as logs:
            try:
                await adapter.fetch(query(), 2.5)
            except GatewayError as exc:
                assert (exc.code, str(exc)) == (
                    "provider_unavailable",
                    "dz.interieur.etat-civil: the broker refused the query until the deadline",
                )
            else:
                raise AssertionError("a refused query was answered")
        renewed = [e for e in logs if e["event"] == "query_channel_renewed"]
        assert 2 <= len(renewed) <= 3
    finally:
        channel = await gateway.connection.channel()  # type: ignore[union-attr]
        await channel.queue_delete(queue)
        await channel.close()
        await adapter.close()


async def test_a_link_down_while_looking_for_a_stopped_worker_s_answers_is_broker_link_down(gateway: Gateway) -> None:
    """Asking the broker whether another worker lives, while the link is down, raises BrokerLinkDown
    (provider_unavailable, not counted against the partner), never a bare broker error."""
    name = f"test-link-down-{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect_robust(AMQP_URL)
    adapter = BusAdapter(
        Provider("dz.interieur.etat-civil", "bus", MappingProxyType({"queue": name})),
        AdapterContext(connection, gateway.jws_signer, gateway.trust, "dz.exchange.gateway", gateway.pki, worker=name),
    )
    await adapter.start()
    channel = await connection.channel()
    for queue in (name, reply_queue("dz.interieur.etat-civil", name)):
        await channel.queue_delete(queue)
    await connection.close()
    try:
        await adapter.orphaned_answers("some-other-worker")
    except BrokerLinkDown as exc:
        assert exc.code == "provider_unavailable"
        assert "cannot say now whether worker some-other-worker lives" in str(exc)
    else:
        raise AssertionError("no error with the link down")
    finally:
        await adapter.close()


async def test_request_past_its_deadline_is_deadline_exceeded(bus, cnas, examples) -> None:  # type: ignore[no-untyped-def]
    """A request whose own Deadline has already passed is answered failed / deadline_exceeded."""
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]}, deadline=now_iso(-1))
    reply = await bus.call(body, message_id=rid)
    assert (reply.status, reply.problem) == ("failed", "deadline_exceeded")
