"""XML request signatures (checks 2 and 3): what is read on is exactly what was signed, and
only the allowed algorithms pass."""

from __future__ import annotations

import pytest
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
    root = etree.fromstring(f'<DocumentRequest xmlns="{NS}"><Requester>dz.cnas</Requester>'
                            f"<Subject><NIN>109870123456789012</NIN></Subject></DocumentRequest>".encode())
    signer = XMLSigner(method=methods.enveloped, signature_algorithm=algorithm, digest_algorithm=digest,
                       c14n_algorithm=EXC)
    return bytes(etree.tostring(signer.sign(root, key=who.key, cert=[pki.cert_pem(who.cert).decode()],
                                            always_add_key_value=False)))


def code(verifier: XMLRequestVerifier, body: bytes) -> str:
    try:
        return verifier.verify(etree.fromstring(body)).signer.participant
    except GatewayError as exc:
        return exc.code


def test_a_comment_slipped_in_after_signing_does_not_change_what_is_read(
        ca: pki.Issued, verifier: XMLRequestVerifier) -> None:
    """Comments are outside exclusive C14N, so the signature still holds; the NIN read is the signed one."""
    body = signed(pki.issue(ca, "dz.cnas")).replace(b"<NIN>10987012", b"<NIN>1<!-- -->0987012")
    verified = verifier.verify(etree.fromstring(body))
    assert verified.signed.findtext(f"{{{NS}}}Subject/{{{NS}}}NIN") == "109870123456789012"
    assert not list(verified.signed.iter(etree.Comment))


def test_a_changed_value_breaks_the_signature(ca: pki.Issued, verifier: XMLRequestVerifier) -> None:
    """One digit changed after signing: signature_invalid."""
    body = signed(pki.issue(ca, "dz.cnas")).replace(b"109870123456789012", b"109870123456789013")
    assert code(verifier, body) == "signature_invalid"


def test_weak_digests_and_hmac_are_refused_before_any_cryptography(ca: pki.Issued,
                                                                   verifier: XMLRequestVerifier) -> None:
    """A SHA-1 digest method and an HMAC signature method are refused by name, as not allowed."""
    body = signed(pki.issue(ca, "dz.cnas"))
    for old, new in ((b"http://www.w3.org/2001/04/xmlenc#sha256", b"http://www.w3.org/2000/09/xmldsig#sha1"),
                     (b"xmldsig-more#ecdsa-sha256", b"xmldsig-more#hmac-sha256")):
        with pytest.raises(GatewayError, match="is not allowed") as refused:
            verifier.verify(etree.fromstring(body.replace(old, new)))
        assert refused.value.code == "signature_invalid"


@pytest.mark.parametrize("algorithm", ["ecdsa-sha384", "rsa-sha256", "sha256-rsa-MGF1"])
def test_each_allowed_signature_method_verifies(ca: pki.Issued, verifier: XMLRequestVerifier,
                                                algorithm: str) -> None:
    """ECDSA, RSA PKCS#1 v1.5 and RSA-PSS (MGF1) signatures of an exchange participant verify."""
    key = pki.new_key("ec" if algorithm.startswith("ecdsa") else "rsa")
    assert code(verifier, signed(pki.issue(ca, "dz.cnas", key=key), algorithm=algorithm)) == "dz.cnas"
