"""The HTTP side (docs/protocol.md §4, §8, §9), against the gateway's real web application."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable

import aiohttp
from lxml import etree

from gateway.runtime.worker import Gateway
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import Issued
from gateway.signing.seal import verify_jws_seal
from tests.e2e.exchange import signed_jws, signed_xml

NS = "{urn:dz:exchange:v1}"
Examples = dict[str, dict[str, list[str]]]


Answer = tuple[int, bytes, dict[str, str]]


async def post(http: str, body: bytes, content_type: str, path: str = "/v1/requests") -> Answer:
    async with (
        aiohttp.ClientSession() as session,
        session.post(http + path, data=body, headers={"Content-Type": content_type}) as response,
    ):
        return response.status, await response.read(), dict(response.headers)


async def get(http: str, path: str) -> Answer:
    async with aiohttp.ClientSession() as session, session.get(http + path) as response:
        return response.status, await response.read(), dict(response.headers)


async def test_post_request_answers_200_with_a_sealed_attestation(http: str, cnas: Issued, examples: Examples) -> None:
    """POST /v1/requests with a signed XML request answers 200 and the sealed DocumentResponse."""
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    status, answer, headers = await post(http, body, "application/xml")
    assert status == 200 and headers["X-Status"] == "issued"
    assert etree.fromstring(answer).findtext(f"{NS}InReplyTo") == rid


async def test_http_status_follows_the_problem_code(http: str, cnas: Issued, examples: Examples) -> None:
    """Refusals map to their HTTP status: 401 for a bad signature, 415 for a wrong type, 413 for size."""
    _, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    tampered = body.replace(b"CNAS-16-001", b"CNAS-16-002")
    assert (await post(http, tampered, "application/xml"))[0] == 401
    status, answer, headers = await post(http, body, "text/plain")
    assert status == 415 and headers["X-Problem"] == "unsupported_media_type" and answer.startswith(b"<?xml")
    status, _, headers = await post(http, b"<a>" + b" " * (300 * 1024) + b"</a>", "application/xml")
    assert status == 413 and headers["X-Problem"] == "too_large"


async def test_jws_over_http_gets_a_jws_refusal_that_fits_the_schema(http: str, cnas: Issued, gateway: Gateway) -> None:
    """A JWS refused over HTTP is answered as a sealed JWS whose payload fits response.schema.json."""
    _, token = signed_jws(cnas, subject={"nin": "42"})
    status, answer, headers = await post(http, token, "application/jose")
    assert status == 422 and headers["Content-Type"].startswith("application/jose")
    payload = json.loads(verify_jws_seal(answer, gateway.trust).payload or b"")
    gateway.schemas.check_json_response(payload)
    assert payload["problem"]["code"] == "schema_invalid" and payload["problem"]["retryable"] is False


async def test_catalogue_is_served_from_configuration(http: str, gateway: Gateway) -> None:
    """GET /v1/document-types lists each configured type with provider, subject, SLA and purposes."""
    status, body, _ = await get(http, "/v1/document-types")
    types = {t["name"]: t for t in json.loads(body)}
    assert status == 200 and set(types) == set(gateway.config.catalogue)
    assert types["death-record"]["purposes"]["benefit-review"] == ["deathRecorded", "deathDate"]
    assert types["tax-registration"]["slaSeconds"] == 10 and types["birth-certificate"]["subject"] == "NIN"


async def test_schemas_are_served_by_name(http: str) -> None:
    """Every XSD and JSON Schema is served; an unknown or path-like name is 404."""
    status, body, _ = await get(http, "/v1/schemas/birth-certificate.xsd")
    assert status == 200 and b"DocumentRequest" in body
    status, body, _ = await get(http, "/v1/schemas/request.schema.json")
    assert status == 200 and json.loads(body)["$id"] == "request.schema.json"
    assert (await get(http, "/v1/schemas/..%2Fconfig.py"))[0] == 404
    assert (await get(http, "/v1/schemas/nothing.xsd"))[0] == 404


async def test_attestation_status_is_public_without_personal_data(http: str, cnas: Issued, examples: Examples) -> None:
    """GET /v1/attestations/<id> says `valid` with the sealed document's sha256, and no NIN."""
    nin = examples["residence-certificate"]["found"][0]
    _, body = signed_xml(
        cnas, document_type="residence-certificate", purpose="insured-registration", subject={"nin": nin}
    )
    _, sealed, _ = await post(http, body, "application/xml")
    attestation_id = etree.fromstring(sealed).findtext(f"{NS}Attestation/{NS}AttestationId")
    status, info, _ = await get(http, f"/v1/attestations/{attestation_id}")
    record = json.loads(info)
    assert status == 200 and record["status"] == "valid" and record["sha256"] == hashlib.sha256(sealed).hexdigest()
    assert nin.encode() not in info
    assert (await get(http, "/v1/attestations/00000000-0000-0000-0000-000000000000"))[0] == 404
    assert (await get(http, "/v1/attestations/not-an-id"))[0] == 404


async def test_verify_tells_genuine_from_forged(http: str, cnas: Issued, examples: Examples) -> None:
    """POST /v1/attestations/verify accepts a sealed attestation and rejects a copy changed by one byte."""
    _, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    _, sealed, _ = await post(http, body, "application/xml")
    status, answer, _ = await post(http, sealed, "application/xml", "/v1/attestations/verify")
    assert status == 200 and json.loads(answer) == {
        "valid": True,
        "status": "valid",
        "attestationId": json.loads(answer)["attestationId"],
    }
    forged = sealed.replace(b"family-allowance", b"family-allowancf", 1)
    verdict = json.loads((await post(http, forged, "application/xml", "/v1/attestations/verify"))[1])
    assert verdict["valid"] is False and verdict["reason"].startswith("signature_invalid")


async def test_verify_accepts_a_jws_attestation(http: str, cnas: Issued, examples: Examples) -> None:
    """A JWS-sealed attestation verifies too; a request signed by CNAS is not a gateway seal."""
    _, token = signed_jws(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    _, sealed, _ = await post(http, token, "application/jose")
    assert json.loads((await post(http, sealed, "application/jose", "/v1/attestations/verify"))[1])["valid"] is True
    verdict = json.loads((await post(http, token, "application/jose", "/v1/attestations/verify"))[1])
    assert verdict["valid"] is False and "not the gateway" in verdict["reason"]


async def test_health_readiness_and_metrics(http: str) -> None:
    """/healthz and /readyz answer 200 when all is up; /metrics counts requests by type and status."""
    assert (await get(http, "/healthz"))[0] == 200
    status, body, _ = await get(http, "/readyz")
    assert status == 200 and json.loads(body)["checks"] == {
        "broker": True,
        "broker_writes": True,
        "store": True,
        "seal_key": True,
    }
    status, body, _ = await get(http, "/metrics")
    text = body.decode()
    assert status == 200 and "# TYPE gateway_requests_total counter" in text
    assert (
        'gateway_requests_total{document_type="birth-certificate",problem="",status="issued",transport="http"}' in text
    )
    assert "gateway_request_duration_seconds_bucket" in text
    assert 'gateway_sla_answers_total{document_type="birth-certificate",within_sla="true"}' in text
    assert 'gateway_breaker_open{provider="dz.finances.dgi"} 0.0' in text
    assert "gateway_queue_messages{queue=" in text and "gateway_ready 1.0" in text


async def test_an_instant_beyond_the_calendar_is_schema_invalid_not_a_fault(
    http: str, cnas: Issued, identity: Callable[[str], Issued]
) -> None:
    """An `IssuedAt` or `Deadline` that the schema's pattern lets through but that leaves the calendar once in UTC
    (`9999-12-31T23:59:59-14:00`) is `schema_invalid` (422), over HTTP and in a citizen report: never a 5xx."""
    edge = "9999-12-31T23:59:59-14:00"
    for field in ("issuedAt", "deadline"):
        for form in (signed_xml, signed_jws):
            _, body = form(cnas, **{field: edge})
            status, _, headers = await post(http, body, "application/xml" if form is signed_xml else "application/jose")
            assert (status, headers["X-Problem"]) == (422, "schema_invalid"), (field, form)
    portal = identity("dz.portail-citoyen")
    payload = {"requestId": str(uuid.uuid4()), "issuedAt": edge, "subject": {"nin": "109870123456789012"}}
    token = JWSSigner(portal.key, [portal.cert]).sign(json.dumps(payload).encode())
    status, answer, _ = await post(http, token, "application/jose", "/v1/citizen/access-report")
    assert status == 422 and json.loads(answer)["error"] == "schema_invalid"


async def test_a_body_whose_content_encoding_does_not_decode_is_malformed_not_a_fault(http: str) -> None:
    """A body sent `Content-Encoding: gzip` that is not gzip is `malformed` (400, sealed) on POST /v1/requests, an
    invalid document on the verify endpoint and 400 `malformed` from the citizen report, each answer closing its
    connection: never a 500."""
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/jose"}
    async with aiohttp.ClientSession() as session:
        async with session.post(http + "/v1/requests", data=b"not gzip", headers=headers) as response:
            assert (response.status, response.headers["X-Problem"]) == (400, "malformed")
            assert response.content_type == "application/jose" and response.headers["Connection"] == "close"
        async with session.post(http + "/v1/attestations/verify", data=b"not gzip", headers=headers) as response:
            verdict = await response.json()
            assert response.status == 200 and verdict["valid"] is False and verdict["reason"].startswith("malformed")
        async with session.post(http + "/v1/citizen/access-report", data=b"not gzip", headers=headers) as response:
            assert response.status == 400 and (await response.json())["error"] == "malformed"


async def test_a_signed_payload_that_is_not_an_object_is_malformed_on_every_signed_endpoint(
    http: str, identity: Callable[[str], Issued]
) -> None:
    """A genuine signature over a JSON array, a string or a number is `malformed` (400) from the citizen
    report, the printed attestation and the corrections endpoint: never a 5xx."""
    signers = {
        "/v1/citizen/access-report": identity("dz.portail-citoyen"),
        "/v1/attestations/pdf": identity("dz.cnas"),
        "/v1/partners/corrections": identity("dz.interieur.etat-civil"),
    }
    for path, who in signers.items():
        for content in ([1, 2], "a text", 42):
            token = JWSSigner(who.key, [who.cert]).sign(json.dumps(content).encode())
            status, answer, _ = await post(http, token, "application/jose", path)
            assert (status, json.loads(answer)["error"]) == (400, "malformed"), (path, content)
