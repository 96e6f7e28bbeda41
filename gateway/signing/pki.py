"""The exchange PKI: a development root CA and participant certificates.

`gateway up` writes a development PKI on first start (docs/operations.md, keys). Tests use the same
functions to mint hostile certificates (expired, self-signed, weak keys, wrong usage).
The participant code travels in the subject's `organizationIdentifier` (OID 2.5.4.97).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")
SANDBOX_PARTICIPANTS = (
    "dz.cnas",
    "dz.interieur.etat-civil",
    "dz.finances.dgi",
    "dz.commerce.cnrc",
    "dz.exchange.gateway",
)
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


@dataclass(frozen=True)
class Issued:
    """A key and its certificate, as objects."""

    key: PrivateKey
    cert: x509.Certificate


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_key(kind: str = "ec", bits: int = 2048) -> PrivateKey:
    """A fresh ECDSA P-256 key (`ec`) or RSA key of `bits` bits (`rsa`)."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def participant_name(code: str, common_name: str | None = None) -> x509.Name:
    """A subject naming the participant: CN for humans, organizationIdentifier for machines."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DZ"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, code),
            x509.NameAttribute(ORGANIZATION_IDENTIFIER, code),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name or code),
        ]
    )


def make_ca(
    name: str = "Exchange Root CA (development)",
    *,
    key: PrivateKey | None = None,
    issuer: Issued | None = None,
    days: int = 3650,
) -> Issued:
    """A CA certificate: self-signed root, or an intermediate when `issuer` is given."""
    key = key or new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DZ"), x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer: CertificateIssuerPrivateKeyTypes = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(days=1))
        .not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    return Issued(key, builder.sign(signer, hashes.SHA256()))


def _key_usage(
    *,
    digital_signature: bool = False,
    non_repudiation: bool = False,
    cert_sign: bool = False,
    key_encipherment: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    ca: Issued,
    code: str,
    *,
    key: PrivateKey | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    digital_signature: bool = True,
    non_repudiation: bool = True,
    hosts: Iterable[str] = ("localhost", "127.0.0.1"),
) -> Issued:
    """A participant certificate issued by `ca`, also usable for TLS on `hosts`."""
    key = key or new_key()
    cert = certify(
        ca,
        code,
        key.public_key(),
        not_before=not_before,
        not_after=not_after,
        digital_signature=digital_signature,
        non_repudiation=non_repudiation,
        hosts=hosts,
    )
    return Issued(key, cert)


def certify(
    ca: Issued,
    code: str,
    public_key: PublicKey,
    *,
    common_name: str | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    digital_signature: bool = True,
    non_repudiation: bool = True,
    hosts: Iterable[str] = ("localhost", "127.0.0.1"),
) -> x509.Certificate:
    """The certificate `ca` issues to participant `code` for `public_key` (whose private half the
    exchange may never see), also usable for TLS on `hosts`."""
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    builder = (
        x509.CertificateBuilder()
        .subject_name(participant_name(code, common_name))
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or _now() - dt.timedelta(minutes=5))
        .not_valid_after(not_after or _now() + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(
                digital_signature=digital_signature,
                non_repudiation=non_repudiation,
                key_encipherment=digital_signature and isinstance(public_key, rsa.RSAPublicKey),
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def make_crl(
    ca: Issued, revoked_serials: Iterable[int], *, next_update_days: int = 7
) -> x509.CertificateRevocationList:
    """A CRL signed by `ca` listing `revoked_serials`."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(_now() - dt.timedelta(minutes=1))
        .next_update(_now() + dt.timedelta(days=next_update_days))
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(_now()).build()
        )
    return builder.sign(ca.key, hashes.SHA256())


def key_pem(key: PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted (development keys; the file is written 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_identity(pki_dir: Path, code: str, issued: Issued) -> None:
    """Writes `pki_dir/<code>/cert.pem` and `key.pem` (mode 0600)."""
    folder = pki_dir / code
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cert.pem").write_bytes(cert_pem(issued.cert))
    _write_private(folder / "key.pem", key_pem(issued.key))


def ensure_development_pki(pki_dir: Path, participants: Iterable[str] = SANDBOX_PARTICIPANTS) -> bool:
    """Writes the development CA and each participant's identity unless already there.

    Returns True when something was written. An existing CA is reused, so a participant
    added to the configuration later gets a certificate from the same CA.
    """
    wrote = False
    ca_cert, ca_key = pki_dir / "ca.pem", pki_dir / "ca-key.pem"
    if ca_cert.exists() and ca_key.exists():
        ca = load_ca(pki_dir)
    else:
        ca = make_ca()
        pki_dir.mkdir(parents=True, exist_ok=True)
        _write_private(ca_key, key_pem(ca.key))
        ca_cert.write_bytes(cert_pem(ca.cert))
        wrote = True
    (pki_dir / "crl").mkdir(exist_ok=True)
    for code in participants:
        if not (pki_dir / code / "cert.pem").exists():
            write_identity(pki_dir, code, issue(ca, code))
            wrote = True
    return wrote


def load_ca(pki_dir: Path) -> Issued:
    """The exchange CA's key and certificate: `pki_dir/ca-key.pem` and `pki_dir/ca.pem`."""
    loaded = serialization.load_pem_private_key((pki_dir / "ca-key.pem").read_bytes(), None)
    if not isinstance(loaded, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise ValueError(f"{pki_dir}/ca-key.pem: only ECDSA and RSA keys are supported")
    return Issued(loaded, x509.load_pem_x509_certificate((pki_dir / "ca.pem").read_bytes()))


def load_identity(
    folder: Path, key_file: Path | None = None, cert_file: Path | None = None
) -> tuple[PrivateKey, list[x509.Certificate]]:
    """A participant's key and chain, loaded once: `folder/key.pem` and `folder/cert.pem`, or the
    files given. A key file readable by group or others is refused."""
    key_file, cert_file = key_file or folder / "key.pem", cert_file or folder / "cert.pem"
    if key_file.stat().st_mode & 0o077:
        raise ValueError(f"{key_file} is readable by others: chmod 600 it")
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    chain = list(x509.load_pem_x509_certificates(cert_file.read_bytes()))
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise ValueError(f"{folder}/key.pem: only ECDSA and RSA keys are supported")
    return key, chain
