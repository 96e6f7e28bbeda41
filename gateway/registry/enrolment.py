"""A participant's certificate signing request: made on the participant's side, checked and
certified on the exchange's (docs/onboarding.md).

The request carries the participant code in `organizationIdentifier`, as the certificates
of the exchange do. It is checked against the protocol's rules for keys (ECDSA P-256,
P-384 or P-521, or RSA of at least 2048 bits) before the CA signs anything.
"""

from __future__ import annotations

import ipaddress
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from gateway.errors import CertificateUntrusted
from gateway.signing.pki import ORGANIZATION_IDENTIFIER, PrivateKey, PublicKey, new_key, participant_name
from gateway.signing.trust import check_public_key

#: A participant code (docs/protocol.md §1): lowercase parts joined by dots, at least two
#: (`dz.cnas`, `dz.interieur.etat-civil`), at most 100 characters.
CODE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+")
MAX_CODE = 100
ROLES = ("requester", "provider", "citizen-portal")
#: A DNS host name a certificate may name for TLS: dot-separated labels of letters, digits, hyphens.
_LABEL = r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
HOST = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")
#: The hosts a certificate names when none is asked for (a partner's server on its own machine).
LOCAL_HOSTS = ("localhost", "127.0.0.1")


class EnrolmentError(ValueError):
    """A request for a certificate that the exchange refuses; the message names the problem."""


def check_code(code: str) -> str:
    """`code` if it is a well-formed participant code."""
    if not CODE.fullmatch(code) or len(code) > MAX_CODE:
        raise EnrolmentError(
            f"participant code {code!r}: at least two lowercase parts joined by dots, letters, digits and "
            "hyphens, e.g. dz.caisse-retraite"
        )
    return code


def check_hosts(hosts: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The host names or IP addresses a certificate will name for TLS (those of a provider's
    HTTPS server), each well formed; none asked for is the local machine."""
    if not hosts:
        return LOCAL_HOSTS
    for host in hosts:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not HOST.fullmatch(host):
                raise EnrolmentError(f"--host {host!r}: a DNS name (e.g. api.cnr.dz) or an IP address") from None
    return tuple(dict.fromkeys(hosts))


def make_request(code: str, name: str, kind: str = "ec") -> tuple[PrivateKey, x509.CertificateSigningRequest]:
    """A new key (ECDSA P-256, or RSA 3072 with `kind="rsa"`) and the signing request naming `code`."""
    check_code(code)
    if not name.strip():
        raise EnrolmentError("the participant's name (--name) is empty")
    key = new_key("ec") if kind == "ec" else new_key("rsa", 3072)
    csr = x509.CertificateSigningRequestBuilder().subject_name(participant_name(code, name.strip()))
    return key, csr.sign(key, hashes.SHA256())


def read_request(data: bytes) -> x509.CertificateSigningRequest:
    """A CSR from PEM or DER bytes."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except ValueError as exc:
        raise EnrolmentError(f"not a certificate signing request: {exc}") from None


def csr_pem(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.PEM)


def check_request(csr: x509.CertificateSigningRequest) -> tuple[str, str, PublicKey]:
    """The participant code, its name and the public key of a request that the exchange accepts."""
    if not csr.is_signature_valid:
        raise EnrolmentError("the request's signature does not match its key: it was altered or not signed")
    key = csr.public_key()
    try:
        check_public_key(key)
    except CertificateUntrusted as exc:
        raise EnrolmentError(f"the exchange would not trust this key: {exc.detail}") from None
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)  # what check_public_key lets through
    codes = csr.subject.get_attributes_for_oid(ORGANIZATION_IDENTIFIER)
    if len(codes) != 1 or not isinstance(codes[0].value, str):
        raise EnrolmentError("the request names no single organizationIdentifier (the participant code)")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(names[0].value) if names else codes[0].value
    return check_code(codes[0].value), name, key
