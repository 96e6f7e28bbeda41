"""The gateway's XAdES-BES seal, built from one fixed template (docs/protocol.md §6).

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

The document comes in canonical form (the gateway writes its responses so, see
`gateway/signing/canonical.py`), and each signed part is written in the canonical form that C14N
gives it in its place in the document, with the namespace declarations in scope there: the
digests are hashes of that text, and nothing is parsed or canonicalized again. Tests check
the seals with signxml's XAdESVerifier and with xmlsec1, and hold the canonical text to
lxml's canonicaliser (tests/unit/test_xades_seal.py, test_canonical_response.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from lxml import etree

from gateway.ids import random_hex
from gateway.signing import canonical
from gateway.signing.pki import PrivateKey

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"

_CONTEXT: dict[str | None, str] = {"ds": DS, "xades": XADES}  # declared on the Signature element


def _c14n(element: etree._Element) -> bytes:
    """C14N 1.1 as signxml and lxml render it: inclusive, without comments (for `seal` of an element tree)."""
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
            f"<ds:X509Certificate>{base64.b64encode(d).decode('ascii')}</ds:X509Certificate>" for d in ders
        )
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
        return self.seal_canonical(_c14n(root).decode("utf-8"), root.nsmap, signing_time)

    def seal_canonical(
        self, document: str, namespaces: Mapping[str | None, str], signing_time: dt.datetime | None = None
    ) -> bytes:
        """`document` (a whole unsigned document in canonical form, whose root declares
        `namespaces`) with its seal appended before the root's end tag, with an XML declaration.

        Each signed part is written twice: in canonical form, with the namespace declarations
        that C14N puts on it in its place in the document (what is digested and signed), and
        as it stands in the document, under the Signature element that declares them."""
        if set(namespaces) & set(_CONTEXT):
            raise ValueError("the document's root must not declare the ds or xades prefixes")
        head, end_tag, tail = document.rpartition("</")
        if not head or not document.startswith("<"):
            raise ValueError("a whole document in canonical form is sealed")
        sid = f"seal-{random_hex(8)}"
        when = (signing_time or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()
        in_scope = canonical.namespace_declarations({**namespaces, **_CONTEXT})
        properties = (
            "<xades:SignedSignatureProperties>"
            f"<xades:SigningTime>{when}</xades:SigningTime>"
            "<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>"
            f'<ds:DigestMethod Algorithm="{SHA256}"></ds:DigestMethod>'
            f"<ds:DigestValue>{self._cert_digest}</ds:DigestValue>"
            "</xades:CertDigest></xades:Cert></xades:SigningCertificateV2>"
            "</xades:SignedSignatureProperties>"
        )
        key_info = f"<ds:X509Data>{self._certificates}</ds:X509Data>"
        properties_id, key_info_id = f"{sid}-signed-properties", f"{sid}-key-info"
        properties_digest = _digest(
            f'<xades:SignedProperties {in_scope} Id="{properties_id}">{properties}</xades:SignedProperties>'.encode()
        )
        key_info_digest = _digest(f'<ds:KeyInfo {in_scope} Id="{key_info_id}">{key_info}</ds:KeyInfo>'.encode())
        signed_info = (
            f'<ds:CanonicalizationMethod Algorithm="{C14N11}"></ds:CanonicalizationMethod>'
            f'<ds:SignatureMethod Algorithm="{self._method}"></ds:SignatureMethod>'
            f'<ds:Reference Id="{sid}-document" URI="">'
            f'<ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"></ds:Transform>'
            f'<ds:Transform Algorithm="{C14N11}"></ds:Transform></ds:Transforms>'
            f'<ds:DigestMethod Algorithm="{SHA256}"></ds:DigestMethod>'
            f"<ds:DigestValue>{_digest(document.encode())}</ds:DigestValue></ds:Reference>"
            f'<ds:Reference Type="{SIGNED_PROPERTIES_TYPE}" URI="#{properties_id}">'
            f'<ds:DigestMethod Algorithm="{SHA256}"></ds:DigestMethod>'
            f"<ds:DigestValue>{properties_digest}</ds:DigestValue></ds:Reference>"
            f'<ds:Reference URI="#{key_info_id}"><ds:DigestMethod Algorithm="{SHA256}"></ds:DigestMethod>'
            f"<ds:DigestValue>{key_info_digest}</ds:DigestValue></ds:Reference>"
        )
        value = self._sign(f"<ds:SignedInfo {in_scope}>{signed_info}</ds:SignedInfo>".encode())
        signature = (
            f'<ds:Signature xmlns:ds="{DS}" xmlns:xades="{XADES}" Id="{sid}">'
            f"<ds:SignedInfo>{signed_info}</ds:SignedInfo>"
            f"<ds:SignatureValue>{base64.b64encode(value).decode('ascii')}</ds:SignatureValue>"
            f'<ds:KeyInfo Id="{key_info_id}">{key_info}</ds:KeyInfo>'
            f'<ds:Object><xades:QualifyingProperties Target="#{sid}">'
            f'<xades:SignedProperties Id="{properties_id}">{properties}</xades:SignedProperties>'
            "</xades:QualifyingProperties></ds:Object>"
            "</ds:Signature>"
        )
        return f"<?xml version='1.0' encoding='UTF-8'?>\n{head}{signature}{end_tag}{tail}".encode()
