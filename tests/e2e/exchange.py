"""Test-side client of the exchange: builds and signs requests, as a CNAS back-office would."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import aio_pika
import aio_pika.abc
from cryptography import x509
from lxml import etree
from signxml import methods
from signxml.signer import XMLSigner

from gateway import config as config_module
from gateway.config import Config
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import Issued, cert_pem

AMQP_URL = config_module.load().settings.amqp_url
NS = "urn:dz:exchange:v1"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


def with_provider(config: Config, code: str, **options: object) -> Config:
    """`config` with one provider's options changed."""
    providers = dict(config.providers)
    providers[code] = dataclasses.replace(providers[code], options=MappingProxyType(
        {**providers[code].options, **options}))
    return dataclasses.replace(config, providers=MappingProxyType(providers))


def now_iso(offset_s: float = 0) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_fields(document_type: str = "birth-certificate", subject: Mapping[str, str] | None = None,
                   purpose: str = "family-allowance", **overrides: Any) -> dict[str, Any]:
    """A request in its JSON (camelCase) form; XML is rendered from the same fields."""
    fields: dict[str, Any] = {
        "requestId": str(uuid.uuid4()),
        "requester": "dz.cnas",
        "agency": "CNAS-16-001",
        "documentType": document_type,
        "purpose": purpose,
        "issuedAt": now_iso(),
        "subject": dict(subject or {"nin": "109870123456789012"}),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


_ORDER = ["requestId", "requester", "agency", "agent", "documentType", "purpose", "caseReference", "priority",
          "issuedAt", "deadline"]


def to_xml(fields: Mapping[str, Any]) -> etree._Element:
    root = etree.Element(f"{{{NS}}}DocumentRequest", nsmap={None: NS})
    for key in _ORDER:
        if key in fields:
            etree.SubElement(root, f"{{{NS}}}{key[0].upper()}{key[1:]}").text = str(fields[key])
    subject = etree.SubElement(root, f"{{{NS}}}Subject")
    for key, value in fields["subject"].items():
        etree.SubElement(subject, f"{{{NS}}}{key.upper()}").text = value
    return root


def sign_xml(root: etree._Element, who: Issued, chain: list[x509.Certificate] | None = None,
             *, c14n: str = EXC_C14N) -> bytes:
    signer = XMLSigner(method=methods.enveloped, signature_algorithm="ecdsa-sha256", digest_algorithm="sha256",
                       c14n_algorithm=c14n)
    if not hasattr(who.key, "curve"):
        signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                           c14n_algorithm=c14n)
    certs = [cert_pem(c).decode() for c in [who.cert, *(chain or [])]]
    signed = signer.sign(root, key=who.key, cert=certs, always_add_key_value=False)
    return bytes(etree.tostring(signed))


def signed_xml(who: Issued, **kw: Any) -> tuple[str, bytes]:
    fields = request_fields(**kw)
    return fields["requestId"], sign_xml(to_xml(fields), who)


def signed_jws(who: Issued, **kw: Any) -> tuple[str, bytes]:
    fields = request_fields(**kw)
    payload = json.dumps(fields, separators=(",", ":")).encode()
    return fields["requestId"], JWSSigner(who.key, [who.cert]).sign(payload)


@dataclass
class Reply:
    body: bytes
    message: aio_pika.abc.AbstractIncomingMessage

    @property
    def headers(self) -> Mapping[str, Any]:
        return self.message.headers or {}

    @property
    def status(self) -> Any:
        return self.headers.get("x-status")

    @property
    def problem(self) -> Any:
        return self.headers.get("x-problem")


@dataclass
class BusClient:
    """An AMQP client with its own exclusive reply queue."""

    channel: aio_pika.abc.AbstractChannel
    request_queue: str
    reply_queue: aio_pika.abc.AbstractQueue | None = None
    waiting: dict[str, asyncio.Future[Reply]] = field(default_factory=dict)

    async def start(self) -> None:
        self.reply_queue = await self.channel.declare_queue("", exclusive=True, auto_delete=True)
        await self.reply_queue.consume(self._on_reply, no_ack=True)

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        future = self.waiting.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(Reply(message.body, message))

    async def send(self, body: bytes, *, message_id: str | None, content_type: str | None = "application/xml",
                   reply_to: str | None = "", correlation_id: str | None = None) -> str:
        assert self.reply_queue is not None
        cid = correlation_id or str(uuid.uuid4())
        self.waiting[cid] = asyncio.get_running_loop().create_future()
        await self.channel.default_exchange.publish(
            aio_pika.Message(body, message_id=message_id, correlation_id=cid, content_type=content_type,
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                             reply_to=self.reply_queue.name if reply_to == "" else reply_to),
            routing_key=self.request_queue,
        )
        return cid

    async def wait(self, cid: str, timeout: float = 20.0) -> Reply:
        try:
            return await asyncio.wait_for(self.waiting[cid], timeout)
        finally:
            self.waiting.pop(cid, None)

    async def call(self, body: bytes, *, message_id: str | None, content_type: str | None = "application/xml",
                   timeout: float = 20.0) -> Reply:
        return await self.wait(await self.send(body, message_id=message_id, content_type=content_type), timeout)
