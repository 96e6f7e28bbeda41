"""Compact JWS (RFC 7515/7518: ES256, PS256, RS256) on bare `cryptography`: the partner's
answers are signed with it, and the gateway's queries checked with it."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

ALGORITHMS = ("ES256", "PS256", "RS256")
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(segment: str) -> bytes:
    if not _SEGMENT.fullmatch(segment):
        raise ValueError("a JWS segment is unpadded base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def algorithm_for(key: PrivateKey) -> str:
    return "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "PS256"


def sign(key: PrivateKey, protected: str, payload: bytes) -> bytes:
    """`protected` is the header already encoded (it is the same for every answer)."""
    signing_input = f"{protected}.{b64url(payload)}".encode("ascii")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = utils.decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = key.sign(signing_input, _pss(), hashes.SHA256())
    return signing_input + b"." + b64url(signature).encode("ascii")


def header(token: bytes) -> dict[str, Any]:
    """The protected header, not yet verified."""
    decoded = json.loads(_decode(token.decode("ascii").split(".")[0]))
    if not isinstance(decoded, dict):
        raise ValueError("a JWS header is a JSON object")
    return decoded


def verify(token: bytes, public: Any) -> bytes:
    """The payload, once the signature holds under `public` for the header's algorithm; else ValueError."""
    protected, payload, signature = token.decode("ascii").split(".")
    alg = header(token).get("alg")
    raw = _decode(signature)
    signing_input = f"{protected}.{payload}".encode("ascii")
    if alg == "ES256" and isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        if len(raw) != 64:
            raise ValueError("an ES256 signature is 64 bytes")
        der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    elif alg in ("PS256", "RS256") and isinstance(public, rsa.RSAPublicKey):
        public.verify(raw, signing_input, _pss() if alg == "PS256" else padding.PKCS1v15(), hashes.SHA256())
    else:
        raise ValueError(f"algorithm {alg!r} with this key is not accepted")
    return _decode(payload)
