"""What the OpenAPI and AsyncAPI documents share (docs/protocol.md §9, machine-readable contracts):
the gateway's version, the URLs of the served schemas, the problem codes with their HTTP status,
and the JSON Schemas of a sealed document in its two forms.

Everything here is read from the code or the running configuration, never copied by hand, so
that the documents built on it (`gateway.web.openapi`, `gateway.web.asyncapi`) follow the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

from gateway.adapters import partner_protocol
from gateway.config import Config
from gateway.errors import BY_CODE
from gateway.protocol import JOSE, JWS_TYP, NS, SUBJECT_KEYS, SUBJECT_PATTERNS, XML, Status
from gateway.schemas import schema_names

DISTRIBUTION = "dz-exchange-gateway"
TITLE = "CNAS inter-administration document exchange gateway"
#: A compact JWS: three base64url parts without padding, joined by dots (docs/protocol.md §2.2).
COMPACT_JWS = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
PARTICIPANT = r"^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+$"
Schema = dict[str, Any]


def version() -> str:
    """The installed gateway's version, from its package metadata."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a tree that was never installed
        return "0+unknown"


def schema_url(config: Config, name: str) -> str:
    """Where the gateway serves the schema file `name` (`GET /v1/schemas/<name>`)."""
    if name not in served_schemas(config):
        raise ValueError(f"{name} is not a served schema")
    return f"{config.settings.public_url}/v1/schemas/{name}"


def served_schemas(config: Config) -> list[str]:
    """The schema files served: the package's, and the two of each type added at run time."""
    added = {f"{t}{suffix}" for t in config.catalogue for suffix in (".xsd", ".schema.json")}
    return sorted(set(schema_names()) | added)


def type_schemas(config: Config) -> dict[str, dict[str, str]]:
    """Each catalogue type's XSD and JSON Schema, by type: {type: {"xsd": url, "json": url}}."""
    return {
        name: {"xsd": schema_url(config, f"{name}.xsd"), "json": schema_url(config, f"{name}.schema.json")}
        for name in config.catalogue
    }


@dataclass(frozen=True)
class Problem:
    """One problem code of docs/protocol.md §5, as errors.py defines it."""

    code: str
    status: str
    http_status: int
    retryable: bool


def problems() -> list[Problem]:
    """Every problem code, in the order errors.py declares them."""
    return [Problem(code, cls.status.value, cls.http_status, cls.retryable) for code, cls in BY_CODE.items()]


def problem_codes() -> list[str]:
    return [p.code for p in problems()]


def problem_table() -> str:
    """The problem codes as a Markdown table: code, status, HTTP status, retryable."""
    rows = [f"| `{p.code}` | {p.status} | {p.http_status} | {'yes' if p.retryable else 'no'} |" for p in problems()]
    return "\n".join(["| code | status | HTTP | retryable |", "|---|---|---|---|", *rows])


def statuses() -> list[str]:
    """The response statuses (`X-Status`, `x-status`)."""
    return [s.value for s in Status]


def sealed_xml(config: Config, what: str) -> Schema:
    """A document sealed or signed in XML (`application/xml`), described by `response.xsd` or `request.xsd`."""
    name, section = ("request.xsd", "§2.1") if what == "request" else ("response.xsd", "§6")
    return {
        "type": "string",
        "description": f"A {what} document in `{NS}` with its enveloped signature (docs/protocol.md {section}); "
        f"its shape is `{name}`, and the `Data` of each document type is in `<type>.xsd`.",
        "externalDocs": {"url": schema_url(config, name), "description": name},
    }


def sealed_jose(config: Config, what: str) -> Schema:
    """A compact JWS (`application/jose`) whose payload is described by `request.schema.json` or
    `response.schema.json`."""
    name, section = ("request.schema.json", "§2.2") if what == "request" else ("response.schema.json", "§6")
    return {
        "type": "string",
        "pattern": COMPACT_JWS,
        "description": f"A compact JWS of typ `{JWS_TYP}` whose payload is a {what} document "
        f"(docs/protocol.md {section}), as `{name}` describes it; the `data` of each document type is "
        "in `<type>.schema.json`.",
        "externalDocs": {"url": schema_url(config, name), "description": name},
    }


def sealed_content(config: Config, what: str, kinds: tuple[str, ...] = (XML, JOSE)) -> dict[str, Schema]:
    """The media types of a signed or sealed document in its forms: {media type: schema}."""
    make = {XML: sealed_xml, JOSE: sealed_jose}
    return {kind: make[kind](config, what) for kind in kinds}


# ---------------------------------------------------------------------------- the partner protocol
def signed_jws(what: str, payload: Schema) -> Schema:
    return {
        "type": "string",
        "pattern": COMPACT_JWS,
        "description": f"A compact JWS of typ `{JWS_TYP}`: {what}. Its decoded payload is `x-jws-payload`.",
        "x-jws-payload": payload,
    }


def _subject() -> Schema:
    return {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
        "properties": {
            key: {"type": "string", "pattern": SUBJECT_PATTERNS[key].pattern} for key in SUBJECT_KEYS.values()
        },
    }


def _query_payload() -> Schema:
    return {
        "type": "object",
        "required": ["queryId", "requestId", "documentType", "purpose", "requester", "subject"],
        "additionalProperties": False,
        "properties": {
            "queryId": {"type": "string", "pattern": UUID},
            "requestId": {"type": "string", "pattern": UUID},
            "documentType": {"type": "string"},
            "purpose": {"type": "string"},
            "requester": {"type": "string", "pattern": PARTICIPANT},
            "subject": _subject(),
        },
    }


def _answer_payload() -> Schema:
    return {
        "type": "object",
        "required": ["queryId", "requestId", "status", "data", "obtainedAt"],
        "properties": {
            "queryId": {"type": "string", "pattern": UUID},
            "requestId": {"type": "string", "pattern": UUID},
            "status": {"type": "string", "enum": list(partner_protocol.ANSWER_STATUSES)},
            "data": {"type": "object", "description": "every field of the type's catalogue entry"},
            "obtainedAt": {"type": "string", "format": "date-time"},
            "error": {"type": "string", "description": "with `error`: what went wrong"},
        },
    }


def partner_query() -> Schema:
    """A query the gateway sends a partner, on the bus or over HTTPS (docs/protocol.md §10)."""
    return signed_jws("a query, signed by the gateway", _query_payload())


def partner_answer() -> Schema:
    """A partner's answer to a query, on the bus or over HTTPS (docs/protocol.md §10)."""
    return signed_jws("an answer, signed by the partner itself", _answer_payload())
