"""The public endpoints (docs/protocol.md, public endpoints): the catalogue, the schemas,
an attestation's status, the verification of a sealed document, the seal certificate, health,
readiness, metrics,
and the machine-readable contracts (OpenAPI, AsyncAPI). None of them needs a login and none of
them shows personal data."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from lxml import etree

from gateway.audit import checkpoints
from gateway.config import Config
from gateway.errors import GatewayError, Malformed
from gateway.protocol import NS_TAG, UUID_PATTERN, instant
from gateway.records import AttestationRecord
from gateway.runtime.worker import gateway_of
from gateway.schemas import schema_path
from gateway.signing import safe_json
from gateway.signing.seal import verify_seal
from gateway.store import attestation_state
from gateway.transports.http import answer, read_limited
from gateway.web import asyncapi as asyncapi_document
from gateway.web import openapi as openapi_document

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PEM = "application/x-pem-file"


async def post_request(request: web.Request) -> web.Response:
    """`POST /v1/requests`: the HTTP transport, on this worker's pipeline."""
    gateway = gateway_of(request)
    assert gateway.pipeline is not None
    settings = gateway.config.settings
    return await answer(request, gateway.pipeline, settings.max_body_bytes, settings.body_timeout_seconds)


async def document_types(request: web.Request) -> web.Response:
    catalogue = gateway_of(request).config.catalogue
    return web.json_response(
        [
            {
                "name": t.name,
                "provider": t.provider,
                "subject": t.subject,
                "slaSeconds": t.sla_seconds,
                "validityDays": t.validity_days,
                "purposes": {p: list(f) for p, f in t.purposes.items()},
            }
            for t in catalogue.values()
        ]
    )


async def schema(request: web.Request) -> web.StreamResponse:
    path = schema_path(request.match_info["name"], gateway_of(request).schema_dir)
    if path is None:
        raise web.HTTPNotFound(text="unknown schema\n")
    kind = "application/schema+json" if path.suffix == ".json" else "application/xml"
    return web.Response(body=path.read_bytes(), content_type=kind)


def _public(record: AttestationRecord, state: str, replaced_by: str | None) -> dict[str, Any]:
    out = {
        "attestationId": record.attestation_id,
        "status": state,
        "documentType": record.document_type,
        "provider": record.provider,
        "issuedAt": instant(record.issued_at),
        "validUntil": instant(record.valid_until),
        "sha256": record.sha256,
    }
    if replaced_by is not None:
        out["supersededBy"] = replaced_by
    return out


async def seal_certificates(request: web.Request) -> web.Response:
    """`GET /v1/seal-certificates`: the certificate the gateway seals with, then those of its earlier seal
    keys, PEM, for checking visible seals offline (`gateway verify --certificate`)."""
    gateway = gateway_of(request)
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in gateway.seal_certificates())
    return web.Response(body=pem, content_type=PEM, headers={"Cache-Control": "public, max-age=3600"})


async def attestation(request: web.Request) -> web.Response:
    attestation_id = request.match_info["attestation_id"].lower()
    known = UUID_PATTERN.match(attestation_id)
    record = await gateway_of(request).store.find_attestation(attestation_id) if known else None
    if record is None:
        return web.json_response({"error": "unknown attestation"}, status=404)
    state, replaced_by = await attestation_state(gateway_of(request).store, record, dt.datetime.now(dt.UTC))
    return web.json_response(_public(record, state, replaced_by))


async def verify(request: web.Request) -> web.Response:
    """Is this sealed document genuine, and what is the state of its attestation?"""
    gateway = gateway_of(request)
    try:
        settings = gateway.config.settings
        body = await read_limited(request, 4 * settings.max_body_bytes, settings.body_timeout_seconds)
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
            out["status"], replaced_by = await attestation_state(gateway.store, record, dt.datetime.now(dt.UTC))
            out["attestationId"] = record.attestation_id
            if replaced_by is not None:
                out["supersededBy"] = replaced_by
            if out["status"] != "valid":
                out.update(valid=False, reason=f"the attestation is {out['status']}")
    return web.json_response(out)


def _attestation_id(xml: etree._Element | None, payload: bytes | None) -> str | None:
    if xml is not None:
        node = xml.find(f"{NS_TAG}Attestation/{NS_TAG}AttestationId")
        return node.text if node is not None else None
    if payload is not None:
        try:
            value = safe_json.loads(payload).get("attestation", {}).get("attestationId")
        except (Malformed, AttributeError):
            return None
        return value if isinstance(value, str) else None
    return None


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    checks = await gateway_of(request).readiness()
    ready = all(checks.values())
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    body = gateway_of(request).metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def audit_checkpoints(request: web.Request) -> web.Response:
    """`GET /v1/audit/checkpoints[?day=YYYY-MM-DD]`: the journal's sealed checkpoints of one day (by
    default the latest), for auditors and citizen portals to keep. No personal data: counts, hashes,
    times."""
    gateway = gateway_of(request)
    available = await asyncio.to_thread(checkpoints.days, gateway.home)
    day = request.query.get("day") or (available[-1] if available else "")
    if day and not _DAY.fullmatch(day):
        return web.json_response({"error": "day is YYYY-MM-DD"}, status=400)
    tokens = await asyncio.to_thread(checkpoints.tokens_of_day, gateway.home, day) if day else []
    return web.json_response(
        {"journal": gateway.config.settings.participant, "day": day or None, "days": available, "checkpoints": tokens}
    )


Builder = Callable[[Config], dict[str, Any]]
#: The last document built by each builder, with the configuration it was built from.
_BUILT: dict[Builder, tuple[Config, bytes]] = {}


def _contract(config: Config, build: Builder) -> bytes:
    """The document `build` makes of `config`, as JSON; built again only when the configuration changed."""
    cached = _BUILT.get(build)
    if cached is None or cached[0] is not config:
        cached = (config, json.dumps(build(config), ensure_ascii=False, indent=1).encode())
        _BUILT[build] = cached
    return cached[1]


async def openapi(request: web.Request) -> web.Response:
    """`GET /v1/openapi.json`: the OpenAPI 3.1 document of these endpoints."""
    body = _contract(gateway_of(request).config, openapi_document.document)
    return web.Response(body=body, content_type="application/json")


async def asyncapi(request: web.Request) -> web.Response:
    """`GET /v1/asyncapi.json`: the AsyncAPI 3.0 document of the gateway on the bus."""
    body = _contract(gateway_of(request).config, asyncapi_document.document)
    return web.Response(body=body, content_type="application/json")
