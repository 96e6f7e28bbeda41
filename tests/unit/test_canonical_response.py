"""Responses are written directly in canonical form (C14N 1.0) and sealed from that text: the
text must be exactly what lxml's canonicaliser makes of it, whatever the provider's data holds,
and the seal must verify in signxml and xmlsec1 for any root namespaces."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.errors import SignatureInvalid
from gateway.pipeline.attest import to_canonical_xml
from gateway.signing import pki
from gateway.signing.seal import verify_xml_seal
from gateway.signing.trust import TrustStore
from gateway.signing.xades import XAdESSealer

NS = "urn:dz:exchange:v1"
CA = pki.make_ca()
GATEWAY = pki.issue(CA, "dz.exchange.gateway")
SEALER = XAdESSealer(GATEWAY.key, [GATEWAY.cert, CA.cert])


def issued(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "responseId": "r-1",
        "inReplyTo": "q-1",
        "status": "issued",
        "issuedAt": "2026-11-29T10:00:00Z",
        "attestation": {
            "attestationId": "a-1",
            "documentType": "family-record",
            "subject": {"nin": "1" * 18},
            "validUntil": "2027-02-27T10:00:00Z",
            "data": data,
        },
    }


def refused(detail: str, retry_after: int | None) -> dict[str, Any]:
    problem: dict[str, Any] = {"code": "rate_limited", "retryable": True}
    if retry_after is not None:
        problem["retryAfter"] = retry_after
    problem["message"] = {"fr": f"Trop de demandes ({detail})", "ar": "طلبات كثيرة"}
    return {
        "responseId": "r-2",
        "inReplyTo": "q-2",
        "status": "refused",
        "issuedAt": "2026-11-29T10:00:00Z",
        "problem": problem,
    }


def lxml_c14n(text: str) -> str:
    return str(etree.tostring(etree.fromstring(text.encode()), method="c14n", with_comments=False).decode())


FAMILY = {
    "headOfFamily": "بن علي محمد",
    "spouses": [{"name": "Fatima & Co <x>", "married": True}],
    "children": [{"name": 'Amine\r\n\t "quoted"', "birthDate": "2010-01-02", "sex": "M"}],
    "empty": "",
    "count": 3,
}


@pytest.mark.parametrize("doc", [issued(FAMILY), issued({}), refused('a "b" & <c>\r', 30), refused("x", None)])
def test_the_written_text_is_its_own_canonical_form(doc: dict[str, Any]) -> None:
    """Lists, booleans, numbers, empty values, Arabic, and every character C14N escapes come out canonical."""
    text = to_canonical_xml(doc)
    assert lxml_c14n(text) == text


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs"]).filter(
            lambda c: c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff")
        )
    )
)
def test_any_xml_text_from_a_provider_is_written_canonically(value: str) -> None:
    """Any text XML allows, in data and in a message, is escaped exactly as C14N escapes it."""
    for doc in (issued({"name": value, "nested": [{"name": value}]}), refused(value, 5)):
        text = to_canonical_xml(doc)
        assert lxml_c14n(text) == text


@pytest.mark.parametrize("bad", ["\x00", "a\x1bb", "\ufffe"])
def test_text_xml_does_not_allow_is_refused(bad: str) -> None:
    """A control character in a provider's data cannot be written: ValueError, as lxml raised before."""
    with pytest.raises(ValueError, match="XML compatible"):
        to_canonical_xml(issued({"name": bad}))


@pytest.mark.parametrize("nsmap", [{None: NS}, {None: NS, "a": "urn:a", "z": "urn:z"}, {"p": "urn:p"}])
def test_the_seal_verifies_whatever_the_root_declares(nsmap: dict[str | None, str], tmp_path: Path) -> None:
    """The namespaces C14N puts on each signed part, in its place, are those the seal digested."""
    prefix = f"{{{nsmap[None]}}}" if None in nsmap else "{urn:p}"
    root = etree.Element(prefix + "Document", nsmap=nsmap)
    etree.SubElement(root, prefix + "Value").text = "a & b"
    body = SEALER.seal(root)
    assert verify_xml_seal(etree.fromstring(body), TrustStore([CA.cert])).signer.participant == "dz.exchange.gateway"
    if shutil.which("xmlsec1"):
        (tmp_path / "ca.pem").write_bytes(pki.cert_pem(CA.cert))
        (tmp_path / "doc.xml").write_bytes(body)
        checked = subprocess.run(
            [
                "xmlsec1",
                "--verify",
                "--trusted-pem",
                str(tmp_path / "ca.pem"),
                "--id-attr:Id",
                "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
                str(tmp_path / "doc.xml"),
            ],
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stderr


def test_a_sealed_response_changed_in_its_data_no_longer_verifies() -> None:
    """The seal made from the canonical text covers the data: one changed character breaks it."""
    body = SEALER.seal_canonical(to_canonical_xml(issued(FAMILY)), {None: NS})
    verify_xml_seal(etree.fromstring(body), TrustStore([CA.cert]))
    with pytest.raises(SignatureInvalid):
        verify_xml_seal(etree.fromstring(body.replace(b"Amine", b"Amina")), TrustStore([CA.cert]))


def test_a_root_declaring_the_seal_prefixes_is_refused() -> None:
    """A document whose root binds ds or xades itself is not sealed (its namespaces would clash)."""
    with pytest.raises(ValueError, match="must not declare"):
        SEALER.seal_canonical('<d xmlns:ds="urn:other"></d>', {"ds": "urn:other"})
