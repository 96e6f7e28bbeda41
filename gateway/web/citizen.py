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

from aiohttp import web

from gateway.audit.access import access_report as journal_report
from gateway.errors import AccessDenied, GatewayError
from gateway.ids import random_uuid
from gateway.logs import subject_ref
from gateway.protocol import JOSE, Transport, instant
from gateway.records import AuditEntry
from gateway.runtime.worker import gateway_of
from gateway.web.signed_requests import claim_once, read_signed, remember_served, subject_id

ROLE = "citizen-portal"
SERVED = "served"


async def access_report(request: web.Request) -> web.Response:
    gateway = gateway_of(request)
    try:
        signer, payload, body = await read_signed(gateway, request, "requestId", "subject")
        participant = gateway.config.participants.get(signer.participant)
        if participant is None or ROLE not in participant.roles:
            raise AccessDenied(f"{signer.participant} is not a citizen portal")
        request_id, identifier = payload["requestId"], subject_id(payload)
        await claim_once(gateway, request_id, "report request")
    except GatewayError as exc:
        return web.json_response({"error": exc.code, "message": exc.detail}, status=exc.http_status)
    ref = subject_ref(gateway.log_key, identifier)
    report = {
        "inReplyTo": request_id,
        "issuedAt": instant(dt.datetime.now(dt.UTC)),
        "entries": journal_report(await gateway.store.audit_by_subject(ref)),
    }
    sealed = gateway.sealer.seal_json(json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode())
    digest = hashlib.sha256(body).hexdigest()
    await remember_served(gateway, request_id, digest, SERVED, body=sealed, response_id=random_uuid())
    await gateway.store.record(
        AuditEntry(
            at=dt.datetime.now(dt.UTC),
            request_id=request_id,
            transport=Transport.CITIZEN_PORTAL,
            requester=signer.participant,
            purpose="access-report",
            status=SERVED,
            request_sha256=digest,
            response_sha256=hashlib.sha256(sealed).hexdigest(),
            subject_ref=ref,
        ),
        None,
    )
    return web.Response(body=sealed, content_type=JOSE)
