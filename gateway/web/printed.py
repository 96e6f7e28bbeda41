"""The printable attestation over HTTP, for the requester that obtained it and no one else.

`POST /v1/attestations/pdf`, body a compact JWS (`application/jose`) signed with the
requester's exchange certificate, payload `{"requestId", "issuedAt", "visibleSeal"}`: the
visible seal that came with the attestation (`VisibleSeal` of the response). The answer is
the A4 PDF (`application/pdf`). The seal must be the gateway's, the signer the requester it
names, the attestation known and not revoked, and the request fresh and never seen before:
a captured request cannot be replayed. Each page printed is journaled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from typing import Any

from aiohttp import web

from gateway.errors import AccessDenied, DuplicateConflict, GatewayError, SchemaInvalid, SignatureInvalid, StaleRequest
from gateway.ids import check_code
from gateway.printing.attestation_pdf import Printable, parties, render
from gateway.protocol import JOSE, UUID_PATTERN, Transport, parse_instant
from gateway.records import AuditEntry, StoredResponse
from gateway.runtime.worker import Gateway, gateway_of
from gateway.signing import jws
from gateway.signing.visible_seal import Claims, VisibleSealError, check
from gateway.store import attestation_state
from gateway.transports.http import read_limited

PDF = "application/pdf"
PRINTED = "printed"
CLAIM_SECONDS = 30.0


def _read(gateway: Gateway, body: bytes) -> tuple[str, str, str, Claims]:
    """(requester, request id, token, the token's claims) of a genuine, fresh print request; or the problem."""
    message = jws.parse(body)
    signer = jws.JWSVerifier(gateway.trust).verify(message)
    payload: Any = message.content
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("issuedAt"), str)
        and isinstance(payload.get("requestId"), str)
        and UUID_PATTERN.match(payload["requestId"])
        and isinstance(payload.get("visibleSeal"), str)
    ):
        raise SchemaInvalid("expected {requestId, issuedAt, visibleSeal}")
    try:
        skew = (parse_instant(payload["issuedAt"]) - dt.datetime.now(dt.UTC)).total_seconds()
    except ValueError:
        raise SchemaInvalid("issuedAt is not an instant") from None
    if abs(skew) > gateway.config.settings.freshness_seconds:
        raise StaleRequest(f"issuedAt is {abs(skew):.0f} s away from the gateway's clock")
    try:
        claims = check(payload["visibleSeal"], [gateway.sealer.certificate])
    except VisibleSealError as exc:
        raise SignatureInvalid(f"visible seal: {exc.verdict}: {exc.detail}") from None
    if claims.requester != signer.participant:
        raise AccessDenied(f"the attestation was obtained by {claims.requester}, not {signer.participant}")
    return signer.participant, payload["requestId"], payload["visibleSeal"], claims


async def attestation_pdf(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    settings = gateway.config.settings
    try:
        body = await read_limited(request, settings.max_body_bytes, settings.body_timeout_seconds)
        if (request.content_type or "") != JOSE:
            raise SchemaInvalid("the body must be a compact JWS (application/jose)")
        requester, request_id, token, claims = _read(gateway, body)
        record = await gateway.store.find_attestation(claims.attestation_id)
        if record is None:
            raise AccessDenied(f"attestation {claims.attestation_id} is not known to this exchange")
        state, replaced_by = await attestation_state(gateway.store, record, dt.datetime.now(dt.UTC))
        if state in ("revoked", "superseded"):
            instead = f"; ask for {replaced_by}" if replaced_by else ""
            raise AccessDenied(f"attestation {claims.attestation_id} is {state}: it is no longer printed{instead}")
        claimed = await gateway.store.claim(request_id, gateway.worker, CLAIM_SECONDS)
        if isinstance(claimed, StoredResponse) or claimed.state == "held":
            raise DuplicateConflict(f"the print request {request_id} was served already")
    except GatewayError as exc:
        return web.json_response({"error": exc.code, "message": exc.detail}, status=exc.http_status)
    names = {code: (p.name, p.name_ar) for code, p in gateway.config.participants.items()}
    printable = Printable(
        claims,
        token,
        check_code(claims.attestation_id),
        parties(names, claims.provider),
        parties(names, claims.requester),
        f"{settings.public_url.rstrip('/')}/verify",
    )
    pdf = await asyncio.to_thread(render, printable)
    await _remember(gateway, request_id, body, pdf, requester, claims)
    return web.Response(
        body=pdf,
        content_type=PDF,
        headers={"Content-Disposition": f'attachment; filename="attestation-{claims.attestation_id}.pdf"'},
    )


async def _remember(gateway: Gateway, request_id: str, body: bytes, pdf: bytes, requester: str, claims: Claims) -> None:
    """The print request's id kept as served (for as long as responses are), and the printing journaled."""
    digest, printed = hashlib.sha256(body).hexdigest(), hashlib.sha256(pdf).hexdigest()
    await gateway.store.complete(
        StoredResponse(
            request_id=request_id,
            response_id=claims.attestation_id,
            digest=digest,
            body=b"",
            kind="jose",
            status=PRINTED,
            problem=None,
            http_status=200,
            document_type=claims.document_type,
        ),
        None,
        gateway.worker,
    )
    await gateway.store.record(
        AuditEntry(
            at=dt.datetime.now(dt.UTC),
            request_id=request_id,
            transport=Transport.HTTP,
            requester=requester,
            document_type=claims.document_type,
            purpose=claims.purpose,
            status=PRINTED,
            request_sha256=digest,
            response_sha256=printed,
        ),
        None,
    )
