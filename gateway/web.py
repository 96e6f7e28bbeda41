"""The HTTP transport and the public endpoints (PROTOCOL §3, §6 and §7)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import structlog
from aiohttp import web
from lxml import etree

from gateway import citizen, dashboard
from gateway.errors import GatewayError, InternalError, TooLarge
from gateway.intake import JOSE, XML
from gateway.local_secrets import secret_key
from gateway.operators import Sessions
from gateway.runtime import Gateway
from gateway.schemas import schema_path
from gateway.signing.seal import verify_seal

log = structlog.get_logger(__name__)
GATEWAY_KEY = web.AppKey("gateway", Gateway)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NS = "{urn:dz:exchange:v1}"


def _gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY_KEY]


async def _read_limited(request: web.Request, limit: int) -> bytes:
    """The body, or `too_large` as soon as it passes `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"body of {request.content_length} bytes exceeds {limit}")
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def post_request(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    assert gateway.pipeline is not None
    limit = gateway.config.settings.max_body_bytes
    content_type = request.headers.get("Content-Type")
    try:
        body = await _read_limited(request, limit)
        outcome = await gateway.pipeline.handle(body, content_type, transport="http")
    except TooLarge as exc:
        outcome = gateway.pipeline.refuse_unread(content_type, exc, "http")
    assert outcome.audit is not None
    try:
        await gateway.store.record(outcome.audit, None, outcome.journey)
    except Exception:  # no answer leaves without its audit entry
        log.exception("audit_failed", request_id=outcome.request_id)
        outcome = gateway.pipeline.failure(outcome, InternalError("the audit journal cannot be written"))
    headers = {"X-Status": outcome.status}
    if outcome.problem:
        headers["X-Problem"] = outcome.problem
    if outcome.retry_after is not None:
        headers["Retry-After"] = str(outcome.retry_after)
    return web.Response(body=outcome.body, status=outcome.http_status, headers=headers,
                        content_type=JOSE if outcome.kind == "jose" else XML)


async def document_types(request: web.Request) -> web.Response:
    catalogue = _gateway(request).config.catalogue
    return web.json_response([
        {"name": t.name, "provider": t.provider, "subject": t.subject, "slaSeconds": t.sla_seconds,
         "validityDays": t.validity_days, "purposes": {p: list(f) for p, f in t.purposes.items()}}
        for t in catalogue.values()
    ])


async def schema(request: web.Request) -> web.StreamResponse:
    path = schema_path(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound(text="unknown schema\n")
    kind = "application/schema+json" if path.suffix == ".json" else "application/xml"
    return web.Response(body=path.read_bytes(), content_type=kind)


def _public(record: Any, now: dt.datetime) -> dict[str, Any]:
    return {
        "attestationId": record.attestation_id,
        "status": record.state(now),
        "documentType": record.document_type,
        "provider": record.provider,
        "issuedAt": record.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validUntil": record.valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sha256": record.sha256,
    }


async def attestation(request: web.Request) -> web.Response:
    attestation_id = request.match_info["attestation_id"].lower()
    record = await _gateway(request).store.find_attestation(attestation_id) if _UUID.match(attestation_id) else None
    if record is None:
        return web.json_response({"error": "unknown attestation"}, status=404)
    return web.json_response(_public(record, dt.datetime.now(dt.UTC)))


async def verify(request: web.Request) -> web.Response:
    """Is this sealed document genuine, and what is the state of its attestation?"""
    gateway = _gateway(request)
    try:
        body = await _read_limited(request, 4 * gateway.config.settings.max_body_bytes)
        seal = verify_seal(body, gateway.trust)
    except GatewayError as exc:
        return web.json_response({"valid": False, "reason": f"{exc.code}: {exc.detail}"})
    if seal.signer.participant != gateway.config.settings.participant:
        return web.json_response({"valid": False, "reason": f"sealed by {seal.signer.participant}, not the gateway"})
    attestation_id = _attestation_id(seal.xml, seal.payload)
    out: dict[str, Any] = {"valid": True}
    if attestation_id:
        record = await gateway.store.find_attestation(attestation_id.lower())
        if record is not None:
            out["status"] = record.state(dt.datetime.now(dt.UTC))
            out["attestationId"] = record.attestation_id
            if out["status"] != "valid":
                out.update(valid=False, reason=f"the attestation is {out['status']}")
    return web.json_response(out)


def _attestation_id(xml: etree._Element | None, payload: bytes | None) -> str | None:
    if xml is not None:
        node = xml.find(f"{NS}Attestation/{NS}AttestationId")
        return node.text if node is not None else None
    if payload is not None:
        try:
            value = json.loads(payload).get("attestation", {}).get("attestationId")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None
    return None


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    checks = await _gateway(request).readiness()
    ready = all(checks.values())
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    body = _gateway(request).metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def make_app(gateway: Gateway) -> web.Application:
    app = web.Application(client_max_size=4 * gateway.config.settings.max_body_bytes)
    app[GATEWAY_KEY] = gateway
    app.router.add_post("/v1/requests", post_request)
    app.router.add_get("/v1/document-types", document_types)
    app.router.add_get("/v1/schemas/{name}", schema)
    app.router.add_get("/v1/attestations/{attestation_id}", attestation)
    app.router.add_post("/v1/attestations/verify", verify)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/v1/citizen/access-report", citizen.access_report)
    dashboard.add_routes(app, gateway, Sessions(secret_key(gateway.home, "session.key")))
    return app
