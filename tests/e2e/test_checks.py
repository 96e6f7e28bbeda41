"""Each check of docs/protocol.md §5, in order, over the real bus: a broken or hostile request gets
its own problem code in a sealed refusal, and the gateway keeps serving."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
import json
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree

from gateway.runtime.worker import Gateway
from gateway.signing import pki
from gateway.signing.pki import Issued
from gateway_partner import Partner
from tests.e2e.exchange import BusClient, request_fields, sign_xml, signed_jws, signed_xml, to_xml

NIN = "birth-certificate"


async def refused(
    bus: BusClient, body: bytes, rid: str | None, code: str, *, content_type: str | None = "application/xml"
) -> None:
    reply = await bus.call(body, message_id=rid, content_type=content_type)
    assert (reply.status, reply.problem) == ("refused", code), reply.body[:400]
    if content_type == "application/jose":
        part = reply.body.split(b".")[1]
        payload = json.loads(base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4)))
        assert payload["problem"]["code"] == code
    else:
        problem = etree.fromstring(reply.body).find("{urn:dz:exchange:v1}Problem")
        assert problem is not None and problem.get("code") == code


@pytest.fixture()
def found(examples: dict[str, dict[str, list[str]]]) -> str:
    return examples[NIN]["found"][0]


async def still_serving(bus: BusClient, cnas: Issued, found: str) -> None:
    rid, body = signed_xml(cnas, subject={"nin": found})
    reply = await bus.call(body, message_id=rid)
    assert reply.status == "issued"


@pytest_asyncio.fixture(autouse=True)
async def gateway_keeps_serving(bus: BusClient, cnas: Issued, found: str) -> AsyncIterator[None]:
    """After every hostile or broken input, a genuine request is still answered `issued`."""
    yield
    await still_serving(bus, cnas, found)


# ------------------------------------------------------------------ check 1: size and form
async def test_oversize_body_is_too_large(bus: BusClient, cnas: Issued, found: str) -> None:
    """A body over 256 KiB is refused as too_large before anything is parsed."""
    rid, body = signed_xml(cnas, subject={"nin": found})
    await refused(bus, body + b" " * (256 * 1024), rid, "too_large")
    await still_serving(bus, cnas, found)


async def test_xxe_is_malformed(bus: BusClient, cnas: Issued, found: str) -> None:
    """A DTD with an external entity is refused as malformed, and nothing is fetched."""
    body = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    await refused(bus, body, str(uuid.uuid4()), "malformed")
    await still_serving(bus, cnas, found)


async def test_junk_bytes_are_malformed(bus: BusClient) -> None:
    """Bytes that are not XML at all are refused as malformed."""
    await refused(bus, b"\x00\xffjunk<", str(uuid.uuid4()), "malformed")


async def test_broken_jws_is_malformed(bus: BusClient) -> None:
    """A JOSE body that is not three base64url parts of JSON is refused as malformed."""
    await refused(bus, b"not.a-jws", str(uuid.uuid4()), "malformed", content_type="application/jose")


async def test_unsupported_content_type_is_refused_in_xml(bus: BusClient, cnas: Issued, found: str) -> None:
    """A text/plain request is refused as unsupported_media_type, answered in XML."""
    rid, body = signed_xml(cnas, subject={"nin": found})
    await refused(bus, body, rid, "unsupported_media_type", content_type="text/plain")


# ------------------------------------------------------------------ check 2: signature and certificate
async def test_changed_after_signing_is_signature_invalid(
    bus: BusClient, cnas: Issued, found: str, examples: dict[str, dict[str, list[str]]]
) -> None:
    """A signed request whose subject was changed afterwards is refused as signature_invalid."""
    rid, body = signed_xml(cnas, subject={"nin": found})
    await refused(bus, body.replace(found.encode(), examples[NIN]["found"][1].encode()), rid, "signature_invalid")


async def test_unsigned_request_is_signature_invalid(bus: BusClient, found: str) -> None:
    """A request with no signature at all is refused as signature_invalid."""
    fields = request_fields(subject={"nin": found})
    await refused(bus, etree.tostring(to_xml(fields)), fields["requestId"], "signature_invalid")


async def test_jws_alg_none_is_signature_invalid(bus: BusClient, cnas: Issued, found: str) -> None:
    """A JWS with alg none is refused as signature_invalid."""
    rid, token = signed_jws(cnas, subject={"nin": found})
    _, payload, _ = token.split(b".")
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "dz-exchange+json"}).encode()).rstrip(b"=")
    await refused(bus, header + b"." + payload + b".", rid, "signature_invalid", content_type="application/jose")


async def test_jws_hs256_keyed_with_the_certificate_is_signature_invalid(
    bus: BusClient, cnas: Issued, found: str
) -> None:
    """HS256 keyed with the signer's public certificate (algorithm confusion) is signature_invalid."""
    rid, token = signed_jws(cnas, subject={"nin": found})
    h64, p64, _ = token.split(b".")
    header = json.loads(base64.urlsafe_b64decode(h64 + b"=="))
    header["alg"] = "HS256"
    h64 = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=")
    mac = hmac.new(pki.cert_pem(cnas.cert), h64 + b"." + p64, "sha256").digest()
    forged = h64 + b"." + p64 + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")
    await refused(bus, forged, rid, "signature_invalid", content_type="application/jose")


async def test_self_signed_certificate_is_untrusted(bus: BusClient, found: str) -> None:
    """A correct signature by a certificate outside the exchange PKI is certificate_untrusted."""
    rogue_ca = pki.make_ca("Rogue CA")
    rid, body = signed_xml(pki.issue(rogue_ca, "dz.cnas"), subject={"nin": found})
    await refused(bus, body, rid, "certificate_untrusted")


async def test_weak_rsa_key_is_untrusted(bus: BusClient, ca: Issued, found: str) -> None:
    """An RSA key under 2048 bits, even issued by the exchange CA, is certificate_untrusted."""
    weak = pki.issue(ca, "dz.cnas", key=pki.new_key("rsa", 1024))
    rid, body = signed_xml(weak, subject={"nin": found})
    await refused(bus, body, rid, "certificate_untrusted")


async def test_expired_certificate_is_expired(bus: BusClient, ca: Issued, found: str) -> None:
    """A certificate past its validity is certificate_expired, told apart from untrusted."""
    now = dt.datetime.now(dt.UTC)
    old = pki.issue(ca, "dz.cnas", not_before=now - dt.timedelta(hours=3), not_after=now - dt.timedelta(hours=1))
    rid, body = signed_xml(old, subject={"nin": found})
    await refused(bus, body, rid, "certificate_expired")


async def test_revoked_certificate_is_refused_after_crl_reload(
    bus: BusClient, ca: Issued, gateway: Gateway, found: str
) -> None:
    """A CRL dropped in pki/crl takes effect without a restart: the listed cert is certificate_revoked."""
    victim = pki.issue(ca, "dz.cnas")
    rid, body = signed_xml(victim, subject={"nin": found})
    assert (await bus.call(body, message_id=rid)).status == "issued"
    crl_file = gateway.pki / "crl" / f"test-{uuid.uuid4().hex}.pem"
    crl_file.write_bytes(pki.make_crl(ca, [victim.cert.serial_number]).public_bytes(serialization.Encoding.PEM))
    try:
        for _ in range(50):  # the gateway re-reads the folder every second in this configuration
            rid, body = signed_xml(victim, subject={"nin": found})
            reply = await bus.call(body, message_id=rid)
            if reply.problem == "certificate_revoked":
                break
            await asyncio.sleep(0.2)
        assert reply.problem == "certificate_revoked"
    finally:
        crl_file.unlink()
        gateway.trust.reload_crls()


# ------------------------------------------------------------------ check 3: signer
async def test_signer_other_than_requester_is_mismatch(bus: BusClient, identity, found: str) -> None:  # type: ignore[no-untyped-def]
    """A request signed by the tax directorate but naming dz.cnas as requester is requester_mismatch."""
    rid, body = signed_xml(identity("dz.finances.dgi"), subject={"nin": found})
    await refused(bus, body, rid, "requester_mismatch")


# ------------------------------------------------------------------ check 4: schema
async def test_malformed_nin_is_schema_invalid(bus: BusClient, cnas: Issued) -> None:
    """A NIN of 17 digits is schema_invalid."""
    rid, body = signed_xml(cnas, subject={"nin": "12345678901234567"})
    await refused(bus, body, rid, "schema_invalid")


async def test_wrong_identifier_kind_is_schema_invalid(bus: BusClient, cnas: Issued) -> None:
    """A birth certificate asked by NIF instead of NIN is schema_invalid (the type's schema fixes it)."""
    rid, body = signed_xml(cnas, subject={"nif": "123456789012345"})
    await refused(bus, body, rid, "schema_invalid")


async def test_jws_payload_with_unknown_field_is_schema_invalid(bus: BusClient, cnas: Issued, found: str) -> None:
    """A JSON request with a field the schema does not know is schema_invalid."""
    rid, token = signed_jws(cnas, subject={"nin": found}, shoeSize="42")
    await refused(bus, token, rid, "schema_invalid", content_type="application/jose")


# ------------------------------------------------------------------ check 5: freshness
async def test_old_request_is_stale(bus: BusClient, cnas: Issued, found: str) -> None:
    """IssuedAt ten minutes ago is stale_request."""
    rid, body = signed_xml(
        cnas,
        subject={"nin": found},
        issuedAt=(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    await refused(bus, body, rid, "stale_request")


async def test_future_request_is_stale(bus: BusClient, cnas: Issued, found: str) -> None:
    """IssuedAt ten minutes ahead is stale_request too."""
    rid, body = signed_xml(
        cnas,
        subject={"nin": found},
        issuedAt=(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    await refused(bus, body, rid, "stale_request")


# ------------------------------------------------------------------ check 6: document type
async def test_unknown_type_is_reported_as_such(bus: BusClient, cnas: Issued, found: str) -> None:
    """A well-formed but unknown DocumentType is unknown_document_type, not schema_invalid."""
    rid, body = signed_xml(cnas, document_type="driving-licence", subject={"nin": found})
    await refused(bus, body, rid, "unknown_document_type")


# ------------------------------------------------------------------ check 7: access
async def test_provider_asking_as_itself_is_access_denied(bus: BusClient, identity, found: str) -> None:  # type: ignore[no-untyped-def]
    """A participant with no access policy (the tax directorate) gets access_denied."""
    rid, body = signed_xml(identity("dz.finances.dgi"), requester="dz.finances.dgi", subject={"nin": found})
    await refused(bus, body, rid, "access_denied")


async def test_purpose_without_that_type_is_not_allowed(bus: BusClient, cnas: Issued, found: str) -> None:
    """A birth certificate for employer-registration is purpose_not_allowed."""
    rid, body = signed_xml(cnas, purpose="employer-registration", subject={"nin": found})
    await refused(bus, body, rid, "purpose_not_allowed")


async def test_over_quota_is_rate_limited_with_retry_after(bus: BusClient, identity, found: str) -> None:  # type: ignore[no-untyped-def]
    """Past its burst of 2, the tiny-quota requester gets rate_limited, retryable, with retryAfter."""
    who = identity("dz.test.quota")
    statuses = []
    for _ in range(3):
        rid, body = signed_xml(who, requester="dz.test.quota", subject={"nin": found})
        statuses.append(await bus.call(body, message_id=rid))
    assert [r.status for r in statuses[:2]] == ["issued", "issued"]
    last = statuses[2]
    assert (last.status, last.problem) == ("refused", "rate_limited")
    problem = etree.fromstring(last.body).find("{urn:dz:exchange:v1}Problem")
    assert problem is not None and problem.get("retryable") == "true" and int(problem.get("retryAfter", "0")) >= 1


# ------------------------------------------------------------------ check 8: duplicates
async def test_repeat_gets_same_bytes_without_second_query(
    bus: BusClient, cnas: Issued, found: str, civil_registry: Partner
) -> None:
    """The same signed request twice gets byte-identical answers and one provider query."""
    rid, body = signed_xml(cnas, subject={"nin": found})
    first = await bus.call(body, message_id=rid)
    asked = civil_registry.answered
    second = await bus.call(body, message_id=rid)
    assert first.body == second.body and first.status == "issued"
    assert civil_registry.answered == asked


async def test_copies_sent_at_once_get_same_bytes_and_one_query(
    bus: BusClient, cnas: Issued, found: str, civil_registry: Partner
) -> None:
    """Five copies of one signed request sent at once get byte-identical answers and one provider query."""
    rid, body = signed_xml(cnas, subject={"nin": found})
    asked = civil_registry.answered
    replies = await asyncio.gather(*(bus.call(body, message_id=rid) for _ in range(5)))
    assert {r.body for r in replies} == {replies[0].body} and replies[0].status == "issued"
    assert civil_registry.answered == asked + 1


async def test_same_id_other_content_is_duplicate_conflict(bus: BusClient, cnas: Issued, found: str) -> None:
    """A request id reused for other signed content is duplicate_conflict."""
    rid, body = signed_xml(cnas, subject={"nin": found})
    assert (await bus.call(body, message_id=rid)).status == "issued"
    _, other = signed_xml(cnas, subject={"nin": found}, requestId=rid, agency="CNAS-31-002")
    await refused(bus, other, rid, "duplicate_conflict")


async def test_message_id_must_equal_request_id(bus: BusClient, cnas: Issued, found: str) -> None:
    """A message_id that differs from the signed RequestId is refused as malformed."""
    _, body = signed_xml(cnas, subject={"nin": found})
    await refused(bus, body, str(uuid.uuid4()), "malformed")


async def test_two_signatures_are_signature_invalid(bus: BusClient, cnas: Issued, found: str) -> None:
    """A document carrying a second signature is refused as signature_invalid."""
    fields = request_fields(subject={"nin": found})
    once = etree.fromstring(sign_xml(to_xml(fields), cnas))
    signature = once.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    assert signature is not None
    once.append(etree.fromstring(etree.tostring(signature)))
    await refused(bus, etree.tostring(once), fields["requestId"], "signature_invalid")


# ------------------------------------------------------------------ XML signature wrapping and tricks
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def _signed_root(cnas: Issued, found: str) -> tuple[str, etree._Element]:
    rid, body = signed_xml(cnas, subject={"nin": found})
    return rid, etree.fromstring(body)


async def test_element_added_after_signing_is_signature_invalid(bus: BusClient, cnas: Issued, found: str) -> None:
    """An element appended to the signed document after signing is refused, never read as data."""
    rid, root = _signed_root(cnas, found)
    extra = etree.SubElement(root, "{urn:dz:exchange:v1}CaseReference")
    extra.text = "INJECTED"
    await refused(bus, etree.tostring(root), rid, "signature_invalid")


async def test_signature_moved_below_the_root_is_signature_invalid(bus: BusClient, cnas: Issued, found: str) -> None:
    """The signature moved inside Subject (not a child of the root) is refused."""
    rid, root = _signed_root(cnas, found)
    signature = root.find(f"{DS}Signature")
    subject = root.find("{urn:dz:exchange:v1}Subject")
    assert signature is not None and subject is not None
    root.remove(signature)
    subject.append(signature)
    await refused(bus, etree.tostring(root), rid, "signature_invalid")


async def test_signed_content_moved_under_an_id_is_signature_invalid(bus: BusClient, cnas: Issued, found: str) -> None:
    """Wrapping: the root says one thing while the signature covers another element by Id: refused."""
    rid, honest = _signed_root(cnas, found)
    signature = honest.find(f"{DS}Signature")
    assert signature is not None
    reference = signature.find(f"{DS}SignedInfo/{DS}Reference")
    assert reference is not None
    reference.set("URI", "#signed")  # (breaks the signature too; both must refuse, never accept)
    fields = request_fields(subject={"nin": "199999999999999999"}, requestId=rid)
    evil = to_xml(fields)
    wrapper = etree.SubElement(evil, "{urn:dz:exchange:v1}Wrapper", Id="signed")
    honest.remove(signature)
    wrapper.append(honest)
    evil.append(signature)
    await refused(bus, etree.tostring(evil), rid, "signature_invalid")


async def test_hmac_signature_method_is_signature_invalid(bus: BusClient, cnas: Issued, found: str) -> None:
    """A request whose SignatureMethod is HMAC-SHA256, keyed by anything, is refused."""
    rid, root = _signed_root(cnas, found)
    method = root.find(f"{DS}Signature/{DS}SignedInfo/{DS}SignatureMethod")
    assert method is not None
    method.set("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256")
    signed_info = root.find(f"{DS}Signature/{DS}SignedInfo")
    value = root.find(f"{DS}Signature/{DS}SignatureValue")
    assert signed_info is not None and value is not None
    mac = hmac.new(
        pki.cert_pem(cnas.cert), etree.tostring(signed_info, method="c14n", exclusive=True), "sha256"
    ).digest()
    value.text = base64.b64encode(mac).decode()
    await refused(bus, etree.tostring(root), rid, "signature_invalid")


# ------------------------------------------------------------------ JWS tricks
def _jws_parts(token: bytes) -> tuple[dict[str, object], bytes, bytes]:
    h64, p64, s64 = token.split(b".")
    return json.loads(base64.urlsafe_b64decode(h64 + b"=" * (-len(h64) % 4))), p64, s64


def _b64(value: object) -> bytes:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")


async def test_jws_without_x5c_is_signature_invalid(bus: BusClient, cnas: Issued, found: str) -> None:
    """A JWS whose header carries no x5c chain is refused."""
    rid, token = signed_jws(cnas, subject={"nin": found})
    header, p64, s64 = _jws_parts(token)
    header.pop("x5c")
    await refused(
        bus, _b64(header) + b"." + p64 + b"." + s64, rid, "signature_invalid", content_type="application/jose"
    )


async def test_jws_with_unknown_crit_is_signature_invalid(bus: BusClient, cnas: Issued, found: str) -> None:
    """A correctly signed JWS naming an unknown critical header extension is refused."""
    payload = request_fields(subject={"nin": found})
    header = {
        "alg": "ES256",
        "typ": "dz-exchange+json",
        "crit": ["dz-magic"],
        "dz-magic": True,
        "x5c": [base64.b64encode(cnas.cert.public_bytes(serialization.Encoding.DER)).decode()],
    }
    signing_input = _b64(header) + b"." + _b64(payload)
    assert isinstance(cnas.key, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(cnas.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    signature = base64.urlsafe_b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).rstrip(b"=")
    await refused(
        bus,
        signing_input + b"." + signature,
        payload["requestId"],
        "signature_invalid",
        content_type="application/jose",
    )


async def test_jws_with_tampered_header_is_signature_invalid(bus: BusClient, cnas: Issued, found: str) -> None:
    """Changing a protected header field after signing breaks the signature."""
    rid, token = signed_jws(cnas, subject={"nin": found})
    header, p64, s64 = _jws_parts(token)
    header["kid"] = "someone-else"
    await refused(
        bus, _b64(header) + b"." + p64 + b"." + s64, rid, "signature_invalid", content_type="application/jose"
    )


async def test_jws_with_tampered_payload_is_signature_invalid(
    bus: BusClient, cnas: Issued, found: str, examples: dict[str, dict[str, list[str]]]
) -> None:
    """Changing the payload after signing (another subject) breaks the signature."""
    rid, token = signed_jws(cnas, subject={"nin": found})
    h64, p64, s64 = token.split(b".")
    payload = json.loads(base64.urlsafe_b64decode(p64 + b"=" * (-len(p64) % 4)))
    payload["subject"]["nin"] = examples[NIN]["found"][1]
    await refused(
        bus, h64 + b"." + _b64(payload) + b"." + s64, rid, "signature_invalid", content_type="application/jose"
    )


# ------------------------------------------------------------------ more certificates
async def test_not_yet_valid_certificate_is_expired(bus: BusClient, ca: Issued, found: str) -> None:
    """A certificate whose validity starts tomorrow is certificate_expired."""
    now = dt.datetime.now(dt.UTC)
    early = pki.issue(ca, "dz.cnas", not_before=now + dt.timedelta(days=1), not_after=now + dt.timedelta(days=30))
    rid, body = signed_xml(early, subject={"nin": found})
    await refused(bus, body, rid, "certificate_expired")


async def test_certificate_without_signing_usage_is_untrusted(bus: BusClient, ca: Issued, found: str) -> None:
    """A certificate allowing neither digitalSignature nor nonRepudiation is certificate_untrusted."""
    wrong = pki.issue(ca, "dz.cnas", digital_signature=False, non_repudiation=False)
    rid, body = signed_xml(wrong, subject={"nin": found})
    await refused(bus, body, rid, "certificate_untrusted")


async def test_jws_from_an_untrusted_signer_is_untrusted(bus: BusClient, found: str) -> None:
    """A well-signed JWS whose x5c chains to no exchange anchor is certificate_untrusted."""
    rid, token = signed_jws(pki.issue(pki.make_ca("Rogue"), "dz.cnas"), subject={"nin": found})
    await refused(bus, token, rid, "certificate_untrusted", content_type="application/jose")


# ------------------------------------------------------------------ parser attacks over the bus
@pytest.mark.parametrize(
    ("name", "body"),
    [
        (
            "billion laughs",
            b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;</l>',
        ),
        ("internal DTD", b"<!DOCTYPE DocumentRequest [<!ELEMENT DocumentRequest ANY>]><DocumentRequest/>"),
        ("external DTD", b'<!DOCTYPE r SYSTEM "http://169.254.169.254/latest/meta-data/"><r/>'),
        ("deep nesting", b"<a>" * 5000 + b"</a>" * 5000),
        ("empty body", b""),
        ("processing instruction only", b'<?xml-stylesheet href="x"?>'),
    ],
)
async def test_parser_attacks_are_malformed(bus: BusClient, name: str, body: bytes) -> None:
    """Entity expansion, DTDs, deep nesting and empty bodies are refused as malformed, over the bus."""
    await refused(bus, body, str(uuid.uuid4()), "malformed")
