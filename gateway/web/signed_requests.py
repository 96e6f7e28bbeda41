"""What the endpoints that read a participant's signed JWS share (the citizen access report, the
printed attestation, the providers' corrections): the body read and verified, its id and
`issuedAt` checked, its subject read, the id served once, and the served request remembered.

Each refuses with the exception tree's problem codes: `schema_invalid` for a payload without
its fields, `stale_request` for an `issuedAt` away from the gateway's clock by more than
`freshness_seconds`, `duplicate_conflict` for an id served before (a captured request cannot be
replayed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from gateway.errors import DuplicateConflict, SchemaInvalid, StaleRequest
from gateway.protocol import JOSE, SUBJECT_PATTERNS, UUID_PATTERN, parse_instant
from gateway.records import StoredResponse
from gateway.runtime.worker import Gateway
from gateway.signing import jws
from gateway.signing.trust import Signer
from gateway.transports.http import read_limited

#: How long a worker holds a signed request's id while it serves it.
CLAIM_SECONDS = 30.0


async def read_signed(gateway: Gateway, request: web.Request, id_field: str, *fields: str) -> tuple[Signer, Any, bytes]:
    """The signer, the payload and the body of a compact JWS whose `id_field` is a UUID, whose `issuedAt`
    is fresh and which has the other `fields`; or the problem."""
    settings = gateway.config.settings
    body = await read_limited(request, settings.max_body_bytes, settings.body_timeout_seconds)
    if (request.content_type or "") != JOSE:
        raise SchemaInvalid("the body must be a compact JWS (application/jose)")
    message = jws.parse(body)
    signer = jws.JWSVerifier(gateway.trust).verify(message)
    payload: Any = message.content
    expected = ", ".join((id_field, "issuedAt", *fields))
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get(id_field), str)
        and UUID_PATTERN.match(payload[id_field])
        and isinstance(payload.get("issuedAt"), str)
        and all(name in payload for name in fields)
    ):
        raise SchemaInvalid(f"expected {{{expected}}}")
    try:
        skew = (parse_instant(payload["issuedAt"]) - dt.datetime.now(dt.UTC)).total_seconds()
    except ValueError:
        raise SchemaInvalid("issuedAt is not an instant") from None
    if abs(skew) > settings.freshness_seconds:
        raise StaleRequest(f"issuedAt is {abs(skew):.0f} s away from the gateway's clock")
    return signer, payload, body


def subject_id(payload: Any) -> str:
    """The identifier of a payload's `subject`: `{"nin" | "nif" | "rc": id}`, well formed; or `schema_invalid`."""
    subject = payload.get("subject")
    if not (isinstance(subject, dict) and len(subject) == 1):
        raise SchemaInvalid("expected subject: {nin|nif|rc}")
    ((kind, identifier),) = subject.items()
    if kind not in SUBJECT_PATTERNS or not isinstance(identifier, str) or not SUBJECT_PATTERNS[kind].match(identifier):
        raise SchemaInvalid(f"subject {kind!r} is not a well-formed identifier")
    return identifier


async def claim_once(gateway: Gateway, request_id: str, what: str) -> None:
    """Takes the request's id, once: served already, or being served by another worker, is refused."""
    claimed = await gateway.store.claim(request_id, gateway.worker, CLAIM_SECONDS)
    if isinstance(claimed, StoredResponse) or claimed.state == "held":
        raise DuplicateConflict(f"the {what} {request_id} was served already")


async def remember_served(
    gateway: Gateway,
    request_id: str,
    digest: str,
    status: str,
    *,
    body: bytes = b"",
    response_id: str | None = None,
    document_type: str | None = None,
) -> None:
    """The served request's id kept (for as long as responses are), so that it is not served again."""
    await gateway.store.complete(
        StoredResponse(
            request_id=request_id,
            response_id=response_id or request_id,
            digest=digest,
            body=body,
            kind="jose",
            status=status,
            problem=None,
            http_status=200,
            document_type=document_type,
        ),
        None,
        gateway.worker,
    )
