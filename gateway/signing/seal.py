"""The gateway's seal on every response (docs/protocol.md §6 and §7), and checking a seal again.

XML responses carry an enveloped XAdES-BES signature (signed SigningTime and
SigningCertificateV2) built from a fixed template (`xades.py`), which signxml and xmlsec1
both accept; seals are checked again with signxml's XAdESVerifier. JSON responses are
compact JWS with `x5c`. The key is loaded once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from cryptography import x509
from lxml import etree
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

from gateway.errors import SignatureInvalid
from gateway.signing import chains, jws
from gateway.signing.pki import PrivateKey
from gateway.signing.safe_xml import parse_xml
from gateway.signing.trust import Signer, TrustStore, participant_code
from gateway.signing.visible_seal import Claims, VisibleSealer
from gateway.signing.xades import XADES, XAdESSealer
from gateway.signing.xmldsig import DS, signature_certificates

_VERIFY_CONFIG = XAdESSignatureConfiguration(location="./")


class Sealer:
    """Seals response documents with the gateway's key and certificate chain."""

    def __init__(self, key: PrivateKey, chain: Sequence[x509.Certificate]) -> None:
        self._xades = XAdESSealer(key, chain)
        self._jws = jws.JWSSigner(key, chain)
        self.certificate = chain[0]
        self.visible = VisibleSealer(key, chain[0], participant_code(chain[0]))

    def seal_xml(self, document: str, namespaces: Mapping[str | None, str]) -> bytes:
        """The XAdES-BES-sealed document (given in canonical form, its root declaring `namespaces`),
        serialised with its XML declaration."""
        return self._xades.seal_canonical(document, namespaces)

    def seal_json(self, payload: bytes) -> bytes:
        return self._jws.sign(payload)

    def visible_seal(self, claims: Claims) -> str:
        """The compact token printed as a QR code (`visible_seal.py`)."""
        return self.visible.seal(claims)


@dataclass(frozen=True)
class Seal:
    """A verified seal: the signer and the sealed content (XML element or JSON bytes)."""

    signer: Signer
    signing_time: dt.datetime | None
    xml: etree._Element | None = None
    payload: bytes | None = None


def verify_xml_seal(root: etree._Element, trust: TrustStore) -> Seal:
    """Checks a XAdES seal: signature, signed properties, chain, signing time."""
    signatures = root.findall(f"{{{DS}}}Signature")
    if len(signatures) != 1:
        raise SignatureInvalid("a sealed document carries exactly one signature, a child of its root")
    chain = signature_certificates(signatures[0])
    leaf = chain.leaf
    config = replace(_VERIFY_CONFIG, verification_time=leaf.not_valid_before_utc + dt.timedelta(seconds=1))
    try:
        results = XAdESVerifier().verify(root, x509_cert=leaf, expect_config=config)
    except (InvalidSignature, InvalidDigest, InvalidInput, InvalidCertificate, ValueError, KeyError) as exc:
        raise SignatureInvalid(f"seal does not verify: {exc}") from None
    whole = [r for r in results if r.signed_xml is not None and r.signed_xml.tag == root.tag]
    if len(whole) != 1:
        raise SignatureInvalid("the seal does not cover the whole document")
    signer = trust.verify(leaf, chain.others)
    signing_time = _signing_time(signatures[0])
    if signing_time is None or signing_time > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
        raise SignatureInvalid("the seal's SigningTime is missing or in the future")
    chains.remember(chain)
    return Seal(signer, signing_time, xml=whole[0].signed_xml)


def _signing_time(signature: etree._Element) -> dt.datetime | None:
    node = signature.find(f".//{{{XADES}}}SigningTime")
    if node is None or not node.text:
        return None
    try:
        value = dt.datetime.fromisoformat(node.text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def verify_jws_seal(token: bytes, trust: TrustStore) -> Seal:
    message = jws.parse(token)
    signer = jws.JWSVerifier(trust).verify(message)
    return Seal(signer, None, payload=message.payload)


def verify_seal(body: bytes, trust: TrustStore) -> Seal:
    """Either kind of seal, told apart by its first byte."""
    stripped = body.lstrip()
    if stripped.startswith(b"<"):
        return verify_xml_seal(parse_xml(stripped), trust)
    return verify_jws_seal(stripped, trust)
