"""Corrections: an administration says that it corrected a record, and the attestations issued
from the old one become `superseded`.

`POST /v1/partners/corrections`, body a compact JWS (`application/jose`) signed with the
provider's exchange certificate, payload `{"noticeId", "issuedAt", "documentType",
"subject": {"nin" | "nif" | "rc": …}}` (the partner kit's `notify_correction` sends it). Only the
provider of that document type may send it, fresh, and once per `noticeId`. Every `issued`
attestation of that type about that subject, issued before the notice, becomes superseded; the
next one issued for the same requester is the one they point to. The answer is JSON
`{"noticeId", "superseded": n}`. Each notice is journaled, with the subject as a keyed hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from aiohttp import web

from gateway.errors import AccessDenied, DuplicateConflict, GatewayError, SchemaInvalid, StaleRequest
from gateway.logs import subject_ref
from gateway.protocol import JOSE, SUBJECT_PATTERNS, UUID_PATTERN, Transport, parse_instant
from gateway.records import AuditEntry, StoredResponse
from gateway.runtime.worker import Gateway, gateway_of
from gateway.signing import jws
from gateway.transports.http import read_limited

CORRECTED = "corrected"
CLAIM_SECONDS = 30.0


def _read(gateway: Gateway, body: bytes) -> tuple[str, str, str, str]:
    """(provider, notice id, document type, subject id) of a genuine, fresh notice; or the problem."""
    message = jws.parse(body)
    signer = jws.JWSVerifier(gateway.trust).verify(message)
    payload: Any = message.content
    subject = payload.get("subject") if isinstance(payload, dict) else None
    if not (
        isinstance(subject, dict)
        and len(subject) == 1
        and isinstance(payload.get("issuedAt"), str)
        and isinstance(payload.get("documentType"), str)
        and isinstance(payload.get("noticeId"), str)
        and UUID_PATTERN.match(payload["noticeId"])
    ):
        raise SchemaInvalid("expected {noticeId, issuedAt, documentType, subject: {nin|nif|rc}}")
    ((kind, identifier),) = subject.items()
    if kind not in SUBJECT_PATTERNS or not isinstance(identifier, str) or not SUBJECT_PATTERNS[kind].match(identifier):
        raise SchemaInvalid(f"subject {kind!r} is not a well-formed identifier")
    try:
        skew = (parse_instant(payload["issuedAt"]) - dt.datetime.now(dt.UTC)).total_seconds()
    except ValueError:
        raise SchemaInvalid("issuedAt is not an instant") from None
    if abs(skew) > gateway.config.settings.freshness_seconds:
        raise StaleRequest(f"issuedAt is {abs(skew):.0f} s away from the gateway's clock")
    document_type = gateway.config.catalogue.get(payload["documentType"])
    if document_type is None or document_type.provider != signer.participant:
        raise AccessDenied(f"{signer.participant} does not provide {payload['documentType']!r}")
    return signer.participant, payload["noticeId"], document_type.name, identifier


async def correction(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    settings = gateway.config.settings
    try:
        body = await read_limited(request, settings.max_body_bytes, settings.body_timeout_seconds)
        if (request.content_type or "") != JOSE:
            raise SchemaInvalid("the body must be a compact JWS (application/jose)")
        provider, notice_id, document_type, identifier = _read(gateway, body)
        claimed = await gateway.store.claim(notice_id, gateway.worker, CLAIM_SECONDS)
        if isinstance(claimed, StoredResponse) or claimed.state == "held":
            raise DuplicateConflict(f"the correction notice {notice_id} was taken already")
    except GatewayError as exc:
        return web.json_response({"error": exc.code, "message": exc.detail}, status=exc.http_status)
    now = dt.datetime.now(dt.UTC)
    ref = subject_ref(gateway.log_key, identifier)
    superseded = await gateway.store.supersede(ref, document_type, now)
    digest = hashlib.sha256(body).hexdigest()
    answer = {"noticeId": notice_id, "superseded": superseded}
    await gateway.store.complete(
        StoredResponse(
            request_id=notice_id,
            response_id=notice_id,
            digest=digest,
            body=b"",
            kind="jose",
            status=CORRECTED,
            problem=None,
            http_status=200,
            document_type=document_type,
        ),
        None,
        gateway.worker,
    )
    await gateway.store.record(
        AuditEntry(
            at=now,
            request_id=notice_id,
            transport=Transport.HTTP,
            requester=provider,
            document_type=document_type,
            provider=provider,
            status=CORRECTED,
            request_sha256=digest,
            subject_ref=ref,
        ),
        None,
    )
    return web.json_response(answer)
