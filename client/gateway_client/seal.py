"""Checking the gateway's seal on an answer, against the exchange's root CA, before anything in
it is read (docs/protocol.md, checking a seal).

XML answers carry an enveloped XAdES-BES signature: signxml checks it with the certificate
found in `KeyInfo`, and the fields are then read from what the signature covers only. JSON
answers are compact JWS with `x5c`. Either way the certificate chain must lead to the pinned
CA, now, and the signer's `organizationIdentifier` must be the gateway's.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError
from lxml import etree
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

from gateway_client.errors import SealError
from gateway_client.signing import JWS_TYP

DS = "http://www.w3.org/2000/09/xmldsig#"
NS = "urn:dz:exchange:v1"
GATEWAY = "dz.exchange.gateway"
#: The JWS algorithms a seal may use.
ALGORITHMS = ("ES256", "PS256", "RS256")
#: The element names of one item of each list field of an attestation's data.
LIST_ITEMS = {"Spouses": "Spouse", "Children": "Child", "ActivityCodes": "ActivityCode"}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_CONFIG = XAdESSignatureConfiguration(location="./")


@dataclass(frozen=True)
class Trust:
    """The exchange's root CA, pinned, and the participant code that seals answers. A chain that
    checked out is remembered until its first certificate expires."""

    anchors: Sequence[x509.Certificate]
    sealer: str = GATEWAY
    _checked: dict[bytes, dt.datetime] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_pem_file(cls, path: str | Path, sealer: str = GATEWAY) -> Trust:
        """The CA certificate(s) of `path` (`ca.pem`, distributed with a participant's certificate)."""
        return cls(x509.load_pem_x509_certificates(Path(path).expanduser().read_bytes()), sealer)

    def check_chain(self, leaf: x509.Certificate, others: Sequence[x509.Certificate]) -> None:
        """The chain leads to an anchor now, and its first certificate is the sealer's."""
        key = b"".join(c.public_bytes(Encoding.DER) for c in (leaf, *others))
        now = dt.datetime.now(dt.timezone.utc)
        if self._checked.get(key, now) > now:
            return
        verifier = (
            PolicyBuilder()
            .store(Store(list(self.anchors)))
            .time(dt.datetime.now(dt.timezone.utc))
            .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())
            .build_client_verifier()
        )
        try:
            verifier.verify(leaf, list(others))
        except VerificationError as exc:
            raise SealError(f"the seal's certificate does not lead to the exchange's CA: {exc}") from None
        codes = leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
        code = codes[0].value if len(codes) == 1 else None
        if code != self.sealer:
            raise SealError(f"sealed by {code!r}, not by the exchange's gateway ({self.sealer})")
        if len(self._checked) > 64:
            self._checked.clear()
        self._checked[key] = min(c.not_valid_after_utc for c in (leaf, *others, *self.anchors))


def open_sealed(body: bytes, trust: Trust) -> dict[str, Any]:
    """The answer's fields in their JSON (camelCase) form, read from what the seal covers, or
    `SealError` when the seal, the chain or the sealer does not check out."""
    stripped = body.lstrip()
    if stripped.startswith(b"<"):
        return _open_xml(stripped, trust)
    return _open_jws(stripped, trust)


# --------------------------------------------------------------------------------------- XML
def _open_xml(body: bytes, trust: Trust) -> dict[str, Any]:
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SealError(f"the answer is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise SealError("the answer carries a DTD")
    signatures = root.findall(f"{{{DS}}}Signature")
    if len(signatures) != 1:
        raise SealError("a sealed answer carries exactly one signature, a child of its root")
    texts = [t.text or "" for t in signatures[0].iterfind(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")]
    certificates = [_certificate(text) for text in texts]
    if not certificates:
        raise SealError("the seal names no certificate")
    leaf = certificates[0]
    config = replace(_CONFIG, verification_time=leaf.not_valid_before_utc + dt.timedelta(seconds=1))
    try:
        results = XAdESVerifier().verify(root, x509_cert=leaf, expect_config=config)
    except (InvalidSignature, InvalidDigest, InvalidInput, InvalidCertificate, ValueError, KeyError) as exc:
        raise SealError(f"the seal does not verify: {exc}") from None
    whole = [r.signed_xml for r in results if r.signed_xml is not None and r.signed_xml.tag == root.tag]
    if len(whole) != 1:
        raise SealError("the seal does not cover the whole answer")
    trust.check_chain(leaf, certificates[1:])
    return _fields(whole[0])


def _certificate(text: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))
    except (ValueError, binascii.Error) as exc:
        raise SealError(f"the seal's certificate cannot be read: {exc}") from None


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _fields(root: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in root:
        name = _local(child)
        if child.tag == f"{{{DS}}}Signature":
            continue
        if name == "Attestation":
            out["attestation"] = _attestation(child)
        elif name == "Problem":
            out["problem"] = _problem(child)
        else:
            out[_camel(name)] = child.text or ""
    return out


def _attestation(element: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        name = _local(child)
        if name == "Subject":
            out["subject"] = {_local(c).lower(): c.text or "" for c in child}
        elif name == "Data":
            out["data"] = {_camel(_local(c)): _value(c) for c in child}
        else:
            out[_camel(name)] = child.text or ""
    return out


def _value(element: etree._Element) -> Any:
    """A data field: a list (`Children/Child`…), a record, `true`/`false`, or text."""
    name = _local(element)
    children = list(element)
    if name in LIST_ITEMS or (children and all(_local(c) == "Item" for c in children)):
        return [_value(c) for c in children]
    if children:
        return {_camel(_local(c)): _value(c) for c in children}
    text = element.text or ""
    return {"true": True, "false": False}.get(text, text)


def _problem(element: etree._Element) -> dict[str, Any]:
    problem: dict[str, Any] = {
        "code": element.get("code", ""),
        "retryable": element.get("retryable") == "true",
        "message": {m.get("lang", ""): m.text or "" for m in element if _local(m) == "Message"},
    }
    if element.get("retryAfter") is not None:
        problem["retryAfter"] = int(element.get("retryAfter") or 0)
    return problem


# --------------------------------------------------------------------------------------- JWS
def _b64url(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (ValueError, binascii.Error) as exc:
        raise SealError(f"the answer is not a compact JWS: {exc}") from None


def _open_jws(body: bytes, trust: Trust) -> dict[str, Any]:
    try:
        header_part, payload_part, signature_part = body.decode("ascii").strip().split(".")
        header = json.loads(_b64url(header_part))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SealError(f"the answer is neither sealed XML nor a compact JWS: {exc}") from None
    if not isinstance(header, dict):
        raise SealError("the JWS header is not an object")
    alg = header.get("alg")
    if alg not in ALGORITHMS or header.get("typ") != JWS_TYP or "crit" in header:
        raise SealError(f"a seal's header is alg in {ALGORITHMS}, typ {JWS_TYP} and no crit; got {header}")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise SealError("the JWS header carries no x5c chain")
    certificates = [_certificate(c) for c in x5c]
    signing_input = f"{header_part}.{payload_part}".encode("ascii")
    _check_jws_signature(alg, certificates[0], signing_input, _b64url(signature_part))
    trust.check_chain(certificates[0], certificates[1:])
    try:
        fields = json.loads(_b64url(payload_part))
    except ValueError as exc:
        raise SealError(f"the sealed payload is not JSON: {exc}") from None
    if not isinstance(fields, dict):
        raise SealError("the sealed payload is not an object")
    return fields


def _check_jws_signature(alg: str, certificate: x509.Certificate, signing_input: bytes, signature: bytes) -> None:
    key = certificate.public_key()
    try:
        if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey) and len(signature) == 64:
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            der = utils.encode_dss_signature(r, s)
            key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        elif alg == "PS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signing_input, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        elif alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise SealError(f"alg {alg} does not match the seal's key")
    except CryptoInvalidSignature:
        raise SealError("the JWS seal does not verify") from None
