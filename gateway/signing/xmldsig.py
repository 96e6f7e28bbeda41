"""Enveloped XMLDSig on requests: find the one signature, check what it covers, verify it.

signxml verifies the cryptography, given the certificate found in KeyInfo explicitly
(never a default CA bundle), with the location pinned to a child of the root and one
reference. Before that, the shape is checked here: exactly one `ds:Signature`, a child of
the root, one `Reference URI=""` (the whole document), allowed transforms, canonicalization,
signature and digest methods. The chain of that certificate is then judged by
`TrustStore`. Only `signed_xml` (what the signature covers, parsed again) is read on.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, replace

from cryptography import x509
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from gateway.errors import SignatureInvalid
from gateway.signing.trust import Signer, TrustStore

DS = "http://www.w3.org/2000/09/xmldsig#"
_NS = {"ds": DS}
ALLOWED_C14N = frozenset({
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
})
ALLOWED_TRANSFORMS = ALLOWED_C14N | {"http://www.w3.org/2000/09/xmldsig#enveloped-signature"}
SIGNATURE_METHODS = frozenset({
    SignatureMethod.ECDSA_SHA256, SignatureMethod.ECDSA_SHA384, SignatureMethod.ECDSA_SHA512,
    SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384, SignatureMethod.RSA_SHA512,
    SignatureMethod.SHA256_RSA_MGF1, SignatureMethod.SHA384_RSA_MGF1, SignatureMethod.SHA512_RSA_MGF1,
})
DIGESTS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})
_METHOD_URIS = frozenset(m.value for m in SIGNATURE_METHODS)
_DIGEST_URIS = frozenset(d.value for d in DIGESTS)
CERTIFICATE_CACHE_SIZE = 256
_CONFIG = SignatureConfiguration(
    require_x509=True,
    location="./",
    expect_references=1,
    signature_methods=SIGNATURE_METHODS,
    digest_algorithms=DIGESTS,
)


@dataclass(frozen=True)
class VerifiedXML:
    """What the signature covers (the root, its signature removed) and who signed it."""

    signed: etree._Element
    signer: Signer


_CERTIFICATES: OrderedDict[tuple[str, ...], tuple[x509.Certificate, list[x509.Certificate]]] = OrderedDict()


def signature_certificates(signature: etree._Element) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The signing certificate in KeyInfo/X509Data and the other certificates given with it
    (read once per distinct KeyInfo: the same few participants sign most requests)."""
    texts = tuple("".join((t.text or "").split())
                  for t in signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS))
    if not texts:
        raise SignatureInvalid("the signature's KeyInfo carries no X509Certificate")
    found = _CERTIFICATES.get(texts)
    if found is None:
        found = _read_certificates(texts)
        _CERTIFICATES[texts] = found
        if len(_CERTIFICATES) > CERTIFICATE_CACHE_SIZE:
            _CERTIFICATES.popitem(last=False)
    return found


def _read_certificates(texts: tuple[str, ...]) -> tuple[x509.Certificate, list[x509.Certificate]]:
    certs: list[x509.Certificate] = []
    for t in texts:
        try:
            certs.append(x509.load_der_x509_certificate(base64.b64decode(t)))
        except (binascii.Error, ValueError) as exc:
            raise SignatureInvalid(f"KeyInfo holds an unreadable certificate: {exc}") from None
    leaves = [c for c in certs if not _is_ca(c)]
    if len(leaves) != 1:
        raise SignatureInvalid(f"KeyInfo must hold one end-entity certificate, it holds {len(leaves)}")
    return leaves[0], [c for c in certs if c is not leaves[0]]


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def check_shape(root: etree._Element) -> etree._Element:
    """The one signature of the document, when its shape is the protocol's; else signature_invalid."""
    signatures = root.findall(f".//{{{DS}}}Signature")
    if not signatures:
        raise SignatureInvalid("the request is not signed")
    if len(signatures) > 1:
        raise SignatureInvalid(f"the request carries {len(signatures)} signatures; exactly one is allowed")
    signature = signatures[0]
    if signature.getparent() is not root:
        raise SignatureInvalid("the signature must be a child of the root element")
    c14n = signature.find("ds:SignedInfo/ds:CanonicalizationMethod", _NS)
    if c14n is None or c14n.get("Algorithm") not in ALLOWED_C14N:
        raise SignatureInvalid("canonicalization must be exclusive C14N or C14N 1.1")
    references = signature.findall("ds:SignedInfo/ds:Reference", _NS)
    if len(references) != 1 or references[0].get("URI") != "":
        raise SignatureInvalid('the signature must have exactly one Reference, with URI=""')
    for transform in references[0].findall("ds:Transforms/ds:Transform", _NS):
        if transform.get("Algorithm") not in ALLOWED_TRANSFORMS:
            raise SignatureInvalid(f"transform {transform.get('Algorithm')!r} is not allowed")
    method = signature.find("ds:SignedInfo/ds:SignatureMethod", _NS)
    if method is None or method.get("Algorithm") not in _METHOD_URIS:
        raise SignatureInvalid(f"signature method {None if method is None else method.get('Algorithm')!r} "
                               "is not allowed")
    digest = references[0].find("ds:DigestMethod", _NS)
    if digest is None or digest.get("Algorithm") not in _DIGEST_URIS:
        raise SignatureInvalid(f"digest method {None if digest is None else digest.get('Algorithm')!r} "
                               "is not allowed")
    return signature


class XMLRequestVerifier:
    """Verifies enveloped XMLDSig requests against the exchange anchors."""

    def __init__(self, trust: TrustStore) -> None:
        self._trust = trust

    def verify(self, root: etree._Element) -> VerifiedXML:
        signature = check_shape(root)
        leaf, others = signature_certificates(signature)
        # Validity dates are the trust store's business (certificate_expired comes after
        # signature_invalid), so signxml checks the signature at a moment the leaf was valid.
        config = replace(_CONFIG, verification_time=leaf.not_valid_before_utc + dt.timedelta(seconds=1))
        try:
            result = XMLVerifier().verify(root, x509_cert=leaf, expect_config=config)
        except (InvalidSignature, InvalidDigest, InvalidInput, InvalidCertificate, ValueError, KeyError) as exc:
            raise SignatureInvalid(f"XML signature does not verify: {exc}") from None
        signed = result.signed_xml if not isinstance(result, list) else None
        if signed is None or signed.tag != root.tag:
            raise SignatureInvalid("the signature does not cover the whole document")
        signer = self._trust.verify(leaf, others)
        return VerifiedXML(signed, signer)
