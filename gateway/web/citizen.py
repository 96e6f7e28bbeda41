"""The citizen access report over HTTP, for a citizen portal: which administration obtained
which document about a person, when, and for which purpose.

`POST /v1/citizen/access-report`, body a compact JWS (`application/jose`) signed with the
portal's exchange certificate (a participant with the role `citizen-portal`), payload
`{"requestId", "issuedAt", "subject": {"nin" | "nif" | "rc": "..."}}`. The answer is a
JWS sealed by the gateway whose payload lists the journal entries about that subject.
Every report served is itself journaled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from aiohttp import web

from gateway.audit.access import access_report as journal_report
from gateway.errors import AccessDenied, DuplicateConflict, GatewayError, SchemaInvalid, StaleRequest
from gateway.ids import random_uuid
from gateway.logs import subject_ref
from gateway.protocol import JOSE, SUBJECT_PATTERNS, UUID_PATTERN, Transport, instant, parse_instant
from gateway.records import AuditEntry, StoredResponse
from gateway.runtime.worker import Gateway, gateway_of
from gateway.signing import jws
from gateway.transports.http import read_limited

ROLE = "citizen-portal"
SERVED = "served"
#: How long a worker holds a report request's id while it builds the report.
CLAIM_SECONDS = 30.0


def _read(gateway: Gateway, body: bytes) -> tuple[str, str, str]:
    """(portal, request id, subject id) of a genuine, fresh report request; or the problem."""
    message = jws.parse(body)
    signer = jws.JWSVerifier(gateway.trust).verify(message)
    participant = gateway.config.participants.get(signer.participant)
    if participant is None or ROLE not in participant.roles:
        raise AccessDenied(f"{signer.participant} is not a citizen portal")
    payload: Any = message.content
    subject = payload.get("subject")
    if not (
        isinstance(subject, dict)
        and len(subject) == 1
        and isinstance(payload.get("issuedAt"), str)
        and isinstance(payload.get("requestId"), str)
        and UUID_PATTERN.match(payload["requestId"])
    ):
        raise SchemaInvalid("expected {requestId, issuedAt, subject: {nin|nif|rc}}")
    ((kind, identifier),) = subject.items()
    if kind not in SUBJECT_PATTERNS or not isinstance(identifier, str) or not SUBJECT_PATTERNS[kind].match(identifier):
        raise SchemaInvalid(f"subject {kind!r} is not a well-formed identifier")
    try:
        skew = (parse_instant(payload["issuedAt"]) - dt.datetime.now(dt.UTC)).total_seconds()
    except ValueError:
        raise SchemaInvalid("issuedAt is not an instant") from None
    if abs(skew) > gateway.config.settings.freshness_seconds:
        raise StaleRequest(f"issuedAt is {abs(skew):.0f} s away from the gateway's clock")
    return signer.participant, payload["requestId"], identifier


async def access_report(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    settings = gateway.config.settings
    try:
        body = await read_limited(request, settings.max_body_bytes, settings.body_timeout_seconds)
        if (request.content_type or "") != JOSE:
            raise SchemaInvalid("the body must be a compact JWS (application/jose)")
        portal, request_id, identifier = _read(gateway, body)
        await _claim(gateway, request_id)
    except GatewayError as exc:
        return web.json_response({"error": exc.code, "message": exc.detail}, status=exc.http_status)
    ref = subject_ref(gateway.log_key, identifier)
    report = {
        "inReplyTo": request_id,
        "issuedAt": instant(dt.datetime.now(dt.UTC)),
        "entries": journal_report(await gateway.store.audit_by_subject(ref)),
    }
    sealed = gateway.sealer.seal_json(json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode())
    await gateway.store.complete(
        StoredResponse(
            request_id=request_id,
            response_id=random_uuid(),
            digest=hashlib.sha256(body).hexdigest(),
            body=sealed,
            kind="jose",
            status=SERVED,
            problem=None,
            http_status=200,
            document_type=None,
        ),
        None,
        gateway.worker,
    )
    await gateway.store.record(
        AuditEntry(
            at=dt.datetime.now(dt.UTC),
            request_id=request_id,
            transport=Transport.CITIZEN_PORTAL,
            requester=portal,
            purpose="access-report",
            status=SERVED,
            request_sha256=hashlib.sha256(body).hexdigest(),
            response_sha256=hashlib.sha256(sealed).hexdigest(),
            subject_ref=ref,
        ),
        None,
    )
    return web.Response(body=sealed, content_type=JOSE)


async def _claim(gateway: Gateway, request_id: str) -> None:
    """Takes the report request's id, once: a report already served under it, or being served by
    another worker, refuses this one (a captured request cannot be replayed). The id is remembered as
    long as the responses of document requests are."""
    claimed = await gateway.store.claim(request_id, gateway.worker, CLAIM_SECONDS)
    if isinstance(claimed, StoredResponse) or claimed.state == "held":
        raise DuplicateConflict(f"the report request {request_id} was served already")
