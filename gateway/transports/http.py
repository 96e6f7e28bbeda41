"""The HTTP transport (docs/protocol.md, HTTP): `POST /v1/requests`.

The body is read up to the size limit (a longer one is refused `too_large` without being
read in full; one whose `Content-Encoding` does not decode is `malformed`), answered by the
pipeline, journaled, and returned with the HTTP status of its problem code. No answer leaves
without its audit entry: when the journal cannot be written, the answer becomes a sealed
`internal_error`.
"""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web

from gateway.errors import GatewayError, InternalError, Malformed, TooLarge
from gateway.pipeline import Pipeline
from gateway.protocol import JOSE, XML, Transport

log = structlog.get_logger(__name__)


async def read_limited(request: web.Request, limit: int, seconds: float) -> bytes:
    """The body, or `too_large` as soon as it passes `limit` bytes (counted decoded), or `malformed` when its
    `Content-Encoding` does not decode. A body that takes longer than `seconds` to arrive is answered 408 and
    its connection closed: it never reaches the pipeline."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"body of {request.content_length} bytes exceeds {limit}")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.content.iter_chunked(65536):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"body exceeds {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise web.HTTPRequestTimeout(
            text="the body took too long to arrive\n", headers={"Connection": "close"}
        ) from None
    except web.RequestPayloadError as exc:  # e.g. `Content-Encoding: gzip` on a body that is not gzip
        raise Malformed(f"the body cannot be decoded: {exc}") from None
    return b"".join(chunks)


async def answer(request: web.Request, pipeline: Pipeline, limit: int, seconds: float) -> web.Response:
    """The sealed response to one request sent over HTTP, journaled before it is returned; its body
    read within `seconds`."""
    content_type = request.headers.get("Content-Type")
    try:
        body = await read_limited(request, limit, seconds)
        outcome = await pipeline.handle(body, content_type, transport=Transport.HTTP)
    except GatewayError as exc:  # too large, or not decodable: refused before the pipeline reads anything
        outcome = pipeline.refuse_unread(content_type, exc, Transport.HTTP)
    try:
        outcome = await pipeline.remember(outcome)
    except Exception:  # no answer leaves without its audit entry
        log.exception("audit_failed", request_id=outcome.request_id)
        outcome = pipeline.failure(outcome, InternalError("the audit journal cannot be written"))
    headers = {"X-Status": outcome.status}
    if outcome.problem:
        headers["X-Problem"] = outcome.problem
    if outcome.retry_after is not None:
        headers["Retry-After"] = str(outcome.retry_after)
    return web.Response(
        body=outcome.body,
        status=outcome.http_status,
        headers=headers,
        content_type=JOSE if outcome.kind == "jose" else XML,
    )
