"""`gateway partner check`: a series of test queries sent to a partner on the bus, as the
gateway would send them, and what the partner got wrong (docs/onboarding.md).

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
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.abc

from gateway.adapters import module_name
from gateway.adapters.bus import query_queue
from gateway.config import Config, DocumentType
from gateway.errors import GatewayError
from gateway.protocol import SUBJECT_KEYS
from gateway.registry.catalogue import schema_dir
from gateway.schemas import Schemas
from gateway.signing import jws
from gateway.signing.pki import issue, load_identity, make_ca
from gateway.signing.trust import TrustStore


class CheckError(ValueError):
    """The check cannot run: an unknown partner or type, a partner not on the bus."""


@dataclass(frozen=True)
class Finding:
    query: str
    check: str
    ok: bool
    detail: str = ""


@dataclass
class _Waiting:
    answers: dict[str, tuple[float, aio_pika.abc.AbstractIncomingMessage]] = field(default_factory=dict)
    strays: list[aio_pika.abc.AbstractIncomingMessage] = field(default_factory=list)


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
    """Runs the four queries against partner `code` and returns every check made, passed or not."""
    provider = config.providers.get(code)
    if provider is None:
        raise CheckError(f"{code} is not a provider of the configuration")
    if module_name(provider.adapter) != "bus":
        raise CheckError(f"{code} answers through the {provider.adapter} adapter, not on the bus")
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
    verifier = jws.JWSVerifier(TrustStore.from_pem_file(pki / "ca.pem", pki / "crl"))
    schemas = Schemas(config.catalogue, schema_dir(home))
    findings: list[Finding] = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        waiting = _Waiting()
        reply_queue = await channel.declare_queue("", exclusive=True, auto_delete=True)

        async def on_answer(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            cid = message.correlation_id or ""
            if cid in waiting.answers or cid not in sent:
                waiting.strays.append(message)
            else:
                waiting.answers[cid] = (time.monotonic(), message)

        sent: dict[str, float] = {}
        await reply_queue.consume(on_answer, no_ack=True)
        subject_key = SUBJECT_KEYS[doc_type.subject]
        queries = {
            "found": (gateway_signer, found, b""),
            "not-found": (gateway_signer, missing, b""),
            "malformed": (None, found, b"this is not a compact JWS"),
            "not from the gateway": (impostor_signer, found, b""),
        }
        ids: dict[str, str] = {}
        for name, (signer, subject, raw) in queries.items():
            query_id = str(uuid.uuid4())
            ids[name] = query_id
            payload = {"queryId": query_id, "requestId": str(uuid.uuid4()), "documentType": doc_type.name,
                       "purpose": next(iter(doc_type.purposes)), "requester": "dz.exchange.partner-check",
                       "subject": {subject_key: subject}}  # fmt: skip
            body = signer.sign(json.dumps(payload).encode()) if signer else raw
            sent[query_id] = time.monotonic()
            await channel.default_exchange.publish(
                aio_pika.Message(body, content_type="application/jose", correlation_id=query_id, message_id=query_id,
                                 reply_to=reply_queue.name, expiration=max(3 * doc_type.sla_seconds, 5)),
                routing_key=query_queue(provider),
            )  # fmt: skip
        wait_until = time.monotonic() + max(3 * doc_type.sla_seconds, 5)
        while time.monotonic() < wait_until and len(waiting.answers) < len(ids):
            await asyncio.sleep(0.05)
        for name, query_id in ids.items():
            findings += _judge(name, query_id, sent[query_id], waiting, doc_type, code, verifier, schemas)
        if waiting.strays:
            findings.append(
                Finding(
                    "any",
                    "correlation id",
                    False,
                    f"{len(waiting.strays)} answer(s) with a correlation id "
                    "that names no query sent, or a second answer to one",
                )
            )
    return findings


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
            return [Finding(name, "answered", False, f"no answer with the query's correlation id{stray}")]
        return [Finding(name, "no data given", True, "no answer")]
    at, message = got
    out: list[Finding] = []
    content = _verified(message.body, code, verifier, name, out)
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
