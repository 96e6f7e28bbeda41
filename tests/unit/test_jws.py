"""Compact JWS (docs/protocol.md §2.2): the gateway's own signer and verifier agree with jwcrypto both ways,
and every hostile variant is signature_invalid."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from jwcrypto import jwk, jws

from gateway.errors import GatewayError
from gateway.protocol import JWS_TYP as TYP
from gateway.signing import pki
from gateway.signing.jws import JWSSigner, JWSVerifier, b64url, parse
from gateway.signing.trust import TrustStore

PAYLOAD = json.dumps({"requestId": "r-1", "subject": {"nin": "109870123456789012"}}).encode()


@pytest.fixture(scope="module")
def ca() -> pki.Issued:
    return pki.make_ca()


@pytest.fixture(scope="module")
def verifier(ca: pki.Issued) -> JWSVerifier:
    return JWSVerifier(TrustStore([ca.cert]))


def x5c(who: pki.Issued) -> list[str]:
    return [base64.b64encode(who.cert.public_bytes(serialization.Encoding.DER)).decode()]


def jwcrypto_token(who: pki.Issued, alg: str, **extra: object) -> bytes:
    token = jws.JWS(PAYLOAD)
    token.add_signature(
        jwk.JWK.from_pyca(who.key), None, json.dumps({"alg": alg, "typ": TYP, "x5c": x5c(who), **extra})
    )
    return str(token.serialize(compact=True)).encode()


def code(verifier: JWSVerifier, token: bytes) -> str:
    try:
        return verifier.verify(parse(token)).participant
    except GatewayError as exc:
        return exc.code


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_jwcrypto_verifies_what_the_gateway_signs(ca: pki.Issued, kind: str) -> None:
    """A token sealed by the gateway (ES256 or PS256) verifies with jwcrypto and with the gateway."""
    who = pki.issue(ca, "dz.exchange.gateway", key=pki.new_key(kind))
    token = JWSSigner(who.key, [who.cert]).sign(PAYLOAD)
    checked = jws.JWS()
    checked.deserialize(token.decode())
    checked.verify(jwk.JWK.from_pyca(who.key.public_key()))
    assert checked.payload == PAYLOAD
    assert code(JWSVerifier(TrustStore([ca.cert])), token) == "dz.exchange.gateway"


@pytest.mark.parametrize("kind, alg", [("ec", "ES256"), ("rsa", "PS256"), ("rsa", "RS256")])
def test_the_gateway_verifies_what_jwcrypto_signs(ca: pki.Issued, verifier: JWSVerifier, kind: str, alg: str) -> None:
    """Each allowed algorithm, signed by another implementation, verifies; one changed payload byte does not."""
    who = pki.issue(ca, "dz.cnas", key=pki.new_key(kind))
    token = jwcrypto_token(who, alg)
    assert code(verifier, token) == "dz.cnas"
    header, _payload, signature = token.split(b".")
    forged = header + b"." + b64url(PAYLOAD.replace(b"r-1", b"r-2")).encode() + b"." + signature
    assert code(verifier, forged) == "signature_invalid"


@pytest.mark.parametrize("alg", ["none", "HS256", "ES384", "EdDSA"])
def test_algorithms_outside_the_list_are_refused_by_name(ca: pki.Issued, verifier: JWSVerifier, alg: str) -> None:
    """none, HMAC and any algorithm the protocol does not list are refused before any cryptography."""
    who = pki.issue(ca, "dz.cnas")
    header = b64url(json.dumps({"alg": alg, "typ": TYP, "x5c": x5c(who)}).encode())
    with pytest.raises(GatewayError, match="is not accepted") as refused:
        verifier.verify(parse(f"{header}.{b64url(PAYLOAD)}.".encode()))
    assert refused.value.code == "signature_invalid"


def test_a_key_of_the_wrong_type_for_the_algorithm_is_refused(ca: pki.Issued, verifier: JWSVerifier) -> None:
    """An ES256 header over an RSA certificate, or RS256 over an EC one, never verifies."""
    rsa_who = pki.issue(ca, "dz.cnas", key=pki.new_key("rsa"))
    ec_who = pki.issue(ca, "dz.cnas")
    for who, claimed, real in ((rsa_who, "ES256", "RS256"), (ec_who, "RS256", "ES256")):
        token = jwcrypto_token(who, real)
        _header, payload, signature = token.split(b".")
        relabelled = b64url(json.dumps({"alg": claimed, "typ": TYP, "x5c": x5c(who)}).encode()).encode()
        assert code(verifier, relabelled + b"." + payload + b"." + signature) == "signature_invalid"


@pytest.mark.parametrize("change", ["truncated", "not-base64url", "padded"])
def test_a_damaged_signature_segment_is_signature_invalid(ca: pki.Issued, verifier: JWSVerifier, change: str) -> None:
    """A signature cut short, with characters outside base64url, or padded, is refused."""
    who = pki.issue(ca, "dz.cnas")
    token = JWSSigner(who.key, [who.cert]).sign(PAYLOAD)
    head, _, signature = token.rpartition(b".")
    damaged = {"truncated": signature[:-4], "not-base64url": signature[:-2] + b"+/", "padded": signature + b"=="}
    assert code(verifier, head + b"." + damaged[change]) == "signature_invalid"


def test_typ_and_crit_are_checked(ca: pki.Issued, verifier: JWSVerifier) -> None:
    """A token of another type, or naming critical extensions, is refused even when its signature holds."""
    who = pki.issue(ca, "dz.cnas")
    assert code(verifier, jwcrypto_token(who, "ES256", typ="JWT")) == "signature_invalid"
    header = b64url(json.dumps({"alg": "ES256", "typ": TYP, "x5c": x5c(who), "crit": ["exp"], "exp": 1}).encode())
    signing_input = f"{header}.{b64url(PAYLOAD)}".encode()
    assert isinstance(who.key, ec.EllipticCurvePrivateKey)
    r, s = utils.decode_dss_signature(who.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    signature = b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big")).encode()
    assert code(verifier, signing_input + b"." + signature) == "signature_invalid"
