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

from aiohttp import web

from gateway.errors import AccessDenied, GatewayError
from gateway.logs import subject_ref
from gateway.protocol import Transport
from gateway.records import AuditEntry
from gateway.runtime.worker import gateway_of
from gateway.web.signed_requests import claim_once, read_signed, remember_served, subject_id

CORRECTED = "corrected"


async def correction(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    try:
        signer, payload, body = await read_signed(gateway, request, "noticeId", "documentType", "subject")
        provider, notice_id, identifier = signer.participant, payload["noticeId"], subject_id(payload)
        document_type = gateway.config.catalogue.get(str(payload["documentType"]))
        if document_type is None or document_type.provider != provider:
            raise AccessDenied(f"{provider} does not provide {payload['documentType']!r}")
        await claim_once(gateway, notice_id, "correction notice")
    except GatewayError as exc:
        return web.json_response({"error": exc.code, "message": exc.detail}, status=exc.http_status)
    now = dt.datetime.now(dt.UTC)
    ref = subject_ref(gateway.log_key, identifier)
    superseded = await gateway.store.supersede(ref, document_type.name, now)
    digest = hashlib.sha256(body).hexdigest()
    await remember_served(gateway, notice_id, digest, CORRECTED, document_type=document_type.name)
    await gateway.store.record(
        AuditEntry(
            at=now,
            request_id=notice_id,
            transport=Transport.HTTP,
            requester=provider,
            document_type=document_type.name,
            provider=provider,
            status=CORRECTED,
            request_sha256=digest,
            subject_ref=ref,
        ),
        None,
    )
    return web.json_response({"noticeId": notice_id, "superseded": superseded})
