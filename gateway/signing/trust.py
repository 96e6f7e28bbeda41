"""Who may sign: certificate chains to the exchange anchors, validity, key usage, CRLs.

The one place that decides whether a certificate speaks for a participant. XML and JWS
verification both hand it the certificates they found and get back the participant code,
or a `GatewayError` with the precise problem code (docs/protocol.md §1 and §5, check 2).

`cryptography`'s verifier builds the chain; it checks no CRL and no key size, so both
are checked here. Verified chains are cached by fingerprint until the CRLs change or
the chain's validity runs out, so the hot path pays for chain building once per signer.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.verification import ClientVerifier, ExtensionPolicy, PolicyBuilder, Store, VerificationError

from gateway.errors import CertificateExpired, CertificateRevoked, CertificateUntrusted
from gateway.signing.pki import ORGANIZATION_IDENTIFIER

log = structlog.get_logger(__name__)

MIN_RSA_BITS = 2048
ACCEPTED_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


@dataclass(frozen=True)
class Signer:
    """A verified signer: its participant code and the certificate chain, leaf first."""

    participant: str
    chain: tuple[x509.Certificate, ...]

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]


@dataclass(frozen=True)
class _Cached:
    signer: Signer
    not_before: dt.datetime
    not_after: dt.datetime
    crl_generation: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load_pem_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle."""
    return list(x509.load_pem_x509_certificates(data))


class TrustStore:
    """The exchange's trust anchors and the CRLs found under one folder."""

    def __init__(self, anchors: Sequence[x509.Certificate], crl_dir: Path | None = None) -> None:
        if not anchors:
            raise ValueError("at least one trust anchor is needed")
        self._anchors = list(anchors)
        self._store = Store(self._anchors)
        self._crl_dir = crl_dir
        self._crls: dict[x509.Name, list[x509.CertificateRevocationList]] = {}
        self._crl_signature_ok: dict[tuple[bytes, bytes], bool] = {}
        self._crl_fingerprint: tuple[tuple[str, int, int], ...] = ()
        self._generation = 0
        self._cache: dict[bytes, _Cached] = {}
        self._fingerprints: dict[int, tuple[x509.Certificate, bytes]] = {}
        self._lock = threading.Lock()
        self._retired: frozenset[int] = frozenset()
        self.reload_crls()

    @classmethod
    def from_pem_file(cls, ca_pem: Path, crl_dir: Path | None = None) -> TrustStore:
        return cls(load_pem_certificates(ca_pem.read_bytes()), crl_dir)

    @property
    def anchors(self) -> list[x509.Certificate]:
        return list(self._anchors)

    # ------------------------------------------------------------------ CRLs
    def reload_crls(self) -> bool:
        """Re-reads the CRL folder when its listing changed; True when it reloaded."""
        if self._crl_dir is None or not self._crl_dir.is_dir():
            return False
        files = sorted(p for p in self._crl_dir.iterdir() if p.is_file())
        fingerprint = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        if fingerprint == self._crl_fingerprint:
            return False
        crls: dict[x509.Name, list[x509.CertificateRevocationList]] = {}
        for path in files:
            try:
                data = path.read_bytes()
                crl = x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data)
            except (OSError, ValueError) as exc:
                log.error("crl_unreadable", file=path.name, error=str(exc))
                continue
            crls.setdefault(crl.issuer, []).append(crl)
        with self._lock:
            self._crls = crls
            self._crl_signature_ok.clear()
            self._crl_fingerprint = fingerprint
            self._generation += 1
            self._cache.clear()
        log.info("crls_loaded", files=len(files), issuers=len(crls))
        return True

    def retire(self, serials: frozenset[int]) -> bool:
        """Refuses, from now on, the certificates with these serials that an anchor issued: those
        replaced on renewal whose overlap has ended. True when the set changed."""
        if serials == self._retired:
            return False
        with self._lock:
            self._retired = serials
            self._generation += 1
            self._cache.clear()
        return True

    def _check_revocation(self, chain: Sequence[x509.Certificate]) -> None:
        if len(chain) == 2 and chain[0].serial_number in self._retired:
            raise CertificateRevoked(f"certificate serial {chain[0].serial_number:x} was renewed and has retired")
        for cert, issuer in itertools.pairwise(chain):
            for crl in self._crls.get(issuer.subject, ()):
                if not self._crl_signed_by(crl, issuer):
                    continue
                if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                    raise CertificateRevoked(f"certificate serial {cert.serial_number:x} is revoked")

    def _crl_signed_by(self, crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
        key = (crl.fingerprint(hashes.SHA256()), issuer.fingerprint(hashes.SHA256()))
        ok = self._crl_signature_ok.get(key)
        if ok is None:
            public_key = issuer.public_key()
            try:
                ok = isinstance(public_key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)) and (
                    crl.is_signature_valid(public_key)
                )
            except (InvalidSignature, ValueError, TypeError):
                ok = False
            if not ok:
                log.error("crl_signature_invalid", issuer=issuer.subject.rfc4514_string())
            self._crl_signature_ok[key] = ok
        return ok

    # ------------------------------------------------------------------ chains
    def verify(self, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate] = ()) -> Signer:
        """The signer that `leaf` speaks for, or the problem code that refuses it."""
        cache_key = self._fingerprint(leaf) + b"".join(self._fingerprint(c) for c in intermediates)
        now = _now()
        cached = self._cache.get(cache_key)
        if (
            cached is not None
            and cached.crl_generation == self._generation
            and cached.not_before <= now <= cached.not_after
        ):
            return cached.signer
        _check_key(leaf)
        chain = self._build_chain(leaf, intermediates, now)
        _check_key_usage(leaf)
        self._check_revocation(chain)
        participant = participant_code(leaf)
        signer = Signer(participant, tuple(chain))
        for cert in (leaf, *intermediates):  # only the certificates of chains that verified are kept
            self._keep_fingerprint(cert)
        self._cache[cache_key] = _Cached(
            signer,
            max(c.not_valid_before_utc for c in chain),
            min(c.not_valid_after_utc for c in chain),
            self._generation,
        )
        return signer

    def _fingerprint(self, cert: x509.Certificate) -> bytes:
        """SHA-256 of the certificate, remembered per certificate object of a chain that verified:
        the signature modules hand the same objects again for the same KeyInfo or x5c, and hashing
        one costs about 20 µs. The certificates of refused chains are hashed and forgotten."""
        known = self._fingerprints.get(id(cert))
        if known is not None and known[0] is cert:  # the object itself, not a later one at a reused address
            return known[1]
        return cert.fingerprint(hashes.SHA256())

    def _keep_fingerprint(self, cert: x509.Certificate) -> None:
        if len(self._fingerprints) > 4096:
            self._fingerprints.clear()
        self._fingerprints[id(cert)] = (cert, self._fingerprint(cert))

    def _build_chain(
        self, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], now: dt.datetime
    ) -> list[x509.Certificate]:
        try:
            return list(self._verifier(now).verify(leaf, list(intermediates)).chain)
        except VerificationError as exc:
            reason = str(exc)
        # Does the chain hold at some moment when the leaf was valid? Then it is only expired
        # (or not yet valid), which is reported apart from an untrusted chain.
        start, end = leaf.not_valid_before_utc, leaf.not_valid_after_utc
        for moment in (start + dt.timedelta(seconds=1), start + (end - start) / 2, end - dt.timedelta(seconds=1)):
            try:
                self._verifier(moment).verify(leaf, list(intermediates))
                break
            except VerificationError:
                continue
        else:
            raise CertificateUntrusted(f"no chain to an exchange trust anchor: {reason}")
        raise CertificateExpired(
            f"certificate valid from {leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} "
            f"to {leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
        )

    def _verifier(self, at: dt.datetime) -> ClientVerifier:
        return (
            PolicyBuilder()
            .store(self._store)
            .time(at)
            .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())
            .build_client_verifier()
        )


def _check_key(cert: x509.Certificate) -> None:
    check_public_key(cert.public_key())


def check_public_key(key: object) -> None:
    """`certificate_untrusted` unless the key is RSA of at least 2048 bits or ECDSA on an accepted curve
    (docs/protocol.md §1); the registration authority holds requests to the same rule."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CertificateUntrusted(f"RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} required")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ACCEPTED_CURVES):
            raise CertificateUntrusted(f"elliptic curve {key.curve.name} is not accepted")
    else:
        raise CertificateUntrusted(f"key type {type(key).__name__} is not accepted")


def _check_key_usage(cert: x509.Certificate) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateUntrusted("certificate has no key usage extension") from None
    if not (usage.digital_signature or usage.content_commitment):
        raise CertificateUntrusted("key usage allows neither digitalSignature nor nonRepudiation")


def participant_code(cert: x509.Certificate) -> str:
    """The participant code in the subject's organizationIdentifier."""
    values = cert.subject.get_attributes_for_oid(ORGANIZATION_IDENTIFIER)
    if len(values) != 1 or not isinstance(values[0].value, str) or not values[0].value:
        raise CertificateUntrusted("certificate subject carries no single organizationIdentifier")
    return values[0].value
