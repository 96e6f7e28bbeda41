"""XML request signatures (checks 2 and 3): what is read on is exactly what was signed, and
only the allowed algorithms pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import methods
from signxml.signer import XMLSigner

from gateway.errors import GatewayError
from gateway.signing import pki
from gateway.signing.trust import TrustStore
from gateway.signing.xmldsig import XMLRequestVerifier

NS = "urn:dz:exchange:v1"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"


@pytest.fixture(scope="module")
def ca() -> pki.Issued:
    return pki.make_ca()


@pytest.fixture(scope="module")
def verifier(ca: pki.Issued) -> XMLRequestVerifier:
    return XMLRequestVerifier(TrustStore([ca.cert]))


def signed(who: pki.Issued, *, algorithm: str = "ecdsa-sha256", digest: str = "sha256") -> bytes:
    root = etree.fromstring(
        f'<DocumentRequest xmlns="{NS}"><Requester>dz.cnas</Requester>'
        f"<Subject><NIN>109870123456789012</NIN></Subject></DocumentRequest>".encode()
    )
    signer = XMLSigner(
        method=methods.enveloped, signature_algorithm=algorithm, digest_algorithm=digest, c14n_algorithm=EXC
    )
    return bytes(
        etree.tostring(
            signer.sign(root, key=who.key, cert=[pki.cert_pem(who.cert).decode()], always_add_key_value=False)
        )
    )


def code(verifier: XMLRequestVerifier, body: bytes) -> str:
    try:
        return verifier.verify(etree.fromstring(body)).signer.participant
    except GatewayError as exc:
        return exc.code


def test_a_comment_slipped_in_after_signing_does_not_change_what_is_read(
    ca: pki.Issued, verifier: XMLRequestVerifier
) -> None:
    """Comments are outside exclusive C14N, so the signature still holds; the NIN read is the signed one."""
    body = signed(pki.issue(ca, "dz.cnas")).replace(b"<NIN>10987012", b"<NIN>1<!-- -->0987012")
    verified = verifier.verify(etree.fromstring(body))
    assert verified.signed.findtext(f"{{{NS}}}Subject/{{{NS}}}NIN") == "109870123456789012"
    assert not list(verified.signed.iter(etree.Comment))


def test_a_changed_value_breaks_the_signature(ca: pki.Issued, verifier: XMLRequestVerifier) -> None:
    """One digit changed after signing: signature_invalid."""
    body = signed(pki.issue(ca, "dz.cnas")).replace(b"109870123456789012", b"109870123456789013")
    assert code(verifier, body) == "signature_invalid"


def test_weak_digests_and_hmac_are_refused_before_any_cryptography(
    ca: pki.Issued, verifier: XMLRequestVerifier
) -> None:
    """A SHA-1 digest method and an HMAC signature method are refused by name, as not allowed."""
    body = signed(pki.issue(ca, "dz.cnas"))
    for old, new in (
        (b"http://www.w3.org/2001/04/xmlenc#sha256", b"http://www.w3.org/2000/09/xmldsig#sha1"),
        (b"xmldsig-more#ecdsa-sha256", b"xmldsig-more#hmac-sha256"),
    ):
        with pytest.raises(GatewayError, match="is not allowed") as refused:
            verifier.verify(etree.fromstring(body.replace(old, new)))
        assert refused.value.code == "signature_invalid"


@pytest.mark.parametrize("algorithm", ["ecdsa-sha384", "rsa-sha256", "sha256-rsa-MGF1"])
def test_each_allowed_signature_method_verifies(ca: pki.Issued, verifier: XMLRequestVerifier, algorithm: str) -> None:
    """ECDSA, RSA PKCS#1 v1.5 and RSA-PSS (MGF1) signatures of an exchange participant verify."""
    key = pki.new_key("ec" if algorithm.startswith("ecdsa") else "rsa")
    assert code(verifier, signed(pki.issue(ca, "dz.cnas", key=key), algorithm=algorithm)) == "dz.cnas"


def _signxml_accepts(body: bytes, who: pki.Issued) -> bool:
    """signxml's general verifier, the reference the gateway's own verification must agree with."""
    from signxml.exceptions import SignXMLException
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    try:
        XMLVerifier().verify(
            etree.fromstring(body),
            x509_cert=who.cert,
            expect_config=SignatureConfiguration(location="./", expect_references=1),
        )
    except (SignXMLException, ValueError):
        return False
    return True


@pytest.mark.parametrize("c14n", [EXC, EXC + "WithComments", "http://www.w3.org/2006/12/xml-c14n11"])
@pytest.mark.parametrize(
    "old, new, holds",
    [
        (b"", b"", True),  # unchanged
        (b"109870123456789012", b"109870123456789013", False),  # the content
        (b"<Requester>", b"<Requester> ", False),  # whitespace in the content
        (b"<ds:SignatureMethod", b" <ds:SignatureMethod", False),  # whitespace inside SignedInfo
        (b"</ds:SignedInfo>", b"</ds:SignedInfo> ", True),  # whitespace outside SignedInfo, inside the signature
        (b"<ds:SignatureValue>", b"<ds:SignatureValue>AAAA", False),  # the signature value itself
        (b"<Subject>", b"<!-- note --><Subject>", None),  # a comment: covered only WithComments
    ],
)
def test_the_gateway_and_signxml_agree_on_every_variant(
    ca: pki.Issued, verifier: XMLRequestVerifier, c14n: str, old: bytes, new: bytes, holds: bool | None
) -> None:
    """For each canonicalization and each change made after signing, the gateway accepts exactly when signxml does."""
    who = pki.issue(ca, "dz.cnas")
    root = etree.fromstring(
        f'<DocumentRequest xmlns="{NS}"><Requester>dz.cnas</Requester>'
        f"<Subject><NIN>109870123456789012</NIN></Subject></DocumentRequest>".encode()
    )
    signer = XMLSigner(
        method=methods.enveloped, signature_algorithm="ecdsa-sha256", digest_algorithm="sha256", c14n_algorithm=c14n
    )
    body = etree.tostring(
        signer.sign(root, key=who.key, cert=[pki.cert_pem(who.cert).decode()], always_add_key_value=False)
    )
    assert old in body
    body = body.replace(old, new, 1)
    expected = holds if holds is not None else not c14n.endswith("WithComments")
    assert (code(verifier, body) == "dz.cnas") is expected
    assert _signxml_accepts(body, who) is expected


@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 is not installed")
def test_a_pretty_printed_request_signed_by_xmlsec1_verifies(
    ca: pki.Issued, verifier: XMLRequestVerifier, tmp_path: Path
) -> None:
    """Text around the signature (here indentation) stays in the digest, as the enveloped transform says."""
    who = pki.issue(ca, "dz.cnas")
    (tmp_path / "key.pem").write_bytes(
        who.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "cert.pem").write_bytes(pki.cert_pem(who.cert))
    (tmp_path / "template.xml").write_text(
        f'<DocumentRequest xmlns="{NS}">\n  <Requester>dz.cnas</Requester>\n'
        "  <Subject><NIN>109870123456789012</NIN></Subject>\n"
        '  <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
        f'<ds:CanonicalizationMethod Algorithm="{EXC}"/>'
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>'
        '<ds:Reference URI=""><ds:Transforms>'
        '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        f'<ds:Transform Algorithm="{EXC}"/></ds:Transforms>'
        '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>'
        "</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>\n"
        "</DocumentRequest>\n"
    )
    subprocess.run(
        [
            "xmlsec1",
            "--sign",
            "--privkey-pem",
            f"{tmp_path / 'key.pem'},{tmp_path / 'cert.pem'}",
            "--output",
            str(tmp_path / "signed.xml"),
            str(tmp_path / "template.xml"),
        ],
        check=True,
        capture_output=True,
    )
    body = (tmp_path / "signed.xml").read_bytes()
    assert b"</ds:Signature>\n</DocumentRequest>" in body
    assert code(verifier, body) == "dz.cnas" and _signxml_accepts(body, who)
    assert code(verifier, body.replace(b"</ds:Signature>\n", b"</ds:Signature>\n\n", 1)) == "signature_invalid"
    root = etree.fromstring(body)
    verifier.verify(root)
    assert etree.tostring(root) == etree.tostring(etree.fromstring(body))  # the signature is back, text and all


def test_transforms_out_of_order_are_refused_by_name(ca: pki.Issued, verifier: XMLRequestVerifier) -> None:
    """A canonicalization before the enveloped-signature transform is refused before any cryptography."""
    body = signed(pki.issue(ca, "dz.cnas"))
    enveloped = b'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
    exc = f'<ds:Transform Algorithm="{EXC}"/>'.encode()
    assert enveloped + exc in body
    with pytest.raises(GatewayError, match="transforms must be enveloped-signature") as refused:
        verifier.verify(etree.fromstring(body.replace(enveloped + exc, exc + enveloped)))
    assert refused.value.code == "signature_invalid"


def test_a_transform_outside_the_list_is_refused_by_name(ca: pki.Issued, verifier: XMLRequestVerifier) -> None:
    """An XSLT transform in place of the canonicalization is signature_invalid, naming the transform."""
    body = signed(pki.issue(ca, "dz.cnas"))
    xslt = b"http://www.w3.org/TR/1999/REC-xslt-19991116"
    exc_transform = f'<ds:Transform Algorithm="{EXC}"/>'.encode()
    assert exc_transform in body
    with pytest.raises(GatewayError, match=r"REC-xslt-19991116' is not allowed") as refused:
        verifier.verify(etree.fromstring(body.replace(exc_transform, b'<ds:Transform Algorithm="' + xslt + b'"/>')))
    assert refused.value.code == "signature_invalid"
