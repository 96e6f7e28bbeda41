"""The partner kit on the real broker: a handler's three kinds of answer, signed; queries not from the
gateway refused; a failing or slow handler still answered; concurrency bounded; a graceful stop that
answers what it holds; logs without the subject in clear."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.abc
import pytest
import pytest_asyncio
from cryptography import x509

from gateway.signing import pki
from gateway_partner import Failure, Found, Handler, NotFound, Partner, PartnerIdentity, Query
from gateway_partner import jws as compact_jws
from tests.e2e.exchange import AMQP_URL

PARTNER = "dz.test.partner"
NIN = "119725601000003511"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    pki.ensure_development_pki(folder, [PARTNER, "dz.exchange.gateway", "dz.cnas"])
    return folder


class Gateway:
    """Stands for the gateway: signs queries as `signer` and collects the answers on a reply queue."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel, queue: str, signer: PartnerIdentity) -> None:
        self.channel, self.queue, self.signer = channel, queue, signer
        self.answers: dict[str, asyncio.Future[bytes]] = {}
        self.reply_queue: aio_pika.abc.AbstractQueue | None = None

    async def start(self) -> None:
        self.reply_queue = await self.channel.declare_queue("", exclusive=True, auto_delete=True)
        await self.reply_queue.consume(self._on_answer, no_ack=True)

    async def _on_answer(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        future = self.answers.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)

    async def ask(self, document_type: str = "pension-status", nin: str = NIN, reply: bool = True) -> str:
        assert self.reply_queue is not None
        cid = str(uuid.uuid4())
        self.answers[cid] = asyncio.get_running_loop().create_future()
        payload = {"queryId": cid, "requestId": str(uuid.uuid4()), "documentType": document_type,
                   "purpose": "benefit-review", "requester": "dz.cnas", "subject": {"nin": nin}}  # fmt: skip
        token = compact_jws.sign(self.signer.key, self.signer.protected, json.dumps(payload).encode())
        await self.channel.default_exchange.publish(
            aio_pika.Message(token, correlation_id=cid, reply_to=self.reply_queue.name if reply else None),
            routing_key=self.queue,
        )
        return cid

    async def answer(self, cid: str, partner_cert: x509.Certificate, timeout: float = 10) -> dict[str, Any]:
        token = await asyncio.wait_for(self.answers[cid], timeout)
        payload: dict[str, Any] = json.loads(compact_jws.verify(token, partner_cert.public_key()))
        return payload


@pytest_asyncio.fixture
async def bus() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        yield await connection.channel()


async def started(pki_dir: Path, handler: Handler, **options: Any) -> Partner:
    queue = f"test.partner.{uuid.uuid4().hex[:8]}"
    partner = Partner(PartnerIdentity.from_folder(pki_dir / PARTNER), pki_dir / "ca.pem", AMQP_URL, handler,
                      queue=queue, **options)  # fmt: skip
    await partner.start()
    return partner


async def gateway_for(bus: aio_pika.abc.AbstractChannel, partner: Partner, pki_dir: Path, who: str) -> Gateway:
    assert partner.queue is not None
    gateway = Gateway(bus, partner.queue, PartnerIdentity.from_folder(pki_dir / who))
    await gateway.start()
    return gateway


def certificate(pki_dir: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((pki_dir / PARTNER / "cert.pem").read_bytes())


async def finish(partner: Partner, bus: aio_pika.abc.AbstractChannel) -> None:
    await partner.stop()
    assert partner.queue is not None
    await bus.queue_delete(partner.queue)


async def test_found_not_found_and_failure_are_signed_answers(bus: aio_pika.abc.AbstractChannel, pki_dir: Path) -> None:
    """The handler's Found, NotFound and Failure come back as found, not-found and error, signed by the partner,
    with the query's id and correlation."""

    async def handler(query: Query) -> Found | NotFound | Failure:
        answers: dict[str, Found | NotFound | Failure] = {"a": Found({"pension": "active"}), "b": NotFound()}
        return answers.get(query.document_type, Failure("db down"))

    partner = await started(pki_dir, handler)
    gateway = await gateway_for(bus, partner, pki_dir, "dz.exchange.gateway")
    cids = [await gateway.ask(kind) for kind in ("a", "b", "c")]
    answers = [await gateway.answer(cid, certificate(pki_dir)) for cid in cids]
    await finish(partner, bus)
    assert [a["status"] for a in answers] == ["found", "not-found", "error"]
    assert answers[0]["data"] == {"pension": "active"} and answers[2]["error"] == "db down"
    assert [a["queryId"] for a in answers] == cids


async def test_a_query_not_signed_by_the_gateway_gets_an_error(
    bus: aio_pika.abc.AbstractChannel, pki_dir: Path
) -> None:
    """A query signed by another participant never reaches the handler and is answered `query refused`."""
    called: list[Query] = []

    async def handler(query: Query) -> Found:
        called.append(query)
        return Found({})

    partner = await started(pki_dir, handler)
    gateway = await gateway_for(bus, partner, pki_dir, "dz.cnas")
    answer = await gateway.answer(await gateway.ask(), certificate(pki_dir))
    await finish(partner, bus)
    assert answer["status"] == "error" and answer["error"].startswith("query refused") and not called


async def test_a_failing_or_slow_handler_still_answers(bus: aio_pika.abc.AbstractChannel, pki_dir: Path) -> None:
    """A handler that raises gives `internal error`, one slower than answer_timeout gives a timeout error."""

    async def handler(query: Query) -> Found:
        if query.document_type == "raise":
            raise RuntimeError("bug")
        await asyncio.sleep(5)
        return Found({})

    partner = await started(pki_dir, handler, answer_timeout=0.3)
    gateway = await gateway_for(bus, partner, pki_dir, "dz.exchange.gateway")
    raised = await gateway.answer(await gateway.ask("raise"), certificate(pki_dir))
    slow = await gateway.answer(await gateway.ask("slow"), certificate(pki_dir))
    await finish(partner, bus)
    assert raised["status"] == "error" and raised["error"] == "internal error (RuntimeError)"
    assert slow["status"] == "error" and "within 0.3 s" in slow["error"]


async def test_concurrency_is_bounded(bus: aio_pika.abc.AbstractChannel, pki_dir: Path) -> None:
    """With concurrency 3, twelve queries are all answered and never more than three are in the handler."""
    inside, most = 0, 0

    async def handler(query: Query) -> NotFound:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.05)
        inside -= 1
        return NotFound()

    partner = await started(pki_dir, handler, concurrency=3)
    gateway = await gateway_for(bus, partner, pki_dir, "dz.exchange.gateway")
    cids = [await gateway.ask() for _ in range(12)]
    answers = [await gateway.answer(cid, certificate(pki_dir)) for cid in cids]
    await finish(partner, bus)
    assert len(answers) == 12 and most == 3


async def test_a_graceful_stop_answers_what_it_holds(bus: aio_pika.abc.AbstractChannel, pki_dir: Path) -> None:
    """Stopped while five slow queries are in hand, the partner answers all five before it disconnects."""
    entered = asyncio.Event()

    async def handler(query: Query) -> Found:
        entered.set()
        await asyncio.sleep(0.3)
        return Found({"ok": True})

    partner = await started(pki_dir, handler)
    gateway = await gateway_for(bus, partner, pki_dir, "dz.exchange.gateway")
    cids = [await gateway.ask() for _ in range(5)]
    await entered.wait()
    await asyncio.sleep(0.05)
    await partner.stop()
    answers = [await gateway.answer(cid, certificate(pki_dir), timeout=3) for cid in cids]
    assert partner.queue is not None
    remaining = await bus.declare_queue(partner.queue, durable=True)
    assert [a["status"] for a in answers] == ["found"] * 5
    assert remaining.declaration_result.message_count == 0
    await bus.queue_delete(partner.queue)


async def test_the_logs_never_show_a_subject_in_clear(bus: aio_pika.abc.AbstractChannel, pki_dir: Path) -> None:
    """Each query is logged with a keyed hash of its subject; the NIN itself appears nowhere."""
    stream = io.StringIO()

    async def handler(query: Query) -> NotFound:
        return NotFound()

    partner = await started(pki_dir, handler, log_stream=stream)
    gateway = await gateway_for(bus, partner, pki_dir, "dz.exchange.gateway")
    await gateway.answer(await gateway.ask(nin=NIN), certificate(pki_dir))
    await finish(partner, bus)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    query = next(line for line in lines if line["event"] == "query")
    assert len(query["subject"]) == 16 and NIN not in stream.getvalue()


async def test_a_queue_type_that_differs_from_the_gateways_is_refused(
    bus: aio_pika.abc.AbstractChannel, pki_dir: Path
) -> None:
    """An unknown queue_type is refused at once, and a quorum partner whose queue exists as a classic
    one stops at start with a message that names the queue and the setting, instead of a broker error."""

    async def handler(query: Query) -> NotFound:
        return NotFound()

    identity = PartnerIdentity.from_folder(pki_dir / PARTNER)
    with pytest.raises(ValueError, match="queue_type 'lazy': classic or quorum"):
        Partner(identity, pki_dir / "ca.pem", AMQP_URL, handler, queue_type="lazy")
    queue = f"test.partner.{uuid.uuid4().hex[:8]}"
    await bus.declare_queue(queue, durable=True)
    partner = Partner(identity, pki_dir / "ca.pem", AMQP_URL, handler, queue=queue, queue_type="quorum")
    try:
        with pytest.raises(ValueError, match=f"the queue {queue} exists as another type than quorum"):
            await partner.start()
    finally:
        await bus.queue_delete(queue)


async def test_an_answer_the_broker_never_confirms_sends_the_query_back(
    bus: aio_pika.abc.AbstractChannel, pki_dir: Path
) -> None:
    """An answer whose confirm never comes (lost with a broker node) frees its place after confirm_timeout:
    the query goes back to the queue, and is answered once the broker confirms again."""

    async def handler(query: Query) -> Found:
        return Found({"ok": True})

    logs = io.StringIO()
    partner = await started(pki_dir, handler, confirm_timeout=0.3, log_stream=logs)
    assert partner._channel is not None
    exchange = partner._channel.default_exchange
    confirming = exchange.publish
    lost: list[str] = []

    async def never_confirmed(message: aio_pika.abc.AbstractMessage, routing_key: str, **kw: Any) -> None:
        lost.append(message.correlation_id or "")
        exchange.publish = confirming  # type: ignore[method-assign]  # the next answer is confirmed
        await asyncio.Event().wait()

    exchange.publish = never_confirmed  # type: ignore[method-assign]
    gateway = await gateway_for(bus, partner, pki_dir, "dz.exchange.gateway")
    cid = await gateway.ask()
    answer = await gateway.answer(cid, certificate(pki_dir), timeout=5)
    await finish(partner, bus)
    events = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert answer["status"] == "found" and lost == [cid] and partner.answered == 1
    assert [e["error"] for e in events if e["event"] == "answer_not_confirmed"] == ["TimeoutError"]
