"""Compact JWS (RFC 7515) with an `x5c` chain: verifying requests and partner answers,
and sealing JSON responses.

jwcrypto checks the signature and refuses `none`, HMAC-with-a-public-key and unknown
`crit` headers; it does not validate `x5c`, so the chain goes through `TrustStore`.
The algorithm allow-list is explicit: ES256, PS256, RS256 (PROTOCOL §4).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from gateway.errors import Malformed, SignatureInvalid
from gateway.signing.pki import PrivateKey
from gateway.signing.trust import Signer, TrustStore

ALLOWED_ALGS = ("ES256", "PS256", "RS256")
TYP = "dz-exchange+json"


@dataclass(frozen=True)
class CompactJWS:
    """A compact JWS split into its parts, decoded but not yet verified."""

    token: str
    header: Mapping[str, Any]
    payload: bytes


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse(body: bytes) -> CompactJWS:
    """Splits a compact JWS; `malformed` unless the header and payload decode as JSON objects."""
    try:
        token = body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise Malformed("a compact JWS is ASCII") from None
    parts = token.split(".")
    if len(parts) != 3:
        raise Malformed(f"a compact JWS has 3 parts, this one has {len(parts)}")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = b64url_decode(parts[1])
        decoded = json.loads(payload)
    except (binascii.Error, ValueError) as exc:
        raise Malformed(f"JWS header or payload is not base64url JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(decoded, dict):
        raise Malformed("JWS header and payload must be JSON objects")
    return CompactJWS(token, header, payload)


def _certificates(header: Mapping[str, Any]) -> list[x509.Certificate]:
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise SignatureInvalid("the JWS header carries no x5c certificate chain")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c]
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid(f"x5c holds an unreadable certificate: {exc}") from None


class JWSVerifier:
    """Verifies compact JWS against the exchange anchors; public keys are cached per certificate."""

    def __init__(self, trust: TrustStore) -> None:
        self._trust = trust
        self._keys: dict[bytes, jwk.JWK] = {}

    def verify(self, message: CompactJWS) -> Signer:
        """The signer, once the signature, the algorithm, `typ` and the chain all hold."""
        header = message.header
        alg = header.get("alg")
        if alg not in ALLOWED_ALGS:
            raise SignatureInvalid(f"JWS algorithm {alg!r} is not accepted; use one of {', '.join(ALLOWED_ALGS)}")
        if header.get("typ") != TYP:
            raise SignatureInvalid(f"JWS typ must be {TYP!r}")
        if "crit" in header:
            raise SignatureInvalid(f"JWS crit {header['crit']!r} names extensions this gateway does not understand")
        certs = _certificates(header)
        leaf = certs[0]
        token = jws.JWS()
        token.allowed_algs = [str(alg)]
        try:
            token.deserialize(message.token)
            token.verify(self._key(leaf))
        except (JWException, ValueError, TypeError) as exc:
            raise SignatureInvalid(f"JWS signature does not verify: {type(exc).__name__}") from None
        return self._trust.verify(leaf, certs[1:])

    def _key(self, cert: x509.Certificate) -> jwk.JWK:
        fp = cert.fingerprint(hashes.SHA256())
        key = self._keys.get(fp)
        if key is None:
            public = cert.public_key()
            if not isinstance(public, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
                raise SignatureInvalid("x5c leaf key is neither ECDSA nor RSA")
            key = jwk.JWK.from_pyca(public)
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[fp] = key
        return key


class JWSSigner:
    """Signs payloads as compact JWS with `x5c`; the key is loaded once."""

    def __init__(self, key: PrivateKey, chain: Sequence[x509.Certificate]) -> None:
        self._key = jwk.JWK.from_pyca(key)
        self._alg = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "PS256"
        self._x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in chain]

    def sign(self, payload: bytes) -> bytes:
        token = jws.JWS(payload)
        token.add_signature(
            self._key, None, json.dumps({"alg": self._alg, "typ": TYP, "x5c": self._x5c}, separators=(",", ":"))
        )
        compact: str = token.serialize(compact=True)
        return compact.encode("ascii")
