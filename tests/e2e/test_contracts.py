"""The machine-readable contracts (docs/protocol.md §9), as the running gateway serves them: the
OpenAPI document passes the reference validator and the live API keeps to it under schemathesis;
the AsyncAPI document passes the reference parser (npm's @asyncapi/parser, in tools/asyncapi)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from lxml import etree
from openapi_spec_validator import validate

from gateway.protocol import JOSE, NS_TAG, XML
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import Issued
from tests.e2e.exchange import now_iso, signed_jws, signed_xml

Examples = dict[str, dict[str, list[str]]]
ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI_TOOL = ROOT / "tools" / "asyncapi"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
#: No 5xx, and every answer's status, content type, headers and body as the document describes them.
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
)
#: Teaches schemathesis to send `application/jose` bodies.
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")


async def served(http: str, path: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON document served at `path`, and the answer's headers."""
    async with aiohttp.ClientSession() as session, session.get(http + path) as response:
        assert response.status == 200, path
        assert response.content_type == "application/json"
        return json.loads(await response.read()), dict(response.headers)


async def run(*command: str, stdin: bytes = b"", cwd: Path = ROOT, **env: str) -> tuple[int, str]:
    """Runs `command` without blocking the event loop that serves the gateway; (exit code, output)."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(stdin), timeout=600)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_openapi_document_is_valid_openapi_3_1_and_cacheable(http: str) -> None:
    """GET /v1/openapi.json serves a document that openapi-spec-validator accepts as OpenAPI 3.1, cacheable."""
    document, headers = await served(http, "/v1/openapi.json")
    assert document["openapi"].startswith("3.1.")
    validate(document)
    assert "no-store" not in headers.get("Cache-Control", "")


async def test_asyncapi_document_passes_the_reference_parser(http: str) -> None:
    """GET /v1/asyncapi.json serves a document in which @asyncapi/parser v3 finds no error (severity 0)."""
    document, headers = await served(http, "/v1/asyncapi.json")
    assert document["asyncapi"].startswith("3.0.")
    assert "no-store" not in headers.get("Cache-Control", "")
    node = shutil.which("node")
    assert node is not None, "node is missing: ./dev test installs it"
    assert (ASYNCAPI_TOOL / "node_modules" / "@asyncapi" / "parser").is_dir(), (
        "the parser is missing: npm ci --prefix tools/asyncapi (./dev test does it)"
    )
    code, output = await run(node, "validate.mjs", stdin=json.dumps(document).encode(), cwd=ASYNCAPI_TOOL)
    diagnostics = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    errors = [d for d in diagnostics if d["severity"] == 0]
    assert code == 0 and not errors, output


async def genuine_examples(
    http: str, cnas: Issued, portal: Issued, examples: Examples, document: dict[str, Any]
) -> dict[str, Any]:
    """A copy of `document` whose operations carry genuine examples: signed requests in both forms, a sealed
    attestation and its id, a citizen portal's report request. Schemathesis sends them first, so that the
    answers of the happy paths (200 with a sealed attestation, a valid verdict) are checked too."""
    _, xml = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    _, jose = signed_jws(cnas, subject={"nin": examples["birth-certificate"]["found"][1]})
    async with (
        aiohttp.ClientSession() as session,
        session.post(http + "/v1/requests", data=xml, headers={"Content-Type": XML}) as response,
    ):
        assert response.status == 200
        sealed = await response.read()
    attestation_id = etree.fromstring(sealed).findtext(f"{NS_TAG}Attestation/{NS_TAG}AttestationId")
    report = {"requestId": str(uuid.uuid4()), "issuedAt": now_iso(), "subject": {"nin": "109870123456789012"}}
    report_token = JWSSigner(portal.key, [portal.cert]).sign(json.dumps(report).encode())
    copy: dict[str, Any] = json.loads(json.dumps(document))
    paths = copy["paths"]
    bodies = paths["/v1/requests"]["post"]["requestBody"]["content"]
    bodies[XML]["example"], bodies[JOSE]["example"] = xml.decode(), jose.decode()
    paths["/v1/attestations/verify"]["post"]["requestBody"]["content"][XML]["example"] = sealed.decode()
    paths["/v1/attestations/{attestation_id}"]["get"]["parameters"][0]["example"] = attestation_id
    paths["/v1/citizen/access-report"]["post"]["requestBody"]["content"][JOSE]["example"] = report_token.decode()
    return copy


async def test_the_live_api_keeps_to_its_openapi_document(
    http: str, tmp_path: Path, cnas: Issued, identity: Callable[[str], Issued], examples: Examples
) -> None:
    """Schemathesis, from the served OpenAPI document and a few genuine examples, gets no 5xx and only answers
    (statuses, content types, headers, bodies) that the document describes."""
    document, _ = await served(http, "/v1/openapi.json")
    document = await genuine_examples(http, cnas, identity("dz.portail-citoyen"), examples, document)
    location = tmp_path / "openapi.json"
    location.write_text(json.dumps(document), "utf-8")
    command = [str(SCHEMATHESIS), "run", str(location), "--url", http]
    cases = os.environ.get("SCHEMATHESIS_N", "30")  # per operation; more for a deeper search by hand
    checks = ["-c", ",".join(CHECKS), "-n", cases]
    options = ["--no-color", "--generation-database", "none"]
    code, output = await run(*command, *checks, *options, cwd=tmp_path, SCHEMATHESIS_HOOKS=str(HOOKS))
    assert code == 0, output[-20000:]
