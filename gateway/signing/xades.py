"""The gateway's XAdES-BES seal, built from one fixed template (PROTOCOL §5).

Every seal has the same shape, so it is assembled here instead of by signxml's general
signer, which parses and serialises the document several times per signature and cost
about a fifth of a worker's time under load. The shape is the one signxml's XAdESSigner
produced, less two optional parts that only made every answer larger: the KeyValue (the
certificate is there) and the DataObjectFormat. The reference to the KeyInfo stays, for
verifiers that expect signxml's three references:

- C14N 1.1 (which lxml, like signxml and xmlsec1 for these documents, renders as inclusive
  C14N 1.0: the two differ only for `xml:id`/`xml:base` fix-ups, which a response never has);
- three references: the whole document (enveloped-signature, C14N 1.1), the
  `SignedProperties` (SigningTime, SigningCertificateV2) and the `KeyInfo`;
- the certificate chain in `KeyInfo/X509Data`.

Every digest is computed with lxml's canonicaliser on the element in its place in the
document, exactly as a verifier does. Tests check each seal with signxml's XAdESVerifier
and with xmlsec1.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from lxml import etree

from gateway.signing.pki import PrivateKey

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"

_TEMPLATE = (
    f'<ds:Signature xmlns:ds="{DS}" xmlns:xades="{XADES}" Id="{{sid}}">'
    "<ds:SignedInfo>"
    f'<ds:CanonicalizationMethod Algorithm="{C14N11}"/>'
    '<ds:SignatureMethod Algorithm="{method}"/>'
    '<ds:Reference URI="" Id="{sid}-document">'
    f'<ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"/><ds:Transform Algorithm="{C14N11}"/></ds:Transforms>'
    f'<ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue>{{document}}</ds:DigestValue>'
    "</ds:Reference>"
    f'<ds:Reference URI="#{{sid}}-signed-properties" Type="{SIGNED_PROPERTIES_TYPE}">'
    f'<ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue/>'
    "</ds:Reference>"
    '<ds:Reference URI="#{sid}-key-info">'
    f'<ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue/>'
    "</ds:Reference>"
    "</ds:SignedInfo>"
    "<ds:SignatureValue/>"
    '<ds:KeyInfo Id="{sid}-key-info"><ds:X509Data>{certificates}</ds:X509Data></ds:KeyInfo>'
    "<ds:Object>"
    '<xades:QualifyingProperties Target="#{sid}">'
    '<xades:SignedProperties Id="{sid}-signed-properties">'
    "<xades:SignedSignatureProperties>"
    "<xades:SigningTime>{signing_time}</xades:SigningTime>"
    "<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>"
    f'<ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue>{{cert_digest}}</ds:DigestValue>'
    "</xades:CertDigest></xades:Cert></xades:SigningCertificateV2>"
    "</xades:SignedSignatureProperties>"
    "</xades:SignedProperties>"
    "</xades:QualifyingProperties>"
    "</ds:Object>"
    "</ds:Signature>"
)
_DIGEST_VALUES = etree.XPath("ds:SignedInfo/ds:Reference/ds:DigestValue", namespaces={"ds": DS})


def _c14n(element: etree._Element) -> bytes:
    """C14N 1.1 as signxml and lxml render it: inclusive, without comments, in the element's context."""
    return bytes(etree.tostring(element, method="c14n", exclusive=False, with_comments=False))


def _digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


class XAdESSealer:
    """Seals documents with one key and its chain (the leaf first); everything constant is prepared once."""

    def __init__(self, key: PrivateKey, chain: Sequence[x509.Certificate]) -> None:
        if not chain:
            raise ValueError("a seal needs the signing certificate")
        self._key = key
        self._method = ECDSA_SHA256 if isinstance(key, ec.EllipticCurvePrivateKey) else RSA_SHA256
        ders = [c.public_bytes(serialization.Encoding.DER) for c in chain]
        self._certificates = "".join(
            f"<ds:X509Certificate>{base64.b64encode(d).decode('ascii')}</ds:X509Certificate>" for d in ders)
        self._cert_digest = _digest(ders[0])

    def _sign(self, data: bytes) -> bytes:
        key = self._key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            size = (key.curve.key_size + 7) // 8
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")  # XMLDSig wants r || s, not DER
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def seal(self, root: etree._Element, signing_time: dt.datetime | None = None) -> bytes:
        """The document (a root element, unsigned) with its seal appended, serialised with an XML declaration."""
        if root.getparent() is not None:
            raise ValueError("only a whole document is sealed")
        when = (signing_time or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        signature = etree.fromstring(_TEMPLATE.format(
            sid=f"seal-{secrets.token_hex(8)}",
            method=self._method,
            document=_digest(_c14n(root)),  # the enveloped transform: the document before its seal
            certificates=self._certificates,
            signing_time=when.isoformat(),
            cert_digest=self._cert_digest,
        ))
        root.append(signature)
        signed_info, key_info, signed_properties = signature[0], signature[2], signature[3][0][0]
        _, properties_digest, key_info_digest = _DIGEST_VALUES(signature)
        properties_digest.text = _digest(_c14n(signed_properties))
        key_info_digest.text = _digest(_c14n(key_info))
        signature[1].text = base64.b64encode(self._sign(_c14n(signed_info))).decode("ascii")
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
