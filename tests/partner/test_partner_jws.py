"""The partner kit's compact JWS agrees with jwcrypto, an implementation it shares nothing with:
its answers verify there, and queries signed there are accepted."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws

from gateway.signing import pki
from gateway_partner import PartnerIdentity, QueryChecker
from gateway_partner import jws as compact_jws
from gateway_partner.service import TYP

PARTICIPANT = "dz.interieur.etat-civil"

QUERY: dict[str, object] = {
    "queryId": "q-1",
    "requestId": "r-1",
    "documentType": "birth-certificate",
    "subject": {"nin": "109870123456789012"},
}


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    pki.ensure_development_pki(folder, [PARTICIPANT, "dz.exchange.gateway", "dz.cnas"])
    return folder


def _identity(pki_dir: Path, code: str) -> tuple[jwk.JWK, list[str]]:
    key = serialization.load_pem_private_key((pki_dir / code / "key.pem").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((pki_dir / code / "cert.pem").read_bytes())
    return jwk.JWK.from_pyca(key), [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]


def _jwcrypto_query(pki_dir: Path, code: str, payload: dict[str, object]) -> bytes:
    key, x5c = _identity(pki_dir, code)
    token = jws.JWS(json.dumps(payload).encode())
    token.add_signature(key, None, json.dumps({"alg": "ES256", "typ": TYP, "x5c": x5c}))
    return str(token.serialize(compact=True)).encode()


def _checker(pki_dir: Path) -> QueryChecker:
    return QueryChecker(
        x509.load_pem_x509_certificate((pki_dir / "ca.pem").read_bytes()), frozenset({"dz.exchange.gateway"})
    )


def test_an_answer_signed_by_the_kit_verifies_with_jwcrypto(pki_dir: Path) -> None:
    """A partner's answer token carries its x5c and verifies under its certificate's key with jwcrypto."""
    identity = PartnerIdentity.from_folder(pki_dir / PARTICIPANT)
    assert identity.code == PARTICIPANT
    token = compact_jws.sign(identity.key, identity.protected, b'{"status":"found"}')
    checked = jws.JWS()
    checked.deserialize(token.decode())
    checked.verify(_identity(pki_dir, PARTICIPANT)[0])
    assert checked.payload == b'{"status":"found"}'
    assert checked.jose_header["typ"] == TYP


def test_a_query_signed_with_jwcrypto_is_read_and_a_changed_one_is_not(pki_dir: Path) -> None:
    """The gateway's query, signed by another implementation, is accepted; one changed byte is refused."""
    token = _jwcrypto_query(pki_dir, "dz.exchange.gateway", QUERY)
    assert _checker(pki_dir).payload(token) == QUERY
    header, _, signature = token.split(b".")
    forged = header + b"." + compact_jws.b64url(json.dumps({**QUERY, "queryId": "q-2"}).encode()).encode()
    with pytest.raises(InvalidSignature):
        _checker(pki_dir).payload(forged + b"." + signature)


def test_a_query_from_another_participant_than_the_gateway_is_refused(pki_dir: Path) -> None:
    """Only the gateway may query a partner: a validly signed query from dz.cnas is refused."""
    with pytest.raises(ValueError, match="not allowed"):
        _checker(pki_dir).payload(_jwcrypto_query(pki_dir, "dz.cnas", QUERY))
