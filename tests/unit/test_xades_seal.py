"""The template-built XAdES-BES seal (docs/protocol.md §6): signxml's verifier and xmlsec1 both accept
it, for ECDSA and RSA keys, and any change to what it covers breaks it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import SignatureInvalid
from gateway.signing import pki
from gateway.signing.seal import verify_xml_seal
from gateway.signing.trust import TrustStore
from gateway.signing.xades import XAdESSealer

NS = "urn:dz:exchange:v1"
RESPONSE = (
    f'<DocumentResponse xmlns="{NS}"><ResponseId>r-1</ResponseId><Status>issued</Status>'
    "<Attestation><DocumentType>birth-certificate</DocumentType>"
    '<Data><FamilyName lang="ar">بن علي</FamilyName><Note>a &amp; b &lt; c</Note><Empty/></Data>'
    "</Attestation></DocumentResponse>"
).encode()


@pytest.fixture(scope="module")
def ca() -> pki.Issued:
    return pki.make_ca()


@pytest.fixture(scope="module", params=["ec", "rsa"])
def sealer(request: pytest.FixtureRequest, ca: pki.Issued) -> XAdESSealer:
    who = pki.issue(ca, "dz.exchange.gateway", key=pki.new_key(request.param))
    return XAdESSealer(who.key, [who.cert, ca.cert])


def sealed(sealer: XAdESSealer) -> bytes:
    return sealer.seal(etree.fromstring(RESPONSE))


def test_signxml_accepts_the_seal_and_names_the_gateway(sealer: XAdESSealer, ca: pki.Issued) -> None:
    """signxml's XAdES verifier accepts the seal, and the signed content is the whole response."""
    seal = verify_xml_seal(etree.fromstring(sealed(sealer)), TrustStore([ca.cert]))
    assert seal.signer.participant == "dz.exchange.gateway"
    assert seal.xml is not None and seal.xml.findtext(f"{{{NS}}}Attestation/{{{NS}}}Data/{{{NS}}}Note") == "a & b < c"


@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 is not installed")
def test_xmlsec1_accepts_the_seal_with_the_root_ca_alone(sealer: XAdESSealer, ca: pki.Issued, tmp_path: Path) -> None:
    """xmlsec1, given only the root CA, checks all three references of the seal."""
    (tmp_path / "ca.pem").write_bytes(pki.cert_pem(ca.cert))
    (tmp_path / "sealed.xml").write_bytes(sealed(sealer))
    result = subprocess.run(
        [
            "xmlsec1",
            "--verify",
            "--trusted-pem",
            str(tmp_path / "ca.pem"),
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            str(tmp_path / "sealed.xml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "References (ok/all): 3/3" in result.stderr


@pytest.mark.parametrize(
    "old, new",
    [
        (b"birth-certificate", b"death-record"),  # the document
        (b"<ResponseId>r-1</ResponseId>", b"<ResponseId>r-2</ResponseId>"),
        (b"<xades:SigningTime>20", b"<xades:SigningTime>19"),  # the signed properties
        (b"<xades:CertDigest>", b"<xades:CertDigest> "),
    ],
)
def test_any_change_to_what_the_seal_covers_breaks_it(
    sealer: XAdESSealer, ca: pki.Issued, old: bytes, new: bytes
) -> None:
    """A change to the document or to the signed properties makes the seal signature_invalid."""
    body = sealed(sealer)
    assert old in body
    with pytest.raises(SignatureInvalid):
        verify_xml_seal(etree.fromstring(body.replace(old, new, 1)), TrustStore([ca.cert]))


def test_each_seal_has_its_own_ids(sealer: XAdESSealer) -> None:
    """Two seals never share the Signature Id that their references point at."""
    ids = {
        etree.fromstring(sealed(sealer)).find("{http://www.w3.org/2000/09/xmldsig#}Signature").get("Id")
        for _ in range(3)
    }
    assert len(ids) == 3


def test_only_a_whole_document_is_sealed(sealer: XAdESSealer) -> None:
    """Sealing an element inside another document is refused: its digest would not be the document's."""
    root = etree.fromstring(RESPONSE)
    with pytest.raises(ValueError):
        sealer.seal(root[2])
