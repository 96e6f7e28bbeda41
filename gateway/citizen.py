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
import re
from typing import Any

from aiohttp import web

from gateway import audit
from gateway.errors import AccessDenied, GatewayError, SchemaInvalid, StaleRequest
from gateway.logs import subject_ref
from gateway.runtime import Gateway
from gateway.signing import jws
from gateway.store import AuditEntry
from gateway.validate import parse_instant

ROLE = "citizen-portal"
_IDS = {"nin": re.compile(r"^[0-9]{18}$"), "nif": re.compile(r"^[0-9]{15}$"),
        "rc": re.compile(r"^[0-9]{2}/[0-9]{2}-[0-9]{7}[A-Z][0-9]{2}$")}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _read(gateway: Gateway, body: bytes) -> tuple[str, str, str]:
    """(portal, request id, subject id) of a genuine, fresh report request; or the problem."""
    message = jws.parse(body)
    signer = jws.JWSVerifier(gateway.trust).verify(message)
    participant = gateway.config.participants.get(signer.participant)
    if participant is None or ROLE not in participant.roles:
        raise AccessDenied(f"{signer.participant} is not a citizen portal")
    payload: Any = json.loads(message.payload)
    subject = payload.get("subject")
    if not (isinstance(subject, dict) and len(subject) == 1 and isinstance(payload.get("issuedAt"), str)
            and isinstance(payload.get("requestId"), str) and _UUID.match(payload["requestId"])):
        raise SchemaInvalid("expected {requestId, issuedAt, subject: {nin|nif|rc}}")
    (kind, identifier), = subject.items()
    if kind not in _IDS or not isinstance(identifier, str) or not _IDS[kind].match(identifier):
        raise SchemaInvalid(f"subject {kind!r} is not a well-formed identifier")
    try:
        skew = (parse_instant(payload["issuedAt"]) - dt.datetime.now(dt.UTC)).total_seconds()
    except ValueError:
        raise SchemaInvalid("issuedAt is not an instant") from None
    if abs(skew) > gateway.config.settings.freshness_seconds:
        raise StaleRequest(f"issuedAt is {abs(skew):.0f} s away from the gateway's clock")
    return signer.participant, payload["requestId"], identifier


async def access_report(request: web.Request) -> web.Response:
    from gateway.web import GATEWAY_KEY

    gateway = request.app[GATEWAY_KEY]
    body = await request.content.read(gateway.config.settings.max_body_bytes + 1)
    try:
        if (request.content_type or "") != "application/jose":
            raise SchemaInvalid("the body must be a compact JWS (application/jose)")
        portal, request_id, identifier = _read(gateway, body)
    except GatewayError as exc:
        return web.json_response({"error": exc.code, "message": exc.detail}, status=exc.http_status)
    ref = subject_ref(gateway.log_key, identifier)
    report = {
        "inReplyTo": request_id,
        "issuedAt": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entries": audit.access_report(await gateway.store.audit_by_subject(ref)),
    }
    sealed = gateway.sealer.seal_json(json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode())
    await gateway.store.record(AuditEntry(
        dt.datetime.now(dt.UTC), request_id, "citizen-portal", portal, None, None, None, "access-report", None,
        "served", None, hashlib.sha256(body).hexdigest(), hashlib.sha256(sealed).hexdigest(), ref), None)
    return web.Response(body=sealed, content_type="application/jose")
