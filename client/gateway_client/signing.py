"""Signing a request with a participant's key and certificate chain: an enveloped XMLDSig
(signxml) or a compact JWS with `x5c` (bare `cryptography`).

The XML signature follows docs/protocol.md: one `Reference URI=""`, the enveloped-signature
transform then exclusive C14N, SHA-256, and the chain in `KeyInfo/X509Data`. The JWS header
is `{"alg", "typ": "dz-exchange+json", "x5c"}`, with ES256 for an ECDSA P-256 key and
PS256 for an RSA key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree
from signxml import methods
from signxml.signer import XMLSigner

from gateway_client.request import to_xml

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
JWS_TYP = "dz-exchange+json"


@dataclass(frozen=True)
class Identity:
    """A participant's signing key and its certificate chain (its own certificate first)."""

    key: PrivateKey
    chain: Sequence[x509.Certificate]

    @classmethod
    def from_folder(cls, folder: str | Path) -> Identity:
        """`folder/key.pem` (PKCS#8) and `folder/cert.pem`, as the exchange issues them."""
        folder = Path(folder).expanduser()
        key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), None)
        if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise ValueError(f"{folder}/key.pem: only ECDSA and RSA keys sign requests")
        return cls(key, x509.load_pem_x509_certificates((folder / "cert.pem").read_bytes()))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_xml(
    root: etree._Element, key: PrivateKey, chain: Sequence[x509.Certificate], *, c14n: str = EXC_C14N
) -> bytes:
    """The request element with its enveloped signature, serialised."""
    algorithm = "ecdsa-sha256" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa-sha256"
    signer = XMLSigner(
        method=methods.enveloped, signature_algorithm=algorithm, digest_algorithm="sha256", c14n_algorithm=c14n
    )
    certificates = [c.public_bytes(serialization.Encoding.PEM).decode() for c in chain]
    return bytes(etree.tostring(signer.sign(root, key=key, cert=certificates, always_add_key_value=False)))


def sign_jws(payload: bytes, key: PrivateKey, chain: Sequence[x509.Certificate]) -> bytes:
    """A compact JWS of `payload` with the chain in `x5c`."""
    alg = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "PS256"
    x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in chain]
    header = _b64url(json.dumps({"alg": alg, "typ": JWS_TYP, "x5c": x5c}, separators=(",", ":")).encode())
    signing_input = f"{header}.{_b64url(payload)}".encode("ascii")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = utils.decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        size = (key.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")  # RFC 7518 §3.4: R || S, not DER
    else:
        signature = key.sign(
            signing_input, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
        )
    return signing_input + b"." + _b64url(signature).encode("ascii")


def signed_request(identity: Identity, fields: Mapping[str, Any], form: Literal["xml", "jws"] = "xml") -> bytes:
    """A request's fields, signed in the form asked for: the body to send."""
    if form == "jws":
        return sign_jws(json.dumps(dict(fields), separators=(",", ":")).encode(), identity.key, identity.chain)
    return sign_xml(to_xml(fields), identity.key, identity.chain)
