"""Carrying a signed request to the gateway and its sealed answer back: over AMQP (the
`gateway.requests` queue, a reply queue of the client's own, correlation ids, publisher
confirms) or over HTTP (`POST /v1/requests`). The URL's scheme chooses. A printed attestation
always comes over HTTP (`POST /v1/attestations/pdf`)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Protocol

import aio_pika
import aio_pika.abc
import aiohttp
from aio_pika.exceptions import AMQPError, DeliveryError
from yarl import URL

from gateway_client import brokers
from gateway_client.errors import InvalidRequest, PrintRefused, TransportError
from gateway_client.results import AttestationStatus, parse_instant

REQUESTS_QUEUE = "gateway.requests"
SEALED_TYPES = ("application/xml", "application/jose")


class Transport(Protocol):
    """Sends one signed request and returns the sealed answer's bytes, or `TransportError`."""

    async def exchange(self, body: bytes, *, content_type: str, request_id: str, timeout: float) -> bytes: ...

    def keep_replies(self, name: str, seconds: int) -> None: ...

    async def discard_replies(self) -> None: ...

    async def close(self) -> None: ...


def transport_for(url: str, queue: str = REQUESTS_QUEUE) -> Transport:
    """`amqp://`/`amqps://` for the bus (publishing to `queue`), `http://`/`https://` for the HTTP API."""
    scheme = URL(url).scheme
    if scheme in ("amqp", "amqps"):
        return AmqpTransport(url, queue)
    if scheme in ("http", "https"):
        return HttpTransport(url)
    raise InvalidRequest(f"{url!r}: the gateway's URL starts with amqp://, amqps://, http:// or https://")


class HttpTransport:
    """`POST {base}/v1/requests`, on one connection pool."""

    def __init__(self, base_url: str) -> None:
        self.endpoint = str(URL(base_url.rstrip("/") + "/v1/requests"))
        self._session: aiohttp.ClientSession | None = None

    async def exchange(self, body: bytes, *, content_type: str, request_id: str, timeout: float) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                self.endpoint,
                data=body,
                headers={"Content-Type": content_type},
                timeout=aiohttp.ClientTimeout(total=max(timeout, 0.1)),
            ) as response:
                answer = await response.read()
                if response.content_type not in SEALED_TYPES:
                    text = answer[:200].decode("utf-8", "replace").strip()
                    raise TransportError(f"{self.endpoint}: HTTP {response.status} without a sealed answer: {text}")
                return answer
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise TransportError(f"{self.endpoint}: {type(exc).__name__}: {exc}") from None

    def keep_replies(self, name: str, seconds: int) -> None:
        """Nothing to keep: over HTTP an answer comes back on the request's own connection."""

    async def discard_replies(self) -> None:
        """Nothing was kept."""

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class AmqpTransport:
    """Publishes to `gateway.requests`, persistent, mandatory and confirmed, and takes answers
    from a reply queue named for this client, consumed before anything is sent. A robust
    connection declares the queue again, under the same name, after the broker comes back."""

    def __init__(self, url: str, queue: str = REQUESTS_QUEUE) -> None:
        self.url, self.queue = url, queue
        self.reply_queue = f"gateway.client.{uuid.uuid4()}"
        self._kept_seconds: int | None = None
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._waiting: dict[str, asyncio.Future[bytes]] = {}
        self._lock = asyncio.Lock()

    async def _channel_ready(self) -> aio_pika.abc.AbstractChannel:
        async with self._lock:
            if self._channel is None:
                try:
                    self._connection = await brokers.connect(self.url)
                    channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
                    if self._kept_seconds is None:
                        queue = await channel.declare_queue(self.reply_queue, exclusive=True, auto_delete=True)
                    else:  # outlives this process, so that answers to a killed run wait for the next one
                        arguments = {"x-expires": self._kept_seconds * 1000}
                        queue = await channel.declare_queue(self.reply_queue, arguments=arguments)
                    await queue.consume(self._on_answer, no_ack=True)
                except (AMQPError, OSError, asyncio.TimeoutError, ValueError) as exc:
                    await self.close()
                    where = brokers.safe_urls(self.url)
                    raise TransportError(f"the broker at {where} cannot be reached: {exc}") from None
                self._channel = channel
            return self._channel

    def keep_replies(self, name: str, seconds: int) -> None:
        """Takes answers from the queue `name`, which outlives this process by `seconds` unused: a run
        stopped and started again finds there the answers sent meanwhile, instead of the gateway
        dead-lettering them for want of a reply queue. Call it before the first request."""
        if self._channel is not None:
            raise RuntimeError("keep_replies comes before the first request")
        self.reply_queue, self._kept_seconds = name, seconds

    async def discard_replies(self) -> None:
        """Deletes the queue of `keep_replies`, once no answer can still be owed to it."""
        if self._kept_seconds is not None and self._channel is not None:
            await self._channel.queue_delete(self.reply_queue)

    async def _on_answer(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        future = self._waiting.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)

    async def exchange(self, body: bytes, *, content_type: str, request_id: str, timeout: float) -> bytes:
        channel = await self._channel_ready()
        correlation_id = str(uuid.uuid4())
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = future
        try:
            await asyncio.wait_for(
                channel.default_exchange.publish(
                    aio_pika.Message(
                        body,
                        message_id=request_id,
                        correlation_id=correlation_id,
                        content_type=content_type,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        reply_to=self.reply_queue,
                    ),
                    routing_key=self.queue,
                    mandatory=True,
                ),
                max(timeout, 0.1),
            )
            return await asyncio.wait_for(future, max(timeout, 0.1))
        except DeliveryError:
            raise TransportError(f"the broker does not route to {self.queue!r}: is the gateway running?") from None
        except asyncio.TimeoutError:
            hint = "" if await self._consumed() else f"; nothing consumes {self.queue!r}: is the gateway running?"
            raise TransportError(f"no answer on the bus within {timeout:.0f} s{hint}") from None
        except (AMQPError, OSError) as exc:
            raise TransportError(f"the bus failed: {type(exc).__name__}: {exc}") from None
        finally:
            self._waiting.pop(correlation_id, None)

    async def _consumed(self) -> bool:
        """Whether a gateway consumes the request queue (True when the broker cannot say within 2 s).
        The request stays on the queue: a gateway that starts later answers it, if still fresh."""
        if self._connection is None:
            return True
        try:
            channel = await asyncio.wait_for(self._connection.channel(), 2)
            try:
                queue = await asyncio.wait_for(channel.declare_queue(self.queue, passive=True), 2)
                return bool(queue.declaration_result.consumer_count)
            finally:
                if not channel.is_closed:
                    await asyncio.shield(channel.close())
        except (AMQPError, OSError, asyncio.TimeoutError):
            return True

    async def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            await connection.close()


async def print_pdf(site: str, body: bytes, timeout: float) -> bytes:
    """`POST {site}/v1/attestations/pdf` with a signed print request: the PDF, or `PrintRefused`."""
    endpoint = site.rstrip("/") + "/v1/attestations/pdf"
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                endpoint,
                data=body,
                headers={"Content-Type": "application/jose"},
                timeout=aiohttp.ClientTimeout(total=max(timeout, 0.1)),
            ) as response,
        ):
            answer = await response.read()
            if response.status == 200 and response.content_type == "application/pdf":
                return answer
            if response.content_type == "application/json":
                try:
                    refusal = json.loads(answer)
                    code, message = str(refusal["error"]), str(refusal["message"])
                except (ValueError, KeyError, TypeError):
                    code, message = "", ""
                if code:
                    raise PrintRefused(code, message)
            text = answer[:200].decode("utf-8", "replace").strip()
            raise TransportError(f"{endpoint}: HTTP {response.status} without a PDF: {text}")
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise TransportError(f"{endpoint}: {type(exc).__name__}: {exc}") from None


async def attestation_status(site: str, attestation_id: str, timeout: float) -> AttestationStatus:
    """`GET {site}/v1/attestations/<id>`: the attestation's state; `TransportError` when there is no answer
    that says it."""
    endpoint = f"{site.rstrip('/')}/v1/attestations/{attestation_id}"
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(endpoint, timeout=aiohttp.ClientTimeout(total=max(timeout, 0.1))) as response,
        ):
            answer = await response.json(content_type=None) if response.content_type == "application/json" else {}
            if response.status != 200:
                raise TransportError(f"{endpoint}: HTTP {response.status}: {answer.get('error', 'no state')}")
            return AttestationStatus(
                attestation_id=str(answer["attestationId"]),
                state=str(answer["status"]),
                document_type=str(answer["documentType"]),
                provider=str(answer["provider"]),
                issued_at=parse_instant(str(answer["issuedAt"])),
                valid_until=parse_instant(str(answer["validUntil"])),
                sha256=str(answer["sha256"]),
                superseded_by=str(answer["supersededBy"]) if answer.get("supersededBy") else None,
            )
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError) as exc:
        raise TransportError(f"{endpoint}: {type(exc).__name__}: {exc}") from None
