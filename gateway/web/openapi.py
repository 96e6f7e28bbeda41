"""The OpenAPI 3.1 document of the gateway's public HTTP endpoints, served at `GET /v1/openapi.json`
(docs/protocol.md §9). It is built from the running configuration, the problem codes of errors.py
and the constants of protocol.py, so that it says what the code does."""

from __future__ import annotations

from typing import Any

from gateway.adapters import partner_protocol
from gateway.config import SUBJECT_KINDS, Config
from gateway.errors import (
    AccessDenied,
    CertificateExpired,
    CertificateRevoked,
    CertificateUntrusted,
    DuplicateConflict,
    GatewayError,
    Malformed,
    SchemaInvalid,
    SignatureInvalid,
    StaleRequest,
    TooLarge,
)
from gateway.protocol import JOSE, XML, Status
from gateway.records import ATTESTATION_STATES
from gateway.web import contracts
from gateway.web.contracts import COMPACT_JWS, PARTICIPANT, UUID, Schema

JSON = "application/json"
TEXT = "text/plain"
DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#: What the citizen access report and the printed attestation can refuse with (gateway.web.citizen,
#: gateway.web.printed): both read a compact JWS signed by the participant that asks.
SIGNED_REFUSALS: tuple[type[GatewayError], ...] = (
    TooLarge,
    Malformed,
    SignatureInvalid,
    CertificateUntrusted,
    CertificateExpired,
    CertificateRevoked,
    SchemaInvalid,
    StaleRequest,
    AccessDenied,
    DuplicateConflict,
)
READINESS_CHECKS = ("broker", "broker_writes", "store", "seal_key")


def document(config: Config) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for `config`."""
    return {
        "openapi": "3.1.0",
        "info": _info(),
        "servers": [{"url": config.settings.public_url, "description": "the gateway's public URL (public_url)"}],
        "tags": [
            {"name": "exchange", "description": "document requests and their sealed responses (§4 to §6)"},
            {"name": "catalogue", "description": "the document types and their schemas (§8)"},
            {"name": "attestations", "description": "an attestation's state and printed form, a seal's check"},
            {"name": "audit", "description": "the audit journal's sealed checkpoints, the citizen access report"},
            {"name": "operations", "description": "liveness, readiness, metrics"},
            {"name": "contracts", "description": "these machine-readable contracts"},
            {"name": "partners", "description": "what a provider answering over HTTPS serves to the gateway (§10.2)"},
        ],
        "paths": _paths(config),
        "webhooks": {"partnerQuery": {"post": _partner_query()}},
        "components": {"schemas": _components(config), "headers": _headers()},
    }


def _info() -> dict[str, Any]:
    return {
        "title": contracts.TITLE,
        "version": contracts.version(),
        "summary": "Signed requests in, sealed attestations out: the public HTTP endpoints.",
        "description": "The exchange protocol, version 1 (docs/protocol.md). Every answer carries "
        "`Cache-Control: no-store` (the catalogue, the schemas and these contracts excepted), "
        "`X-Content-Type-Options: nosniff` and a content security policy.\n\n"
        "Problem codes (docs/protocol.md §5):\n\n" + contracts.problem_table(),
        "license": {"name": "Proprietary (CNAS)", "identifier": "LicenseRef-CNAS-Proprietary"},
    }


# ---------------------------------------------------------------------------- components
def _components(config: Config) -> dict[str, Schema]:
    return {
        "ProblemCode": {"type": "string", "enum": contracts.problem_codes(), "description": "docs/protocol.md §5"},
        "ResponseStatus": {"type": "string", "enum": contracts.statuses()},
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {"error": {"type": "string"}},
        },
        "DocumentType": _document_type(config),
        "Attestation": _attestation(),
        "Verification": _verification(),
        "Checkpoints": _checkpoints(),
        "Readiness": {
            "type": "object",
            "required": ["ready", "checks"],
            "additionalProperties": False,
            "properties": {
                "ready": {"type": "boolean"},
                "checks": {
                    "type": "object",
                    "required": list(READINESS_CHECKS),
                    "additionalProperties": False,
                    "properties": {name: {"type": "boolean"} for name in READINESS_CHECKS},
                },
            },
        },
        "SignedRequestRefusal": {
            "type": "object",
            "required": ["error", "message"],
            "additionalProperties": False,
            "properties": {
                "error": {"type": "string", "enum": sorted({c.code for c in SIGNED_REFUSALS})},
                "message": {"type": "string"},
            },
        },
    }


def _document_type(config: Config) -> Schema:
    return {
        "type": "object",
        "description": "One type of the catalogue (docs/protocol.md §8). Its request and response schemas are "
        "served at `/v1/schemas/<name>.xsd` and `/v1/schemas/<name>.schema.json`.",
        "required": ["name", "provider", "subject", "slaSeconds", "validityDays", "purposes"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "examples": list(config.catalogue)},
            "provider": {"type": "string", "pattern": PARTICIPANT},
            "subject": {"type": "string", "enum": list(SUBJECT_KINDS)},
            "slaSeconds": {"type": "number", "exclusiveMinimum": 0},
            "validityDays": {"type": "integer", "minimum": 0},
            "purposes": {
                "type": "object",
                "description": "purpose -> the fields of `Data` it releases",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    }


def _attestation() -> Schema:
    return {
        "type": "object",
        "required": ["attestationId", "status", "documentType", "provider", "issuedAt", "validUntil", "sha256"],
        "additionalProperties": False,
        "properties": {
            "attestationId": {"type": "string", "pattern": UUID},
            "status": {"type": "string", "enum": list(ATTESTATION_STATES)},
            "documentType": {"type": "string"},
            "provider": {"type": "string", "pattern": PARTICIPANT},
            "issuedAt": {"type": "string", "format": "date-time"},
            "validUntil": {"type": "string", "format": "date-time"},
            "sha256": {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": "the SHA-256 of the sealed response exactly as it was delivered",
            },
            "supersededBy": {
                "type": "string",
                "pattern": UUID,
                "description": "with `superseded`: the attestation issued since from the corrected record",
            },
        },
    }


def _verification() -> Schema:
    return {
        "type": "object",
        "required": ["valid"],
        "additionalProperties": False,
        "properties": {
            "valid": {"type": "boolean"},
            "reason": {"type": "string", "description": "why the document is not a valid attestation"},
            "status": {"type": "string", "enum": list(ATTESTATION_STATES)},
            "attestationId": {"type": "string", "pattern": UUID},
            "supersededBy": {"type": "string", "pattern": UUID},
        },
        "if": {"properties": {"valid": {"const": False}}},
        "then": {"required": ["valid", "reason"]},
    }


def _checkpoints() -> Schema:
    return {
        "type": "object",
        "required": ["journal", "day", "days", "checkpoints"],
        "additionalProperties": False,
        "properties": {
            "journal": {"type": "string", "pattern": PARTICIPANT},
            "day": {"type": ["string", "null"], "pattern": DAY},
            "days": {"type": "array", "items": {"type": "string", "pattern": DAY}},
            "checkpoints": {
                "type": "array",
                "description": "compact JWS sealed by the gateway, payload "
                '`{"kind": "journal-checkpoint", "journal", "entries", "head", "at"}`',
                "items": {"type": "string", "pattern": COMPACT_JWS},
            },
        },
    }


def _headers() -> dict[str, Any]:
    return {
        "X-Status": {
            "description": "the response's status",
            "required": True,
            "schema": {"$ref": "#/components/schemas/ResponseStatus"},
        },
        "X-Problem": {
            "description": "the problem code, with `refused` and `failed`",
            "required": True,
            "schema": {"$ref": "#/components/schemas/ProblemCode"},
        },
        "Retry-After": {"description": "seconds, with `rate_limited`", "schema": {"type": "integer", "minimum": 0}},
    }


# ---------------------------------------------------------------------------- paths
def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _text(description: str, media: str = TEXT) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {"type": "string"}}}}


SLOW_BODY = _text("the body took longer than body_timeout_seconds to arrive; the connection is closed")


def _signed_body(config: Config, what: str, description: str) -> dict[str, Any]:
    content = contracts.sealed_content(config, what)
    return {"required": True, "description": description, "content": {k: {"schema": v} for k, v in content.items()}}


def _paths(config: Config) -> dict[str, Any]:
    return {
        "/v1/requests": {"post": _post_request(config)},
        "/v1/document-types": {"get": _get_document_types()},
        "/v1/schemas/{name}": {"get": _get_schema(config)},
        "/v1/attestations/{attestation_id}": {"get": _get_attestation()},
        "/v1/attestations/verify": {"post": _post_verify(config)},
        "/v1/attestations/pdf": {"post": _post_attestation_pdf()},
        "/v1/seal-certificates": {"get": _get_seal_certificates()},
        "/v1/partners/corrections": {"post": _post_correction()},
        "/v1/audit/checkpoints": {"get": _get_checkpoints()},
        "/v1/citizen/access-report": {"post": _post_access_report(config)},
        "/healthz": {"get": _get_healthz()},
        "/readyz": {"get": _get_readyz()},
        "/metrics": {"get": _get_metrics()},
        "/v1/openapi.json": {"get": _get_contract("openapi", "this OpenAPI 3.1 document")},
        "/v1/asyncapi.json": {"get": _get_contract("asyncapi", "the AsyncAPI 3.0 document of the bus")},
    }


def _post_request(config: Config) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": _sealed_answer(config, [Status.ISSUED, Status.NOT_FOUND], []),
        "408": SLOW_BODY,
    }
    by_status: dict[int, list[contracts.Problem]] = {}
    for problem in contracts.problems():
        by_status.setdefault(problem.http_status, []).append(problem)
    for http_status, group in sorted(by_status.items()):
        responses[str(http_status)] = _sealed_answer(config, sorted({Status(p.status) for p in group}), group)
    return {
        "tags": ["exchange"],
        "operationId": "postRequest",
        "summary": "Ask for one document: a signed request in, a sealed response out (docs/protocol.md §4)",
        "description": "The HTTP status follows the problem code (docs/protocol.md §5). The per-type request "
        "schemas are served at `/v1/schemas/<type>.xsd` and `/v1/schemas/<type>.schema.json`, for the types "
        f"{', '.join(f'`{t}`' for t in config.catalogue)}.",
        "requestBody": _signed_body(
            config,
            "request",
            f"A signed request (docs/protocol.md §2), at most {config.settings.max_body_bytes} bytes.",
        ),
        "responses": responses,
    }


def _sealed_answer(config: Config, statuses: list[Status], group: list[contracts.Problem]) -> dict[str, Any]:
    """A sealed response of the given statuses, in the request's form (XML only for `unsupported_media_type`)."""
    xml_only = bool(group) and all(p.code == "unsupported_media_type" for p in group)
    kinds = (XML,) if xml_only else (XML, JOSE)
    content = contracts.sealed_content(config, "response", kinds)
    codes = ", ".join(f"`{p.code}`" for p in group)
    headers: dict[str, Any] = {"X-Status": {"$ref": "#/components/headers/X-Status"}}
    if group:
        headers["X-Problem"] = {"$ref": "#/components/headers/X-Problem"}
    if any(p.code == "rate_limited" for p in group):
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    status_names = " or ".join(f"`{s.value}`" for s in statuses)
    return {
        "description": f"A sealed response, {status_names}" + (f": {codes}" if codes else ""),
        "headers": headers,
        "content": {k: {"schema": v} for k, v in content.items()},
    }


def _get_document_types() -> dict[str, Any]:
    return {
        "tags": ["catalogue"],
        "operationId": "getDocumentTypes",
        "summary": "The catalogue as the gateway runs it (docs/protocol.md §8)",
        "responses": {
            "200": {
                "description": "the document types",
                "content": {
                    JSON: {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/DocumentType"}}}
                },
            }
        },
    }


def _get_schema(config: Config) -> dict[str, Any]:
    names = contracts.served_schemas(config)
    return {
        "tags": ["catalogue"],
        "operationId": "getSchema",
        "summary": "An XSD or a JSON Schema of the requests and responses, common or per document type",
        "parameters": [
            {
                "name": "name",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": names},
                "description": "one of the served files: " + ", ".join(f"`{n}`" for n in names),
            }
        ],
        "responses": {
            "200": {
                "description": "the schema file",
                "content": {
                    "application/schema+json": {"schema": {"type": "object"}},
                    XML: {"schema": {"type": "string"}},
                },
            },
            "404": _text("unknown schema"),
        },
        "externalDocs": {"url": contracts.schema_url(config, "request.schema.json"), "description": "for example"},
    }


def _get_attestation() -> dict[str, Any]:
    return {
        "tags": ["attestations"],
        "operationId": "getAttestation",
        "summary": "An attestation's state: valid, expired or revoked (no personal data)",
        "parameters": [
            {
                "name": "attestation_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "the `AttestationId` of a sealed response (a UUID, any case)",
            }
        ],
        "responses": {
            "200": _json("Attestation", "the attestation"),
            "404": _json("Error", "unknown attestation"),
        },
    }


def _post_verify(config: Config) -> dict[str, Any]:
    return {
        "tags": ["attestations"],
        "operationId": "verifyDocument",
        "summary": "Is this sealed document genuine, and is its attestation still valid? (docs/protocol.md §7)",
        "requestBody": _signed_body(
            config, "response", f"a sealed response, at most {4 * config.settings.max_body_bytes} bytes"
        ),
        "responses": {"200": _json("Verification", "the verdict"), "408": SLOW_BODY},
    }


def _post_correction() -> dict[str, Any]:
    answer = {
        "description": 'the notice was taken: `{"noticeId", "superseded": n}`, the attestations it superseded',
        "content": {JSON: {"schema": {"type": "object", "required": ["noticeId", "superseded"]}}},
    }
    return {
        "tags": ["partners"],
        "operationId": "postCorrection",
        "summary": "For a provider: a record it corrected; the attestations issued from the old one become superseded",
        "requestBody": {
            "required": True,
            "description": "a compact JWS signed by the document type's provider, payload "
            '`{"noticeId", "issuedAt", "documentType", "subject": {"nin" | "nif" | "rc": ...}}`',
            "content": {JOSE: {"schema": {"type": "string", "pattern": COMPACT_JWS}}},
        },
        "responses": _signed_refusals(answer),
    }


def _get_seal_certificates() -> dict[str, Any]:
    return {
        "tags": ["attestations"],
        "operationId": "getSealCertificates",
        "summary": "The certificate the gateway seals with, for checking visible seals offline",
        "responses": {"200": _text("the seal certificate, PEM", "application/x-pem-file")},
    }


def _get_checkpoints() -> dict[str, Any]:
    return {
        "tags": ["audit"],
        "operationId": "getAuditCheckpoints",
        "summary": "The audit journal's sealed checkpoints of one day",
        "parameters": [
            {
                "name": "day",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "pattern": DAY},
                "description": "`YYYY-MM-DD`; by default the latest day that has checkpoints",
            }
        ],
        "responses": {
            "200": _json("Checkpoints", "the day's checkpoints"),
            "400": _json("Error", "`day` is not `YYYY-MM-DD`"),
        },
    }


def _signed_refusals(answer: dict[str, Any]) -> dict[str, Any]:
    """The responses of an endpoint that reads a signed JWS: `answer` (200), a slow body, and each refusal."""
    refusals: dict[int, list[str]] = {}
    for cls in SIGNED_REFUSALS:
        refusals.setdefault(cls.http_status, []).append(cls.code)
    responses: dict[str, Any] = {"200": answer, "408": SLOW_BODY}
    for http_status, codes in sorted(refusals.items()):
        responses[str(http_status)] = _json("SignedRequestRefusal", "refused: " + ", ".join(f"`{c}`" for c in codes))
    return responses


def _post_attestation_pdf() -> dict[str, Any]:
    answer = {
        "description": "the attestation as one A4 page in French and Arabic, with its visible seal as a QR code",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
    return {
        "tags": ["attestations"],
        "operationId": "postAttestationPdf",
        "summary": "For the requester that obtained an attestation: its printable PDF (docs/attestations.md)",
        "requestBody": {
            "required": True,
            "description": "a compact JWS signed by the requester the visible seal names, payload "
            '`{"requestId", "issuedAt", "visibleSeal"}`',
            "content": {JOSE: {"schema": {"type": "string", "pattern": COMPACT_JWS}}},
        },
        "responses": _signed_refusals(answer),
    }


def _post_access_report(config: Config) -> dict[str, Any]:
    responses = _signed_refusals(
        {
            "description": "the report: a JWS sealed by the gateway, payload "
            '`{"inReplyTo", "issuedAt", "entries": [...]}`',
            "content": {JOSE: {"schema": {"type": "string", "pattern": COMPACT_JWS}}},
        }
    )
    return {
        "tags": ["audit"],
        "operationId": "postCitizenAccessReport",
        "summary": "For a citizen portal: who obtained which document about a person (docs/protocol.md §9)",
        "requestBody": {
            "required": True,
            "description": "a compact JWS signed by a citizen portal, payload "
            '`{"requestId", "issuedAt", "subject": {"nin" | "nif" | "rc": ...}}`',
            "content": {JOSE: {"schema": {"type": "string", "pattern": COMPACT_JWS}}},
        },
        "responses": responses,
    }


def _get_healthz() -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": ["status"],
        "additionalProperties": False,
        "properties": {"status": {"const": "alive"}},
    }
    return {
        "tags": ["operations"],
        "operationId": "getHealth",
        "summary": "Liveness: the process runs",
        "responses": {"200": {"description": "alive", "content": {JSON: {"schema": schema}}}},
    }


def _get_readyz() -> dict[str, Any]:
    return {
        "tags": ["operations"],
        "operationId": "getReadiness",
        "summary": "Readiness: the broker, the store and the seal key are usable",
        "responses": {
            "200": _json("Readiness", "ready"),
            "503": _json("Readiness", "not ready: see `checks`"),
        },
    }


def _get_metrics() -> dict[str, Any]:
    return {
        "tags": ["operations"],
        "operationId": "getMetrics",
        "summary": "Prometheus metrics (docs/metrics.md)",
        "responses": {"200": _text("the metrics, in the Prometheus text format 0.0.4")},
    }


def _partner_query() -> dict[str, Any]:
    """The call the gateway makes to a provider configured with `adapter = "rest"`, at its `url`."""
    jose = partner_protocol.CONTENT_TYPE
    return {
        "tags": ["partners"],
        "operationId": "partnerQuery",
        "summary": "A query to a provider that answers over HTTPS",
        "description": "The gateway POSTs each query to the provider's `url` (its `[providers]` entry, "
        '`adapter = "rest"`), over mutual TLS: the gateway presents its certificate, and the provider\'s '
        "server must present its own exchange certificate, naming the host. The bodies are those of the "
        "partner protocol on the bus (docs/protocol.md §10): check the query's signature, answer with "
        "the same `queryId`, sign the answer with your own key. The partner kit serves this "
        "(`gateway_partner.RestPartner`).",
        "requestBody": {"required": True, "content": {jose: {"schema": contracts.partner_query()}}},
        "responses": {
            "200": {
                "description": "the answer: found, not-found or error",
                "content": {jose: {"schema": contracts.partner_answer()}},
            },
            "400": {
                "description": "a query refused (not signed by the gateway, unreadable), with a signed error",
                "content": {jose: {"schema": contracts.partner_answer()}},
            },
            "429": _text("busy: the gateway may ask again (transient provider_error)"),
            "503": _text("down for a moment: the gateway may ask again (502 and 504 alike)"),
            "default": _text("any other status is a provider_error, not retried"),
        },
    }


def _get_contract(key: str, what: str) -> dict[str, Any]:
    schema = {"type": "object", "required": [key, "info"]}
    return {
        "tags": ["contracts"],
        "operationId": f"get{key.capitalize()}",
        "summary": what,
        "responses": {"200": {"description": what, "content": {JSON: {"schema": schema}}}},
    }
