"""Throwaway test PKI: an ECDSA P-256 CA and leaf certificates for the sandbox tests."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")


@dataclass(frozen=True)
class Leaf:
    """A leaf certificate and its key, as PEM files on disk."""

    cert: Path
    key: Path

    @property
    def certificate(self) -> x509.Certificate:
        """Return the parsed certificate."""
        return x509.load_pem_x509_certificate(self.cert.read_bytes())


@dataclass(frozen=True)
class Pki:
    """All PEM files of the test PKI."""

    ca_cert: Path
    server: Leaf
    gateway: Leaf
    stranger: Leaf
    cnrc: Leaf
    untrusted: Leaf


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _make_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(hours=1))
        .not_valid_after(_now() + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    directory: Path,
    stem: str,
    participant: str,
) -> Leaf:
    """Issue a leaf whose subject carries `participant` as organizationIdentifier."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DZ"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Test {participant}"),
            x509.NameAttribute(ORGANIZATION_IDENTIFIER, participant),
            x509.NameAttribute(NameOID.COMMON_NAME, stem),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(hours=1))
        .not_valid_after(_now() + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("localhost"),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = Leaf(cert=directory / f"{stem}.crt", key=directory / f"{stem}.key")
    leaf.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, leaf.key)
    return leaf


def make_pki(directory: Path) -> Pki:
    """Create a CA, a server leaf, gateway/stranger/untrusted client leaves and a CNRC signer."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _make_ca("Sandbox Test CA")
    ca_path = directory / "ca.crt"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    other_ca, other_key = _make_ca("Untrusted Test CA")
    return Pki(
        ca_cert=ca_path,
        server=_issue(ca_cert, ca_key, directory, "server", "dz.mf.dgi"),
        gateway=_issue(ca_cert, ca_key, directory, "gateway", "dz.exchange.gateway"),
        stranger=_issue(ca_cert, ca_key, directory, "stranger", "dz.other.participant"),
        cnrc=_issue(ca_cert, ca_key, directory, "cnrc", "dz.mc.cnrc"),
        untrusted=_issue(other_ca, other_key, directory, "untrusted", "dz.exchange.gateway"),
    )
