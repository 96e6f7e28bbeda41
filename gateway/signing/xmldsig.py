"""Enveloped XMLDSig on requests: find the one signature, check what it covers, verify it.

The protocol admits one shape (docs/protocol.md §2.1): exactly one `ds:Signature`, a child of the
root, with one `Reference URI=""` (the whole document) whose transforms are the
enveloped-signature transform, optionally followed by one canonicalization, and an allowed
canonicalization, signature and digest method. `check_shape` (where the signature sits, its
one reference, its methods) and `verify_enveloped` (the transforms) refuse anything else by
name before any cryptography. For that one shape the verification is short, and done here with
lxml's canonicaliser and `cryptography`, as signxml does it but without parsing and
serialising the document again at each step (signxml cost a sixth of a worker's time):

1. the digest of the document without its signature (the signature's tail text kept, as
   the enveloped transform says), canonicalized as the reference says, must equal
   `DigestValue`;
2. the canonicalized `SignedInfo` must verify under the key of the certificate found in
   KeyInfo (never a default CA bundle); the chain of that certificate is then judged by
   `TrustStore`.

Only the canonical bytes that were digested, parsed again, are read on. tests/unit/test_xml_signatures.py holds
signxml's verifier to the same answers on valid and tampered documents.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod

from gateway.errors import SignatureInvalid
from gateway.signing import chains
from gateway.signing.trust import Signer, TrustStore

DS = "http://www.w3.org/2000/09/xmldsig#"
_NS = {"ds": DS, "ec": "http://www.w3.org/2001/10/xml-exc-c14n#"}
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
ALLOWED_C14N = frozenset(
    {
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        "http://www.w3.org/2006/12/xml-c14n11",
        "http://www.w3.org/2006/12/xml-c14n11#WithComments",
    }
)
SIGNATURE_METHODS = frozenset(
    {
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.SHA256_RSA_MGF1,
        SignatureMethod.SHA384_RSA_MGF1,
        SignatureMethod.SHA512_RSA_MGF1,
    }
)
DIGESTS = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})
_METHOD_URIS = frozenset(m.value for m in SIGNATURE_METHODS)
_DIGEST_URIS = frozenset(d.value for d in DIGESTS)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass(frozen=True)
class VerifiedXML:
    """What the signature covers (the root, its signature removed) and who signed it."""

    signed: etree._Element
    signer: Signer


def signature_certificates(signature: etree._Element) -> chains.Chain:
    """The signing certificate in KeyInfo/X509Data and the other certificates given with it
    (parsed once per distinct KeyInfo that verified: the same few participants sign most requests).
    The caller remembers the chain (`chains.remember`) once the signature and the chain verified."""
    texts = tuple(
        "".join((t.text or "").split()) for t in signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS)
    )
    return chains.read(texts, "the signature's KeyInfo", _read_certificates)


def _read_certificates(texts: tuple[str, ...]) -> chains.Chain:
    certs: list[x509.Certificate] = []
    for t in texts:
        try:
            certs.append(x509.load_der_x509_certificate(base64.b64decode(t)))
        except (binascii.Error, ValueError) as exc:
            raise SignatureInvalid(f"KeyInfo holds an unreadable certificate: {exc}") from None
    leaves = [c for c in certs if not _is_ca(c)]
    if len(leaves) != 1:
        raise SignatureInvalid(f"KeyInfo must hold one end-entity certificate, it holds {len(leaves)}")
    return chains.Chain(leaves[0], [c for c in certs if c is not leaves[0]], texts)


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
    method = signature.find("ds:SignedInfo/ds:SignatureMethod", _NS)
    if method is None or method.get("Algorithm") not in _METHOD_URIS:
        raise SignatureInvalid(
            f"signature method {None if method is None else method.get('Algorithm')!r} is not allowed"
        )
    digest = references[0].find("ds:DigestMethod", _NS)
    if digest is None or digest.get("Algorithm") not in _DIGEST_URIS:
        raise SignatureInvalid(f"digest method {None if digest is None else digest.get('Algorithm')!r} is not allowed")
    return signature


class XMLRequestVerifier:
    """Verifies enveloped XMLDSig requests against the exchange anchors."""

    def __init__(self, trust: TrustStore) -> None:
        self._trust = trust

    def verify(self, root: etree._Element) -> VerifiedXML:
        signature = check_shape(root)
        chain = signature_certificates(signature)
        signed = verify_enveloped(root, signature, chain.leaf)
        signer = self._trust.verify(chain.leaf, chain.others)  # validity dates, usage, revocation: after the signature
        chains.remember(chain)
        return VerifiedXML(signed, signer)


def verify_enveloped(target: etree._Element, signature: etree._Element, leaf: x509.Certificate) -> etree._Element:
    """`target` without its signature, parsed again from its canonical form, once `signature`
    (a child of `target`, whose one reference points at `target`: the caller has checked its URI)
    verifies under `leaf`'s key.

    A `target` inside a larger document (a SOAP body, say) is taken on its own first, as
    signxml does: serialised with the namespaces it uses, and parsed again."""
    signed_info = signature.find("ds:SignedInfo", _NS)
    references = [] if signed_info is None else signed_info.findall("ds:Reference", _NS)
    if signature.getparent() is not target or signed_info is None or len(references) != 1:
        raise SignatureInvalid("the signature must be a child of what it signs, with one Reference")
    reference = references[0]
    transforms = reference.findall("ds:Transforms/ds:Transform", _NS)
    algorithms = [t.get("Algorithm") for t in transforms]
    for algorithm in algorithms:
        if algorithm != ENVELOPED and algorithm not in ALLOWED_C14N:
            raise SignatureInvalid(f"transform {algorithm!r} is not allowed")
    if not algorithms or algorithms[0] != ENVELOPED or len(algorithms) > 2 or ENVELOPED in algorithms[1:]:
        raise SignatureInvalid(
            "the reference's transforms must be enveloped-signature, optionally followed by one canonicalization"
        )
    digest_method = reference.find("ds:DigestMethod", _NS)
    if digest_method is None or digest_method.get("Algorithm") not in _DIGEST_URIS:
        raise SignatureInvalid("the reference's digest method is not allowed")
    _check_signature_value(signature, signed_info, leaf)
    if target.getparent() is not None:
        index = target.index(signature)
        target = etree.fromstring(etree.tostring(target), _PARSER)
        signature = target[index]
    digested = _canonical_without(target, signature, transforms[1] if len(transforms) > 1 else None)
    digest_name = str(digest_method.get("Algorithm")).rpartition("#")[2]
    expected = _b64(reference.findtext("ds:DigestValue", default="", namespaces=_NS), "DigestValue")
    if not hmac.compare_digest(hashlib.new(digest_name, digested).digest(), expected):
        raise SignatureInvalid("XML signature does not verify: the document's digest does not match DigestValue")
    # What is read on is parsed from the very bytes digested: a comment slipped between two
    # halves of a text after signing is outside the digest, and must not split what is read.
    return etree.fromstring(digested, _PARSER)


def _check_signature_value(signature: etree._Element, signed_info: etree._Element, leaf: x509.Certificate) -> None:
    method_node = signed_info.find("ds:SignatureMethod", _NS)
    method = "" if method_node is None else str(method_node.get("Algorithm"))
    canonicalization = signed_info.find("ds:CanonicalizationMethod", _NS)
    if (
        method not in _METHOD_URIS
        or canonicalization is None
        or (canonicalization.get("Algorithm") not in ALLOWED_C14N)
    ):
        raise SignatureInvalid("the signature or canonicalization method is not allowed")
    name = method.rpartition("#")[2]  # ecdsa-sha256, rsa-sha384, sha512-rsa-MGF1
    hash_algorithm = _HASHES[next(h for h in _HASHES if h in name)]()
    value = _b64(signature.findtext("ds:SignatureValue", default="", namespaces=_NS), "SignatureValue")
    data = _canonical(signed_info, canonicalization)
    key = leaf.public_key()
    try:
        if name.startswith("ecdsa-"):
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise SignatureInvalid("an ECDSA signature method needs an ECDSA certificate")
            size = (key.curve.key_size + 7) // 8
            if len(value) != 2 * size:
                raise SignatureInvalid(f"an ECDSA SignatureValue on this curve is {2 * size} bytes, not {len(value)}")
            der = utils.encode_dss_signature(int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big"))
            key.verify(der, data, ec.ECDSA(hash_algorithm))
        else:
            if not isinstance(key, rsa.RSAPublicKey):
                raise SignatureInvalid("an RSA signature method needs an RSA certificate")
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
                if name.endswith("-MGF1")
                else padding.PKCS1v15()
            )
            key.verify(value, data, pad, hash_algorithm)
    except InvalidSignature:
        raise SignatureInvalid("XML signature does not verify: SignatureValue does not match SignedInfo") from None


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid(f"{what} is not base64") from None


def _canonical_without(root: etree._Element, signature: etree._Element, method: etree._Element | None) -> bytes:
    """The document canonicalized with its signature taken out (the enveloped transform; the
    text after the signature stays). The signature is taken out of the tree in place, for the
    time of the canonicalization, and put back: no copy of the document is made."""
    index, tail, before = root.index(signature), signature.tail, signature.getprevious()
    kept = root.text if before is None else before.tail
    if tail:  # lxml takes an element's tail away with it: the text is joined to what precedes
        if before is None:
            root.text = (kept or "") + tail
        else:
            before.tail = (kept or "") + tail
    root.remove(signature)
    try:
        return _canonical(root, method)
    finally:
        root.insert(index, signature)
        signature.tail = tail
        if before is None:
            root.text = kept
        else:
            before.tail = kept


def _canonical(element: etree._Element, method: etree._Element | None) -> bytes:
    """`element` canonicalized by `method` (a CanonicalizationMethod or Transform); none: inclusive, no comments.

    C14N 1.1 is rendered as inclusive C14N 1.0, as signxml does: they differ only for
    `xml:id` and `xml:base` fix-ups in document subsets."""
    algorithm = "" if method is None else str(method.get("Algorithm"))
    exclusive = algorithm.startswith("http://www.w3.org/2001/10/xml-exc-c14n#")
    prefixes = None
    if exclusive and method is not None:
        listed = method.find("ec:InclusiveNamespaces", _NS)
        if listed is not None:
            prefixes = (listed.get("PrefixList") or "").split()
    return bytes(
        etree.tostring(
            element,
            method="c14n",
            exclusive=exclusive,
            with_comments=algorithm.endswith("#WithComments"),
            inclusive_ns_prefixes=prefixes,
        )
    )
