"""Test-side client of the exchange: requests built and signed by `gateway_client`, as a CNAS back
office would, and an AMQP client with its own reply queue."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import aio_pika
import aio_pika.abc
from cryptography import x509
from lxml import etree

from gateway import config as config_module
from gateway.config import Config
from gateway.signing.pki import Issued
from gateway_client import Identity, request_fields, signed_request, to_xml
from gateway_client.request import instant
from gateway_client.signing import EXC_C14N
from gateway_client.signing import sign_xml as client_sign_xml

AMQP_URL = config_module.load().settings.amqp_url
__all__ = [
    "AMQP_URL",
    "BusClient",
    "Reply",
    "request_fields",
    "sign_xml",
    "signed_jws",
    "signed_xml",
    "to_xml",
    "with_provider",
]


def with_provider(config: Config, code: str, **options: object) -> Config:
    """`config` with one provider's options changed."""
    providers = dict(config.providers)
    providers[code] = dataclasses.replace(
        providers[code], options=MappingProxyType({**providers[code].options, **options})
    )
    return dataclasses.replace(config, providers=MappingProxyType(providers))


def now_iso(offset_s: float = 0) -> str:
    return instant(offset_s)


def sign_xml(
    root: etree._Element, who: Issued, chain: list[x509.Certificate] | None = None, *, c14n: str = EXC_C14N
) -> bytes:
    """`root` signed by `who`, with `chain` (intermediates) after its certificate."""
    return client_sign_xml(root, who.key, [who.cert, *(chain or [])], c14n=c14n)


def signed_xml(who: Issued, **kw: Any) -> tuple[str, bytes]:
    fields = request_fields(**kw)
    return fields["requestId"], signed_request(Identity(who.key, [who.cert]), fields, "xml")


def signed_jws(who: Issued, **kw: Any) -> tuple[str, bytes]:
    fields = request_fields(**kw)
    return fields["requestId"], signed_request(Identity(who.key, [who.cert]), fields, "jws")


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

    async def send(
        self,
        body: bytes,
        *,
        message_id: str | None,
        content_type: str | None = "application/xml",
        reply_to: str | None = "",
        correlation_id: str | None = None,
    ) -> str:
        assert self.reply_queue is not None
        cid = correlation_id or str(uuid.uuid4())
        self.waiting[cid] = asyncio.get_running_loop().create_future()
        await self.channel.default_exchange.publish(
            aio_pika.Message(
                body,
                message_id=message_id,
                correlation_id=cid,
                content_type=content_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                reply_to=self.reply_queue.name if reply_to == "" else reply_to,
            ),
            routing_key=self.request_queue,
        )
        return cid

    async def wait(self, cid: str, timeout: float = 20.0) -> Reply:
        try:
            return await asyncio.wait_for(self.waiting[cid], timeout)
        finally:
            self.waiting.pop(cid, None)

    async def call(
        self,
        body: bytes,
        *,
        message_id: str | None,
        content_type: str | None = "application/xml",
        timeout: float = 20.0,
    ) -> Reply:
        return await self.wait(await self.send(body, message_id=message_id, content_type=content_type), timeout)
