"""`gateway partner check`: a series of test queries sent to a partner, on the bus or over HTTPS,
as the gateway would send them, and what the partner got wrong (docs/onboarding.md).

Four queries: a subject the partner holds, one it does not, a malformed query, and a query
signed by a certificate the exchange's CA did not issue. Each answer is held to the partner
protocol (docs/protocol.md §10): the right correlation id, a signature by the partner under
the exchange's CA, the query's id echoed, the expected status, data within the type's
declared fields and schema, and an answer within the type's SLA. The last two queries must
get no data.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.abc
import aiohttp

from gateway.adapters import module_name
from gateway.adapters.base import AdapterContext
from gateway.adapters.bus import query_queue
from gateway.adapters.http import client_session, client_tls, peer_participant, read_bounded
from gateway.config import Config, DocumentType
from gateway.errors import GatewayError
from gateway.protocol import SUBJECT_KEYS
from gateway.registry.catalogue import schema_dir
from gateway.schemas import Schemas
from gateway.signing import jws
from gateway.signing.pki import issue, load_identity, make_ca
from gateway.signing.trust import TrustStore
from gateway.transports import brokers


class CheckError(ValueError):
    """The check cannot run: an unknown partner or type, a partner that does not speak the partner protocol."""


@dataclass(frozen=True)
class Finding:
    query: str
    check: str
    ok: bool
    detail: str = ""


@dataclass
class _Waiting:
    """What came back: the answer to each query id with its arrival time, answers that named no
    query sent (or a second answer to one), and why a query got no answer, when that is known."""

    answers: dict[str, tuple[float, bytes]] = field(default_factory=dict)
    strays: int = 0
    why_not: dict[str, str] = field(default_factory=dict)


async def check_partner(
    config: Config,
    home: Path,
    code: str,
    amqp_url: str,
    *,
    document_type: str | None = None,
    found: str,
    missing: str,
) -> list[Finding]:
    """Runs the four queries against partner `code`, on the bus or over HTTPS as the configuration
    says, and returns every check made, passed or not."""
    provider = config.providers.get(code)
    if provider is None:
        raise CheckError(f"{code} is not a provider of the configuration")
    adapter = module_name(provider.adapter)
    if adapter not in ("bus", "rest"):
        raise CheckError(f"{code} answers through the {provider.adapter} adapter, not with the partner protocol")
    types = [t for t in config.catalogue.values() if t.provider == code]
    doc_type = next((t for t in types if t.name == document_type), None) if document_type else next(iter(types), None)
    if doc_type is None:
        served = ", ".join(t.name for t in types) or "none"
        raise CheckError(f"{code} does not provide {document_type or 'any document type'} (it provides: {served})")
    pki = home / "pki"
    key, chain = load_identity(pki / config.settings.participant)
    gateway_signer = jws.JWSSigner(key, chain)
    impostor_ca = make_ca("Not the exchange CA")
    impostor = issue(impostor_ca, config.settings.participant)
    impostor_signer = jws.JWSSigner(impostor.key, [impostor.cert])
    trust = TrustStore.from_pem_file(pki / "ca.pem", pki / "crl")
    schemas = Schemas(config.catalogue, schema_dir(home))
    subject_key = SUBJECT_KEYS[doc_type.subject]
    queries = {
        "found": (gateway_signer, found, b""),
        "not-found": (gateway_signer, missing, b""),
        "malformed": (None, found, b"this is not a compact JWS"),
        "not from the gateway": (impostor_signer, found, b""),
    }
    ids: dict[str, str] = {}
    bodies: dict[str, bytes] = {}
    for name, (signer, subject, raw) in queries.items():
        query_id = ids[name] = str(uuid.uuid4())
        payload = {"queryId": query_id, "requestId": str(uuid.uuid4()), "documentType": doc_type.name,
                   "purpose": next(iter(doc_type.purposes)), "requester": "dz.exchange.partner-check",
                   "subject": {subject_key: subject}}  # fmt: skip
        bodies[query_id] = signer.sign(json.dumps(payload).encode()) if signer else raw
    wait = max(3 * doc_type.sla_seconds, 5)
    if adapter == "bus":
        sent, waiting = await _ask_on_bus(amqp_url, query_queue(provider), bodies, wait)
    else:
        tls = client_tls(AdapterContext(None, gateway_signer, trust, config.settings.participant, pki))
        sent, waiting = await _ask_over_https(provider.https_url(), tls, trust, code, bodies, wait)
    verifier = jws.JWSVerifier(trust)
    findings: list[Finding] = []
    for name, query_id in ids.items():
        findings += _judge(name, query_id, sent[query_id], waiting, doc_type, code, verifier, schemas)
    if waiting.strays:
        findings.append(
            Finding(
                "any",
                "correlation id",
                False,
                f"{waiting.strays} answer(s) with a correlation id that names no query sent, or a second answer to one",
            )
        )
    return findings


async def _ask_on_bus(
    amqp_url: str, queue: str, bodies: Mapping[str, bytes], wait: float
) -> tuple[dict[str, float], _Waiting]:
    """Publishes each query to the partner's queue and collects the answers for `wait` seconds at most."""
    waiting = _Waiting()
    sent: dict[str, float] = {}
    connection = await brokers.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        reply_queue = await channel.declare_queue("", exclusive=True, auto_delete=True)

        async def on_answer(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            cid = message.correlation_id or ""
            if cid in waiting.answers or cid not in sent:
                waiting.strays += 1
            else:
                waiting.answers[cid] = (time.monotonic(), message.body)

        await reply_queue.consume(on_answer, no_ack=True)
        for query_id, body in bodies.items():
            sent[query_id] = time.monotonic()
            await channel.default_exchange.publish(
                aio_pika.Message(body, content_type="application/jose", correlation_id=query_id, message_id=query_id,
                                 reply_to=reply_queue.name, expiration=wait),
                routing_key=queue,
            )  # fmt: skip
        wait_until = time.monotonic() + wait
        while time.monotonic() < wait_until and len(waiting.answers) < len(bodies):
            await asyncio.sleep(0.05)
    return sent, waiting


async def _ask_over_https(
    url: str, tls: ssl.SSLContext, trust: TrustStore, code: str, bodies: Mapping[str, bytes], wait: float
) -> tuple[dict[str, float], _Waiting]:
    """POSTs each query to the partner's URL over mutual TLS, as the `rest` adapter does, and keeps each
    answer: a signed body with 200 or 400, from a server whose certificate is the partner's."""
    waiting = _Waiting()
    sent: dict[str, float] = {}
    async with client_session(tls, {"Content-Type": "application/jose"}) as session:

        async def ask(query_id: str, body: bytes) -> None:
            sent[query_id] = time.monotonic()
            try:
                async with asyncio.timeout(wait), session.post(url, data=body, allow_redirects=False) as response:
                    peer = peer_participant(response, trust)
                    answer = await read_bounded(response)
            except (TimeoutError, aiohttp.ClientError, OSError, GatewayError) as exc:
                waiting.why_not[query_id] = f"no answer: {getattr(exc, 'detail', '') or type(exc).__name__}"
                return
            if peer != code:
                waiting.why_not[query_id] = f"the server's certificate is {peer}'s, not {code}'s"
            elif response.status not in (200, 400) or response.content_type != "application/jose":
                waiting.why_not[query_id] = f"HTTP {response.status} {response.content_type or 'untyped'}"
            else:
                waiting.answers[query_id] = (time.monotonic(), answer)

        await asyncio.gather(*(ask(query_id, body) for query_id, body in bodies.items()))
    return sent, waiting


def _judge(
    name: str,
    query_id: str,
    sent_at: float,
    waiting: _Waiting,
    doc_type: DocumentType,
    code: str,
    verifier: jws.JWSVerifier,
    schemas: Schemas,
) -> list[Finding]:
    got = waiting.answers.get(query_id)
    must_answer = name in ("found", "not-found")
    if got is None:
        if must_answer:
            stray = " (an answer came with another correlation id)" if waiting.strays else ""
            why = waiting.why_not.get(query_id, "no answer with the query's correlation id")
            return [Finding(name, "answered", False, f"{why}{stray}")]
        return [Finding(name, "no data given", True, waiting.why_not.get(query_id, "no answer"))]
    at, body = got
    out: list[Finding] = []
    content = _verified(body, code, verifier, name, out)
    if not must_answer:
        status = content.get("status") if content else None
        out.append(Finding(name, "no data given", status not in ("found", "not-found"), f"status {status!r}"))
        return out
    seconds = at - sent_at
    out.append(Finding(name, "within the SLA", seconds <= doc_type.sla_seconds,
                       f"{seconds:.2f} s for an SLA of {doc_type.sla_seconds} s"))  # fmt: skip
    if content is None:
        return out
    out.append(
        Finding(name, "query id echoed", content.get("queryId") == query_id, f"queryId {content.get('queryId')!r}")
    )
    out.append(Finding(name, "status", content.get("status") == name, f"{content.get('status')!r}, expected {name!r}"))
    data = content.get("data")
    if not isinstance(data, Mapping):
        out.append(Finding(name, "data", False, "no data object"))
        return out
    if name == "not-found":
        out.append(Finding(name, "data", not data, "empty" if not data else f"{len(data)} fields with not-found"))
        return out
    undeclared = sorted(set(data) - set(doc_type.fields))
    out.append(Finding(name, "declared fields only", not undeclared, f"undeclared: {undeclared}" if undeclared else
                       f"{len(data)} fields"))  # fmt: skip
    try:
        schemas.check_json_data(doc_type.name, {k: v for k, v in data.items() if k in doc_type.fields})
        out.append(Finding(name, "data fits the schema", True))
    except GatewayError as exc:
        out.append(Finding(name, "data fits the schema", False, exc.detail))
    return out


def _verified(
    body: bytes, code: str, verifier: jws.JWSVerifier, name: str, out: list[Finding]
) -> dict[str, Any] | None:
    try:
        message = jws.parse(body)
        signer = verifier.verify(message)
    except GatewayError as exc:
        out.append(Finding(name, "signed by the partner", False, f"{exc.code}: {exc.detail}"))
        return None
    if signer.participant != code:
        out.append(Finding(name, "signed by the partner", False, f"signed by {signer.participant}, not {code}"))
        return None
    out.append(Finding(name, "signed by the partner", True))
    return dict(message.content)
