"""The visible seal: a COSE_Sign1 token in Base45 that is checked offline, and every way it can fail."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
import zlib
from pathlib import Path

import base45
import cbor2
import pytest
from cryptography import x509

from gateway.cli import main
from gateway.signing import pki
from gateway.signing.visible_seal import (
    PREFIX,
    Claims,
    VisibleSealer,
    VisibleSealError,
    b45encode,
    key_id,
    open_token,
    printed_fields,
    verify,
)

NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
ISSUER = "dz.exchange.gateway"


def claims(**changes: object) -> Claims:
    base = Claims(
        attestation_id=str(uuid.UUID(int=42)),
        issuer=ISSUER,
        issued_at=NOW,
        valid_until=NOW + dt.timedelta(days=90),
        document_type="birth-certificate",
        provider="dz.interieur.etat-civil",
        requester="dz.cnas",
        purpose="family-allowance",
        fields={"lastNameAr": "بن علي", "firstNameAr": "محمد", "lastNameLatin": "BENALI", "birthDate": "1990-03-14"},
    )
    return Claims(**{**base.__dict__, **changes})


@pytest.fixture(scope="module", params=["ec", "rsa"])
def seal(request: pytest.FixtureRequest) -> pki.Issued:
    return pki.issue(pki.make_ca(), ISSUER, key=pki.new_key(request.param))


def test_a_sealed_token_verifies_offline_and_gives_back_its_claims(seal: pki.Issued) -> None:
    """A token signed with a P-256 (ES256) or RSA (PS256) seal key verifies against its certificate alone."""
    token = VisibleSealer(seal.key, seal.cert, ISSUER).seal(claims())
    verdict = verify(token, [seal.cert], now=NOW + dt.timedelta(days=1))
    assert token.startswith(PREFIX)
    assert verdict.status == "valid" and verdict.claims == claims()


def test_a_token_past_its_validity_is_expired_not_valid(seal: pki.Issued) -> None:
    """The same token read after `valid_until` is `expired`, with its claims still shown."""
    token = VisibleSealer(seal.key, seal.cert, ISSUER).seal(claims())
    verdict = verify(token, [seal.cert], now=NOW + dt.timedelta(days=90))
    assert verdict.status == "expired" and verdict.claims is not None


def test_a_token_from_another_key_is_an_unknown_signer(seal: pki.Issued) -> None:
    """A token sealed by a key whose certificate the checker does not hold is `unknown-signer`."""
    stranger = pki.issue(pki.make_ca(), ISSUER)
    token = VisibleSealer(stranger.key, stranger.cert, ISSUER).seal(claims())
    assert verify(token, [seal.cert], now=NOW).status == "unknown-signer"


def test_a_token_with_any_signed_byte_changed_is_tampered(seal: pki.Issued) -> None:
    """Changing one byte of the signed payload (the holder's name) makes the token `tampered`."""
    token = VisibleSealer(seal.key, seal.cert, ISSUER).seal(claims())
    tag = cbor2.loads(zlib.decompress(base45.b45decode(token[len(PREFIX) :])))
    protected, unprotected, payload, signature = tag.value
    changed = payload.replace(b"BENALI", b"BENALJ")
    assert changed != payload
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, dict(unprotected), changed, signature]))
    token = PREFIX + base45.b45encode(zlib.compress(forged)).decode()
    verdict = verify(token, [seal.cert], now=NOW)
    assert verdict.status == "tampered" and "signature" in verdict.detail


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        ("HC1:6BFOXN%TS3DH", "starts with DZ1:"),
        ("DZ1:not base45 at all!", "does not decode"),
        (PREFIX + base45.b45encode(zlib.compress(cbor2.dumps([1, 2, 3]))).decode(), "not a COSE_Sign1"),
        (PREFIX + base45.b45encode(zlib.compress(b"\x00" * 100_000)).decode(), "does not decode"),
        (PREFIX + "A" * 5000, "longer than any"),
    ],
)
def test_unreadable_tokens_are_tampered_with_a_specific_reason(token: str, detail: str, seal: pki.Issued) -> None:
    """A wrong prefix, bad Base45, a CBOR value that is not COSE_Sign1, a zlib bomb or an overlong
    text is `tampered`, each with its own reason."""
    verdict = verify(token, [seal.cert], now=NOW)
    assert verdict.status == "tampered" and detail in verdict.detail


def test_the_key_id_is_the_certificate_hash_prefix_as_in_the_eu_certificates() -> None:
    """The EU's published test certificate opens with the EU's published HC1 token: the format (Base45,
    zlib, COSE_Sign1, ES256 as R || S, kid) is the one independent implementations read."""
    vector = json.loads((Path(__file__).parent / "data" / "eu_dcc_at_1.json").read_text())
    certificate = x509.load_der_x509_certificate(base64.b64decode(vector["certificate"]))
    payload = cbor2.loads(open_token(vector["token"], [certificate], prefix="HC1:"))
    assert payload[-260][1]["nam"]["fn"] == vector["family_name"]
    assert len(key_id(certificate)) == 8
    with pytest.raises(VisibleSealError) as refused:
        open_token(vector["token"], [pki.issue(pki.make_ca(), ISSUER).cert], prefix="HC1:")
    assert refused.value.verdict == "unknown-signer"


def test_only_the_printed_fields_released_by_the_purpose_are_sealed() -> None:
    """A birth certificate prints names, birth date and commune; fields the purpose did not release
    (absent from the data) and fields not printed (parents' names) stay out."""
    data = {"lastNameLatin": "BENALI", "birthDate": "1990-03-14", "fatherName": "Ali", "sex": "M"}
    assert printed_fields("birth-certificate", data) == {"lastNameLatin": "BENALI", "birthDate": "1990-03-14"}
    assert printed_fields("unknown-type", data) == {}


def test_gateway_verify_says_valid_or_why_not_with_its_exit_status(
    seal: pki.Issued, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gateway verify TOKEN --certificate PEM` exits 0 and prints the fields when valid; 1 and TAMPERED for a
    changed token; 2 for text that holds no visible seal."""
    pem = tmp_path / "seal.pem"
    pem.write_bytes(pki.cert_pem(seal.cert))
    token = VisibleSealer(seal.key, seal.cert, ISSUER).seal(claims(valid_until=NOW + dt.timedelta(days=3650)))
    assert main(["verify", token, "--certificate", str(pem)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("VALID: sealed by dz.exchange.gateway") and "BENALI" in out
    changed = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    assert main(["verify", changed, "--certificate", str(pem), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "tampered"
    assert main(["verify", "no seal here", "--certificate", str(pem)]) == 2
    assert "neither a visible seal" in capsys.readouterr().err


@pytest.mark.parametrize("size", [0, 1, 2, 3, 57, 380, 381])
def test_the_base45_writer_writes_what_the_base45_package_reads(size: int) -> None:
    """The table-driven Base45 writer gives the `base45` package's text for even and odd lengths, and it
    decodes back to the bytes."""
    data = bytes((i * 37 + 11) % 256 for i in range(size)) + (b"\xff\xff" if size > 3 else b"")
    text = b45encode(data)
    assert text == base45.b45encode(data).decode() and base45.b45decode(text) == data


def test_gateway_verify_with_the_ca_uses_only_the_seal_certificates_it_issued(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --ca, a seal by a certificate the exchange's CA issued is VALID; one by a look-alike certificate
    from another CA, trusted when given alone, is UNKNOWN SIGNER, and the certificate left out is named."""
    exchange, other = pki.make_ca(), pki.make_ca()
    genuine, forged = pki.issue(exchange, ISSUER), pki.issue(other, ISSUER)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki.cert_pem(exchange.cert))
    pems = {}
    for name, who in (("genuine", genuine), ("forged", forged)):
        pems[name] = tmp_path / f"{name}.pem"
        pems[name].write_bytes(pki.cert_pem(who.cert))
    later = claims(valid_until=NOW + dt.timedelta(days=3650))
    token = VisibleSealer(genuine.key, genuine.cert, ISSUER).seal(later)
    assert main(["verify", token, "--certificate", str(pems["genuine"]), "--ca", str(ca)]) == 0
    assert capsys.readouterr().out.startswith("VALID")
    fake = VisibleSealer(forged.key, forged.cert, ISSUER).seal(later)
    assert main(["verify", fake, "--certificate", str(pems["forged"])]) == 0
    capsys.readouterr()
    assert main(["verify", fake, "--certificate", str(pems["forged"]), "--ca", str(ca)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("UNKNOWN SIGNER") and "not using the certificate of" in err
