"""The sandbox civil registry as a program: it answers signed queries on its bus queue.

It shares no code with the gateway. A query is a compact JWS from the gateway
(`dz.exchange.gateway`), checked against the exchange CA; the answer is a compact JWS
signed with the registry's own key, sent to the query's `reply_to` with its
`correlation_id`. Subjects are logged as hashes, never in clear.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.abc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from gateway_sandbox import compact_jws
from gateway_sandbox.civil_registry.records import Registry, build

PARTICIPANT = "dz.interieur.etat-civil"
QUEUE = f"partner.{PARTICIPANT}.requests"
ORG_ID = x509.ObjectIdentifier("2.5.4.97")
TYP = "dz-exchange+json"


def _log(event: str, **fields: Any) -> None:
    record = {"at": dt.datetime.now(dt.UTC).isoformat(), "service": PARTICIPANT, "event": event, **fields}
    print(json.dumps(record), file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Identity:
    key: compact_jws.PrivateKey
    protected: str  # the encoded JWS header of every answer: alg, typ, x5c


def load_identity(pki: Path) -> Identity:
    folder = pki / PARTICIPANT
    key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), None)
    if not isinstance(key, compact_jws.PrivateKey):
        raise ValueError("the registry's key is neither ECDSA nor RSA")
    chain = x509.load_pem_x509_certificates((folder / "cert.pem").read_bytes())
    x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain]
    header = {"alg": compact_jws.algorithm_for(key), "typ": TYP, "x5c": x5c}
    return Identity(key, compact_jws.b64url(json.dumps(header).encode()))


class QueryChecker:
    """Accepts only queries signed by an allowed participant whose certificate the CA issued."""

    def __init__(self, ca: x509.Certificate, allowed: frozenset[str]) -> None:
        self._ca = ca
        self._allowed = allowed
        self._known: dict[str, Any] = {}

    def payload(self, token: bytes) -> dict[str, Any]:
        leaf_b64 = compact_jws.header(token)["x5c"][0]
        key = self._known.get(leaf_b64)
        if key is None:
            leaf = x509.load_der_x509_certificate(base64.b64decode(leaf_b64))
            leaf.verify_directly_issued_by(self._ca)
            now = dt.datetime.now(dt.UTC)
            if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
                raise ValueError("certificate outside its validity")
            codes = [a.value for a in leaf.subject.get_attributes_for_oid(ORG_ID)]
            if codes != [c for c in codes if c in self._allowed] or not codes:
                raise ValueError(f"querier {codes} is not allowed")
            key = self._known[leaf_b64] = leaf.public_key()
        payload: dict[str, Any] = json.loads(compact_jws.verify(token, key))
        return payload


class CivilRegistryService:
    def __init__(
        self, registry: Registry, identity: Identity, checker: QueryChecker, amqp_url: str, queue: str = QUEUE
    ) -> None:
        self._registry = registry
        self._identity = identity
        self._checker = checker
        self._amqp_url = amqp_url
        self._queue_name = queue
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self.answered = 0

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._amqp_url)
        channel = await self._connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=200)
        self._channel = channel
        queue = await channel.declare_queue(self._queue_name, durable=True)
        await queue.consume(self._on_query)
        _log("started", queue=self._queue_name, people=self._registry.count())

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    def _sign(self, payload: dict[str, Any]) -> bytes:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return compact_jws.sign(self._identity.key, self._identity.protected, body)

    def answer(self, body: bytes) -> dict[str, Any]:
        """The answer payload to one query body (the registry's whole business logic)."""
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            query = self._checker.payload(body)
        except (ValueError, KeyError, IndexError, TypeError, InvalidSignature) as exc:
            return {
                "queryId": None,
                "status": "error",
                "error": f"query refused: {type(exc).__name__}",
                "obtainedAt": now,
            }
        nin = str(query.get("subject", {}).get("nin", ""))
        try:
            data = self._registry.lookup(str(query.get("documentType")), nin)
        except ValueError as exc:
            return {"queryId": query.get("queryId"), "status": "error", "error": str(exc), "obtainedAt": now}
        _log(
            "query",
            request_id=query.get("requestId"),
            query_id=query.get("queryId"),
            document_type=query.get("documentType"),
            subject=hashlib.sha256(nin.encode()).hexdigest()[:16],
            found=data is not None,
        )
        return {
            "queryId": query.get("queryId"),
            "requestId": query.get("requestId"),
            "status": "found" if data is not None else "not-found",
            "data": data or {},
            "obtainedAt": now,
        }

    async def _on_query(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process(requeue=False):
            if not message.reply_to:
                _log("query_without_reply_to")
                return
            reply = self._sign(self.answer(message.body))
            await self._channel.default_exchange.publish(
                aio_pika.Message(
                    reply,
                    content_type="application/jose",
                    correlation_id=message.correlation_id,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=message.reply_to,
            )
            self.answered += 1


async def serve(home: Path, amqp_url: str, db: Path | None = None, queue: str = QUEUE) -> None:
    pki = home / "pki"
    db = db or home / "sandbox" / "civil-registry.sqlite3"
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        build(db)
    ca = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
    checker = QueryChecker(ca, frozenset({"dz.exchange.gateway"}))
    service = CivilRegistryService(Registry(db), load_identity(pki), checker, amqp_url, queue)
    await service.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await service.stop()
    _log("stopped", answered=service.answered)
