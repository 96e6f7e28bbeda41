"""The trust store: which certificates speak for which participant, and which are refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from gateway.errors import CertificateRevoked, CertificateUntrusted, GatewayError
from gateway.signing import pki
from gateway.signing.trust import TrustStore

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def ca() -> pki.Issued:
    return pki.make_ca()


def code_of(store: TrustStore, cert: pki.Issued, *chain: pki.Issued) -> str:
    try:
        return store.verify(cert.cert, [c.cert for c in chain]).participant
    except GatewayError as exc:
        return exc.code


def test_participant_code_comes_from_organization_identifier(ca: pki.Issued) -> None:
    """A certificate issued by the anchor speaks for the code in its organizationIdentifier."""
    assert code_of(TrustStore([ca.cert]), pki.issue(ca, "dz.cnas")) == "dz.cnas"


def test_intermediate_is_followed_only_when_given(ca: pki.Issued) -> None:
    """A chain through an intermediate holds when the intermediate is supplied, and not otherwise."""
    store = TrustStore([ca.cert])
    inter = pki.make_ca("Intermediate", issuer=ca)
    leaf = pki.issue(inter, "dz.cnas")
    assert code_of(store, leaf, inter) == "dz.cnas"
    assert code_of(store, leaf) == CertificateUntrusted.code


@pytest.mark.parametrize(
    ("name", "make", "code"),
    [
        ("other root", lambda ca: pki.issue(pki.make_ca("Other"), "dz.cnas"), "certificate_untrusted"),
        ("weak RSA", lambda ca: pki.issue(ca, "dz.cnas", key=pki.new_key("rsa", 1024)), "certificate_untrusted"),
        (
            "no signing usage",
            lambda ca: pki.issue(ca, "dz.cnas", digital_signature=False, non_repudiation=False),
            "certificate_untrusted",
        ),
        (
            "expired",
            lambda ca: pki.issue(
                ca, "dz.cnas", not_before=NOW - dt.timedelta(hours=5), not_after=NOW - dt.timedelta(hours=1)
            ),
            "certificate_expired",
        ),
        (
            "not yet valid",
            lambda ca: pki.issue(
                ca, "dz.cnas", not_before=NOW + dt.timedelta(hours=1), not_after=NOW + dt.timedelta(days=5)
            ),
            "certificate_expired",
        ),
        ("RSA 2048", lambda ca: pki.issue(ca, "dz.cnas", key=pki.new_key("rsa", 2048)), "dz.cnas"),
    ],
)
def test_each_kind_of_bad_certificate_gets_its_code(ca: pki.Issued, name: str, make, code: str) -> None:  # type: ignore[no-untyped-def]
    """Each way a certificate can fail maps to one stable code; a 2048-bit RSA key is accepted."""
    assert code_of(TrustStore([ca.cert]), make(ca)) == code, name


def test_crl_in_folder_revokes_after_reload(ca: pki.Issued, tmp_path: Path) -> None:
    """A CRL placed in the folder revokes its serials once reloaded; removing it restores trust."""
    store = TrustStore([ca.cert], tmp_path)
    leaf = pki.issue(ca, "dz.cnas")
    assert code_of(store, leaf) == "dz.cnas"
    crl = tmp_path / "ca.crl"
    crl.write_bytes(pki.make_crl(ca, [leaf.cert.serial_number]).public_bytes(serialization.Encoding.PEM))
    assert store.reload_crls() is True
    assert code_of(store, leaf) == CertificateRevoked.code
    crl.unlink()
    store.reload_crls()
    assert code_of(store, leaf) == "dz.cnas"


def test_crl_signed_by_another_key_is_ignored(ca: pki.Issued, tmp_path: Path) -> None:
    """A CRL naming the CA as issuer but signed by someone else revokes nothing."""
    leaf = pki.issue(ca, "dz.cnas")
    impostor = pki.Issued(pki.new_key(), ca.cert)
    (tmp_path / "forged.pem").write_bytes(
        pki.make_crl(impostor, [leaf.cert.serial_number]).public_bytes(serialization.Encoding.PEM)
    )
    assert code_of(TrustStore([ca.cert], tmp_path), leaf) == "dz.cnas"


def test_unreadable_crl_file_does_not_stop_loading(ca: pki.Issued, tmp_path: Path) -> None:
    """A junk file in the CRL folder is skipped, and the good CRL beside it still applies."""
    leaf = pki.issue(ca, "dz.cnas")
    (tmp_path / "junk.pem").write_bytes(b"-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n")
    (tmp_path / "good.pem").write_bytes(
        pki.make_crl(ca, [leaf.cert.serial_number]).public_bytes(serialization.Encoding.PEM)
    )
    assert code_of(TrustStore([ca.cert], tmp_path), leaf) == CertificateRevoked.code


def test_certificate_without_participant_code_is_untrusted(ca: pki.Issued) -> None:
    """A CA-issued certificate with no organizationIdentifier speaks for nobody."""
    store = TrustStore([ca.cert])
    key = pki.new_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nobody")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(minutes=1))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    assert code_of(store, pki.Issued(key, cert)) == CertificateUntrusted.code
