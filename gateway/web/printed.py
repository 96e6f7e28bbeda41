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

from aiohttp import web

from gateway.errors import AccessDenied, GatewayError, SignatureInvalid
from gateway.ids import check_code
from gateway.printing.attestation_pdf import Printable, parties, render
from gateway.protocol import Transport
from gateway.records import AuditEntry
from gateway.runtime.worker import Gateway, gateway_of
from gateway.signing.visible_seal import Claims, VisibleSealError, check
from gateway.store import attestation_state
from gateway.web.signed_requests import claim_once, read_signed, remember_served

PDF = "application/pdf"
PRINTED = "printed"


def _claims(gateway: Gateway, signer: str, token: str) -> Claims:
    """The claims of the gateway's own, unaltered visible seal, obtained by `signer`; or the problem."""
    try:
        claims = check(token, gateway.seal_certificates())
    except VisibleSealError as exc:
        raise SignatureInvalid(f"visible seal: {exc.verdict}: {exc.detail}") from None
    if claims.requester != signer:
        raise AccessDenied(f"the attestation was obtained by {claims.requester}, not {signer}")
    return claims


async def attestation_pdf(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    settings = gateway.config.settings
    try:
        signer, payload, body = await read_signed(gateway, request, "requestId", "visibleSeal")
        request_id, token = payload["requestId"], str(payload["visibleSeal"])
        requester, claims = signer.participant, _claims(gateway, signer.participant, token)
        record = await gateway.store.find_attestation(claims.attestation_id)
        if record is None:
            raise AccessDenied(f"attestation {claims.attestation_id} is not known to this exchange")
        state, replaced_by = await attestation_state(gateway.store, record, dt.datetime.now(dt.UTC))
        if state != "valid":
            instead = f"; ask for {replaced_by}" if replaced_by else ""
            raise AccessDenied(f"attestation {claims.attestation_id} is {state}: it is no longer printed{instead}")
        await claim_once(gateway, request_id, "print request")
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
    """The print request's id kept as served, and the printing journaled."""
    digest = hashlib.sha256(body).hexdigest()
    await remember_served(
        gateway, request_id, digest, PRINTED, response_id=claims.attestation_id, document_type=claims.document_type
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
            response_sha256=hashlib.sha256(pdf).hexdigest(),
        ),
        None,
    )
