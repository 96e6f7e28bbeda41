"""The development PKI written on first start, and the `gateway` command (docs/operations.md)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.signing.pki import ORGANIZATION_IDENTIFIER, SANDBOX_PARTICIPANTS, ensure_development_pki


def test_first_start_writes_ca_and_one_identity_per_participant(tmp_path: Path) -> None:
    """ca.pem, ca-key.pem and <code>/cert.pem, key.pem: P-256, code in organizationIdentifier, keys 0600."""
    pki_dir = tmp_path / "pki"
    assert ensure_development_pki(pki_dir) is True
    ca = x509.load_pem_x509_certificate((pki_dir / "ca.pem").read_bytes())
    for code in SANDBOX_PARTICIPANTS:
        cert = x509.load_pem_x509_certificate((pki_dir / code / "cert.pem").read_bytes())
        cert.verify_directly_issued_by(ca)
        assert cert.subject.get_attributes_for_oid(ORGANIZATION_IDENTIFIER)[0].value == code
        key = serialization.load_pem_private_key((pki_dir / code / "key.pem").read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
        assert stat.S_IMODE((pki_dir / code / "key.pem").stat().st_mode) == 0o600
        assert b"BEGIN PRIVATE KEY" in (pki_dir / code / "key.pem").read_bytes()  # PKCS#8
    assert stat.S_IMODE((pki_dir / "ca-key.pem").stat().st_mode) == 0o600


def test_second_start_keeps_the_pki(tmp_path: Path) -> None:
    """A second start writes nothing and keeps the same CA."""
    ensure_development_pki(tmp_path)
    before = (tmp_path / "ca.pem").read_bytes()
    assert ensure_development_pki(tmp_path) is False
    assert (tmp_path / "ca.pem").read_bytes() == before


def test_sandbox_examples_prints_found_and_missing_ids(tmp_path: Path) -> None:
    """`python -m gateway sandbox examples --json` lists ≥3 found and ≥3 missing ids per type."""
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "sandbox", "examples", "--home", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    examples = json.loads(out)
    assert {"birth-certificate", "family-record", "death-record", "residence-certificate"} <= set(examples)
    for ids in examples.values():
        assert len(ids["found"]) >= 3 and len(ids["missing"]) >= 3
        assert not set(ids["found"]) & set(ids["missing"])


def test_seal_key_may_live_outside_home_but_not_world_readable(tmp_path: Path) -> None:
    """load_identity takes key and certificate files from anywhere, and refuses a key others can read."""
    from gateway.signing.pki import load_identity

    ensure_development_pki(tmp_path / "pki")
    outside = tmp_path / "vault"
    outside.mkdir()
    key = outside / "seal.key"
    key.write_bytes((tmp_path / "pki" / "dz.exchange.gateway" / "key.pem").read_bytes())
    key.chmod(0o600)
    _, chain = load_identity(tmp_path / "nowhere", key, tmp_path / "pki" / "dz.exchange.gateway" / "cert.pem")
    assert chain[0].subject.get_attributes_for_oid(ORGANIZATION_IDENTIFIER)[0].value == "dz.exchange.gateway"
    key.chmod(0o644)
    try:
        load_identity(tmp_path / "nowhere", key, tmp_path / "pki" / "dz.exchange.gateway" / "cert.pem")
    except ValueError as exc:
        assert "chmod 600" in str(exc)
    else:
        raise AssertionError("a world-readable key was accepted")
