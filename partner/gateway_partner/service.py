"""Answering the gateway's queries on the bus (docs/protocol.md §10), around one function.

A query is a compact JWS signed by the gateway, published to `partner.<code>.requests` with
`reply_to` and `correlation_id`. Its payload is
`{"queryId", "requestId", "documentType", "purpose", "requester", "subject": {"nin"|"nif"|"rc"}}`.
The answer is a compact JWS signed by the partner, with the query's `correlation_id`, whose
payload is `{"queryId", "requestId", "status": "found"|"not-found"|"error", "data", "obtainedAt",
"error"?}`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Union

import aio_pika
import aio_pika.abc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from gateway_partner import brokers, jws

ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")
TYP = "dz-exchange+json"
GATEWAY = "dz.exchange.gateway"


@dataclass(frozen=True)
class Query:
    """What the gateway asks: a document type about one subject, for a requester and a purpose."""

    query_id: str
    request_id: str
    document_type: str
    purpose: str
    requester: str
    subject: Mapping[str, str]

    @property
    def subject_kind(self) -> str:
        """`nin`, `nif` or `rc`."""
        return next(iter(self.subject), "")

    @property
    def subject_id(self) -> str:
        return next(iter(self.subject.values()), "")


@dataclass(frozen=True)
class Found:
    """The record: the fields of the document type, as the catalogue names them."""

    data: Mapping[str, Any]


@dataclass(frozen=True)
class NotFound:
    """No record for this subject: the gateway seals it as a certificate of absence."""


@dataclass(frozen=True)
class Failure:
    """The administration cannot answer now (its database is down...); the gateway reports
    `provider_error` and may ask again."""

    reason: str


Answer = Union[Found, NotFound, Failure]  # noqa: UP007 - a runtime alias, read on Python 3.10 too
Handler = Callable[[Query], Awaitable[Answer]]


@dataclass(frozen=True)
class PartnerIdentity:
    """The partner's code, its signing key and the encoded JWS header of its answers (with `x5c`)."""

    code: str
    key: jws.PrivateKey
    protected: str

    @classmethod
    def from_folder(cls, folder: str | Path) -> PartnerIdentity:
        """`folder/key.pem` and `folder/cert.pem`, as the exchange's registration authority issues them."""
        folder = Path(folder).expanduser()
        key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), None)
        if not isinstance(key, jws.PrivateKey):
            raise ValueError(f"{folder}/key.pem: only ECDSA and RSA keys sign answers")
        chain = x509.load_pem_x509_certificates((folder / "cert.pem").read_bytes())
        codes = chain[0].subject.get_attributes_for_oid(ORGANIZATION_IDENTIFIER)
        if len(codes) != 1:
            raise ValueError(f"{folder}/cert.pem names no single organizationIdentifier")
        x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain]
        header = {"alg": jws.algorithm_for(key), "typ": TYP, "x5c": x5c}
        return cls(str(codes[0].value), key, jws.b64url(json.dumps(header).encode()))


class QueryChecker:
    """Accepts only queries signed by an allowed participant whose certificate the CA issued,
    within its validity."""

    def __init__(self, ca: x509.Certificate, allowed: frozenset[str] = frozenset({GATEWAY})) -> None:
        self._ca = ca
        self._allowed = allowed
        self._known: dict[str, tuple[Any, dt.datetime]] = {}

    def payload(self, token: bytes) -> dict[str, Any]:
        """The query's payload, or ValueError/InvalidSignature."""
        leaf_b64 = jws.header(token)["x5c"][0]
        now = dt.datetime.now(dt.timezone.utc)
        known = self._known.get(leaf_b64)
        if known is None or known[1] < now:
            leaf = x509.load_der_x509_certificate(base64.b64decode(leaf_b64))
            leaf.verify_directly_issued_by(self._ca)
            if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
                raise ValueError("the querier's certificate is outside its validity")
            codes = [a.value for a in leaf.subject.get_attributes_for_oid(ORGANIZATION_IDENTIFIER)]
            if len(codes) != 1 or codes[0] not in self._allowed:
                raise ValueError(f"querier {codes} is not allowed")
            known = self._known[leaf_b64] = (leaf.public_key(), leaf.not_valid_after_utc)
        payload = json.loads(jws.verify(token, known[0]))
        if not isinstance(payload, dict):
            raise ValueError("a query's payload is a JSON object")
        return payload


async def until_signalled(start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]) -> None:
    """`start`, then `stop` once SIGINT or SIGTERM arrives."""
    await start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    await stop()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Partner:
    """Serves `handler` on the partner's queue until stopped.

    `concurrency` bounds the queries answered at once (and the broker's prefetch);
    `answer_timeout` bounds one call of the handler, past which the answer is an error;
    `confirm_timeout` bounds the wait for the broker to confirm an answer, past which the query
    goes back to the queue to be answered again (a confirm lost with a broker node's death
    would otherwise hold one of the `concurrency` places for good).
    """

    identity: PartnerIdentity
    ca: str | Path | x509.Certificate
    amqp_url: str
    handler: Handler
    queue: str | None = None  # default: partner.<code>.requests
    queue_type: str = "classic"  # or "quorum": as the gateway declares the partner's queue
    concurrency: int = 32
    answer_timeout: float = 30.0
    confirm_timeout: float = 10.0
    log_stream: IO[str] = field(default_factory=lambda: sys.stderr)
    answered: int = 0
    _checker: QueryChecker = field(init=False)
    _connection: aio_pika.abc.AbstractRobustConnection | None = field(default=None, init=False)
    _channel: aio_pika.abc.AbstractChannel | None = field(default=None, init=False)
    _consumer: tuple[aio_pika.abc.AbstractQueue, str] | None = field(default=None, init=False)
    _in_flight: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _log_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), init=False)

    def __post_init__(self) -> None:
        if self.queue_type not in ("classic", "quorum"):
            raise ValueError(f"queue_type {self.queue_type!r}: classic or quorum")
        ca = self.ca
        if not isinstance(ca, x509.Certificate):
            ca = x509.load_pem_x509_certificate(Path(ca).expanduser().read_bytes())
        self._checker = QueryChecker(ca)
        self.queue = self.queue or f"partner.{self.identity.code}.requests"

    # ------------------------------------------------------------------ logging
    def log(self, event: str, **fields: Any) -> None:
        """One JSON line; a subject appears only as a keyed hash, never in clear."""
        record = {"at": dt.datetime.now(dt.timezone.utc).isoformat(), "service": self.identity.code, "event": event}
        record.update(fields)
        # one write: print() writes the line and its newline apart, and the lines of processes
        # sharing one standard error would interleave
        self.log_stream.write(json.dumps(record) + "\n")
        self.log_stream.flush()

    def _subject_ref(self, value: str) -> str:
        return hmac.new(self._log_key, value.encode(), hashlib.sha256).hexdigest()[:16]

    # ------------------------------------------------------------------ answering
    async def answer(self, body: bytes) -> dict[str, Any]:
        """The answer payload to one query body: the gateway's signature checked, then the handler."""
        try:
            raw = self._checker.payload(body)
            query = Query(
                query_id=str(raw["queryId"]),
                request_id=str(raw.get("requestId", "")),
                document_type=str(raw["documentType"]),
                purpose=str(raw.get("purpose", "")),
                requester=str(raw.get("requester", "")),
                subject={str(k): str(v) for k, v in dict(raw["subject"]).items()},
            )
        except (ValueError, KeyError, IndexError, TypeError, InvalidSignature, UnicodeDecodeError) as exc:
            self.log("query_refused", reason=type(exc).__name__)
            return {"queryId": None, "status": "error", "error": f"query refused: {type(exc).__name__}",
                    "obtainedAt": _now()}  # fmt: skip
        try:
            result = await asyncio.wait_for(self.handler(query), self.answer_timeout)
        except asyncio.TimeoutError:
            result = Failure(f"no answer within {self.answer_timeout:g} s")
        except Exception as exc:  # the handler's fault must still give the gateway an answer
            self.log("handler_failed", query_id=query.query_id, error=type(exc).__name__)
            result = Failure(f"internal error ({type(exc).__name__})")
        out: dict[str, Any] = {"queryId": query.query_id, "requestId": query.request_id, "obtainedAt": _now()}
        if isinstance(result, Found):
            out.update(status="found", data=dict(result.data))
        elif isinstance(result, NotFound):
            out.update(status="not-found", data={})
        else:
            out.update(status="error", data={}, error=result.reason)
        self.log(
            "query",
            query_id=query.query_id,
            request_id=query.request_id,
            document_type=query.document_type,
            subject=self._subject_ref(query.subject_id),
            status=out["status"],
        )
        return out

    def sign(self, payload: Mapping[str, Any]) -> bytes:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return jws.sign(self.identity.key, self.identity.protected, body)

    async def _on_query(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            if not message.reply_to:
                self.log("query_without_reply_to")
                await message.reject(requeue=False)
                return
            reply = self.sign(await self.answer(message.body))
            assert self._channel is not None
            try:
                await asyncio.wait_for(
                    self._channel.default_exchange.publish(
                        aio_pika.Message(
                            reply,
                            content_type="application/jose",
                            correlation_id=message.correlation_id,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=message.reply_to,
                    ),
                    self.confirm_timeout,
                )
            except Exception as exc:  # not confirmed: the query goes back to the queue, to be answered again
                self.log("answer_not_confirmed", error=type(exc).__name__)
                if not message.channel.is_closed:
                    with contextlib.suppress(Exception):  # else the broker gives it back when the channel goes
                        await asyncio.wait_for(message.nack(requeue=True), self.confirm_timeout)
                return
            await message.ack()  # only once the broker confirmed the answer
            self.answered += 1
        finally:
            if task is not None:
                self._in_flight.discard(task)

    # ------------------------------------------------------------------ running
    async def start(self) -> None:
        """Connects and starts taking queries."""
        self._connection = await brokers.connect(self.amqp_url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=max(1, self.concurrency))
        arguments = {"x-queue-type": self.queue_type} if self.queue_type != "classic" else None
        try:
            queue = await self._channel.declare_queue(self.queue, durable=True, arguments=arguments)
        except aio_pika.exceptions.ChannelPreconditionFailed as exc:
            await self._connection.close()
            raise ValueError(
                f"the queue {self.queue} exists as another type than {self.queue_type} ({exc}): "
                "set queue_type as the gateway's is"
            ) from None
        self._consumer = (queue, await queue.consume(self._on_query))
        self.log("started", queue=self.queue, concurrency=self.concurrency)

    async def stop(self, grace: float = 10.0) -> None:
        """Takes no new query, lets those in hand be answered (at most `grace` seconds), then disconnects;
        a query still unanswered goes back to the queue."""
        if self._consumer is not None:
            queue, tag = self._consumer
            self._consumer = None
            try:
                await queue.cancel(tag)
            except Exception as exc:
                self.log("cancel_failed", error=type(exc).__name__)
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace)
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        self.log("stopped", answered=self.answered)

    async def serve(self) -> None:
        """Runs until SIGINT or SIGTERM, then stops gracefully."""
        await until_signalled(self.start, self.stop)
