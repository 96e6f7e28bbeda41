"""Compact JWS (RFC 7515) with an `x5c` chain: verifying requests and partner answers,
and sealing JSON responses.

The three algorithms of docs/protocol.md §2.2 (ES256, PS256, RS256) are checked with
`cryptography` directly, after an explicit allow-list that refuses `none`, every `HS*`
and unknown `crit` headers by name, and a key-type check (an RSA certificate never
verifies an ES256 token, nor an EC one an RS256 token). The `x5c` chain goes through
`TrustStore`. jwcrypto, which did this before at three times the cost, is the reference
that tests/unit/test_jws.py holds this module to, both ways.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from gateway.errors import Malformed, SignatureInvalid
from gateway.protocol import JWS_TYP as TYP
from gateway.signing import chains, safe_json
from gateway.signing.pki import PrivateKey
from gateway.signing.trust import Signer, TrustStore

ALLOWED_ALGS = ("ES256", "PS256", "RS256")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class CompactJWS:
    """A compact JWS split into its parts, decoded but not yet verified."""

    token: str
    header: Mapping[str, Any]
    payload: bytes
    content: Mapping[str, Any]  # the payload's JSON object, decoded once


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
        header, payload = b64url_decode(parts[0]), b64url_decode(parts[1])
    except (binascii.Error, ValueError) as exc:
        raise Malformed(f"JWS header or payload is not base64url: {exc}") from None
    header, decoded = safe_json.loads(header), safe_json.loads(payload)
    if not isinstance(header, dict) or not isinstance(decoded, dict):
        raise Malformed("JWS header and payload must be JSON objects")
    return CompactJWS(token, header, payload, decoded)


def _certificates(header: Mapping[str, Any]) -> chains.Chain:
    """The x5c chain (parsed once per distinct chain that verified)."""
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise SignatureInvalid("the JWS header carries no x5c certificate chain")
    return chains.read(tuple(x5c), "the JWS x5c", _read_x5c)


def _read_x5c(texts: tuple[str, ...]) -> chains.Chain:
    try:
        certs = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in texts]
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid(f"x5c holds an unreadable certificate: {exc}") from None
    return chains.Chain(certs[0], certs[1:], texts)


def _strict_b64url(part: str) -> bytes:
    """A base64url segment without padding, as RFC 7515 writes them; anything else is no signature."""
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
        raise SignatureInvalid("the JWS signature is not base64url")
    return b64url_decode(part)


def check_signature(alg: str, public: Any, signing_input: bytes, signature: bytes) -> None:
    """RFC 7518 §3.3–3.5: `signature` over `signing_input` under `public`, for `alg` (all three hash with
    SHA-256); else signature_invalid."""
    try:
        if alg == "ES256":
            if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
                raise SignatureInvalid("ES256 needs an ECDSA P-256 certificate")
            if len(signature) != 64:
                raise SignatureInvalid(f"an ES256 signature is 64 bytes, not {len(signature)}")
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            public.verify(utils.encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
        else:
            if not isinstance(public, rsa.RSAPublicKey):
                raise SignatureInvalid(f"{alg} needs an RSA certificate")
            public.verify(signature, signing_input, _padding(alg), hashes.SHA256())
    except InvalidSignature:
        raise SignatureInvalid("JWS signature does not verify") from None


def _padding(alg: str) -> padding.AsymmetricPadding:
    if alg == "PS256":
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)  # RFC 7518 §3.5: salt = hash size
    return padding.PKCS1v15()


class JWSVerifier:
    """Verifies compact JWS against the exchange anchors."""

    def __init__(self, trust: TrustStore) -> None:
        self._trust = trust

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
        chain = _certificates(header)
        protected, payload, signature = message.token.split(".")
        check_signature(
            str(alg), chain.leaf.public_key(), f"{protected}.{payload}".encode("ascii"), _strict_b64url(signature)
        )
        signer = self._trust.verify(chain.leaf, chain.others)
        chains.remember(chain)
        return signer


class JWSSigner:
    """Signs payloads as compact JWS with `x5c`; the key is loaded and the header encoded once."""

    def __init__(self, key: PrivateKey, chain: Sequence[x509.Certificate]) -> None:
        self._key = key
        alg = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "PS256"
        x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in chain]
        self._protected = b64url(json.dumps({"alg": alg, "typ": TYP, "x5c": x5c}, separators=(",", ":")).encode())

    def sign(self, payload: bytes) -> bytes:
        signing_input = f"{self._protected}.{b64url(payload)}".encode("ascii")
        key = self._key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = utils.decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # RFC 7518 §3.4: R || S, not DER
        else:
            signature = key.sign(signing_input, _padding("PS256"), hashes.SHA256())
        return signing_input + b"." + b64url(signature).encode("ascii")
