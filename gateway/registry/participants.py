"""The register of participants that joined through the registration authority, beside those
the configuration seeds: their role, their certificates, and which are revoked.

It lives in `HOME/pki/registry.json`, changed under a file lock and replaced atomically.
Revoking writes the CRL `HOME/pki/crl/registry.crl.pem`, which every worker re-reads within
`crl_reload_seconds` (15 s by default): from then on requests signed with a revoked
certificate are refused `certificate_revoked`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.protocol import instant, parse_instant
from gateway.registry.enrolment import ROLES, EnrolmentError, check_code, check_hosts, check_request
from gateway.signing.pki import Issued, cert_pem, certify, load_ca, make_crl

REGISTRY = "registry.json"
CRL = "registry.crl.pem"


@dataclass(frozen=True)
class Certificate:
    """One certificate issued to a participant."""

    serial: str  # hexadecimal
    sha256: str
    not_before: str
    not_after: str
    status: str = "active"  # or "revoked"
    revoked_at: str | None = None
    reason: str | None = None
    retire_at: str | None = None  # renewed: accepted until then, beside its successor

    def retired(self, now: dt.datetime) -> bool:
        return self.status == "active" and self.retire_at is not None and parse_instant(self.retire_at) <= now


@dataclass(frozen=True)
class Participant:
    code: str
    name: str
    roles: tuple[str, ...]
    registered_at: str
    certificates: tuple[Certificate, ...] = field(default=())
    seeded: bool = False  # from the configuration, with a development certificate
    name_ar: str = ""  # printed on attestations in Arabic (the name above when empty)

    @property
    def active(self) -> tuple[Certificate, ...]:
        """The certificates accepted now: neither revoked nor retired after a renewal."""
        now = dt.datetime.now(dt.UTC)
        return tuple(c for c in self.certificates if c.status == "active" and not c.retired(now))

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["roles"] = list(self.roles)
        out["certificates"] = [asdict(c) for c in self.certificates]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Participant:
        return cls(
            code=data["code"],
            name=data["name"],
            roles=tuple(data["roles"]),
            registered_at=data["registered_at"],
            certificates=tuple(Certificate(**c) for c in data["certificates"]),
            seeded=bool(data.get("seeded", False)),
            name_ar=str(data.get("name_ar", "")),
        )


def describe(cert: x509.Certificate) -> Certificate:
    return Certificate(
        serial=f"{cert.serial_number:x}",
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=instant(cert.not_valid_before_utc),
        not_after=instant(cert.not_valid_after_utc),
    )


class Registry:
    """The register of `pki_dir` (a home's `pki/` folder, which holds the exchange CA)."""

    def __init__(self, pki_dir: Path, seeds: Mapping[str, tuple[str, tuple[str, ...]]] | None = None) -> None:
        """`seeds`: the configuration's participants, code -> (name, roles)."""
        self.pki_dir = pki_dir
        self.path = pki_dir / REGISTRY
        self.seeds = dict(seeds or {})

    # ------------------------------------------------------------------ reading
    def participants(self) -> dict[str, Participant]:
        """Every participant, registered or seeded by the configuration, by code."""
        registered = self._read()
        out = {code: self._seeded(code) for code in self.seeds if code not in registered}
        out.update(registered)
        return dict(sorted(out.items()))

    def find(self, code: str) -> Participant | None:
        return self.participants().get(code)

    def _read(self) -> dict[str, Participant]:
        if not self.path.exists():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8"))
        return {code: Participant.from_dict(p) for code, p in data["participants"].items()}

    def _seeded(self, code: str) -> Participant:
        name, roles = self.seeds[code]
        cert_file = self.pki_dir / code / "cert.pem"
        certificates: tuple[Certificate, ...] = ()
        if cert_file.exists():
            certificates = (describe(x509.load_pem_x509_certificate(cert_file.read_bytes())),)
        return Participant(code, name, roles, "", certificates, seeded=True)

    # ------------------------------------------------------------------ changing
    @contextmanager
    def _changing(self) -> Iterator[dict[str, Participant]]:
        """The registered participants, to change in place; written back atomically on success."""
        self.pki_dir.mkdir(parents=True, exist_ok=True)
        with (self.pki_dir / (REGISTRY + ".lock")).open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            participants = self._read()
            yield participants
            temporary = self.path.with_name(REGISTRY + ".new")
            body = {"participants": {code: p.as_dict() for code, p in sorted(participants.items())}}
            temporary.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            os.replace(temporary, self.path)

    def register(
        self,
        csr: x509.CertificateSigningRequest,
        role: str,
        *,
        days: int = 825,
        hosts: tuple[str, ...] = (),
        name_ar: str = "",
    ) -> tuple[Participant, x509.Certificate]:
        """Checks the request, issues its certificate from the exchange CA and records the participant
        (with its Arabic name, when given); the certificate also names `hosts` for TLS (a provider's HTTPS
        server)."""
        if role not in ROLES:
            raise EnrolmentError(f"role {role!r}: one of {', '.join(ROLES)}")
        if not 1 <= days <= 825:
            raise EnrolmentError(f"--days {days}: a certificate is valid 1 to 825 days")
        code, name, public_key = check_request(csr)
        hosts = check_hosts(hosts)
        ca = load_ca(self.pki_dir)
        with self._changing() as participants:
            if code in participants or code in self.seeds:
                raise EnrolmentError(f"{code} is already a participant: renew its certificate instead")
            now = dt.datetime.now(dt.UTC)
            cert = certify(ca, code, public_key, common_name=name, not_after=now + dt.timedelta(days=days), hosts=hosts)
            participant = Participant(code, name, (role,), instant(now), (describe(cert),), name_ar=name_ar.strip())
            participants[code] = participant
        self._keep_certificate(code, cert)
        return participant, cert

    def renew(
        self,
        code: str,
        csr: x509.CertificateSigningRequest,
        *,
        overlap_hours: float = 24,
        days: int = 825,
        hosts: tuple[str, ...] = (),
    ) -> tuple[Participant, x509.Certificate]:
        """Issues `code` a certificate for a new key; its current ones stay accepted for `overlap_hours`
        beside it, so that a participant switching keys meanwhile has no request refused."""
        if not 0 <= overlap_hours <= 24 * 30:
            raise EnrolmentError(f"--overlap {overlap_hours} h: 0 to 720 hours")
        if not 1 <= days <= 825:
            raise EnrolmentError(f"--days {days}: a certificate is valid 1 to 825 days")
        asked, _, public_key = check_request(csr)
        hosts = check_hosts(hosts)
        if asked != code:
            raise EnrolmentError(f"the request names {asked}, not {code}")
        ca = load_ca(self.pki_dir)
        with self._changing() as participants:
            participant = participants.get(code) or (self._seeded(code) if code in self.seeds else None)
            if participant is None:
                raise EnrolmentError(f"{code} is not a participant: register it instead")
            if not participant.active:
                raise EnrolmentError(f"{code} has no active certificate: a revoked participant registers anew")
            now = dt.datetime.now(dt.UTC)
            retire_at = instant(now + dt.timedelta(hours=overlap_hours))
            kept = tuple(
                replace(c, retire_at=min(c.retire_at or retire_at, retire_at)) if c in participant.active else c
                for c in participant.certificates
            )
            cert = certify(
                ca, code, public_key, common_name=participant.name, not_after=now + dt.timedelta(days=days), hosts=hosts
            )
            participant = replace(participant, certificates=(*kept, describe(cert)))
            participants[code] = participant
        self._keep_certificate(code, cert)
        return participant, cert

    def retired_serials(self) -> frozenset[int]:
        """The serials of certificates replaced on renewal whose overlap has ended."""
        now = dt.datetime.now(dt.UTC)
        return frozenset(int(c.serial, 16) for p in self._read().values() for c in p.certificates if c.retired(now))

    def revoke(self, code: str, reason: str) -> Participant:
        """Revokes every active certificate of `code` and rewrites the CRL."""
        check_code(code)
        if not reason.strip():
            raise EnrolmentError("say why the participant is revoked (--reason)")
        with self._changing() as participants:
            participant = participants.get(code) or (self._seeded(code) if code in self.seeds else None)
            if participant is None:
                raise EnrolmentError(f"{code} is not a participant")
            if not participant.active:
                raise EnrolmentError(f"{code} has no active certificate to revoke")
            now = instant(dt.datetime.now(dt.UTC))
            revoked = tuple(
                replace(c, status="revoked", revoked_at=now, reason=reason.strip()) if c.status == "active" else c
                for c in participant.certificates
            )
            participant = replace(participant, certificates=revoked)
            participants[code] = participant
            self._write_crl(participants.values())
        return participant

    def _write_crl(self, participants: Iterable[Participant]) -> None:
        serials = [int(c.serial, 16) for p in participants for c in p.certificates if c.status == "revoked"]
        ca: Issued = load_ca(self.pki_dir)
        crl = make_crl(ca, serials)
        folder = self.pki_dir / "crl"
        folder.mkdir(exist_ok=True)
        temporary = folder / (CRL + ".new")
        temporary.write_bytes(crl.public_bytes(Encoding.PEM))
        os.replace(temporary, folder / CRL)

    def _keep_certificate(self, code: str, cert: x509.Certificate) -> Path:
        folder = self.pki_dir / "issued" / code
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{cert.serial_number:x}.pem"
        path.write_bytes(cert_pem(cert))
        return path

    def certificate_file(self, code: str, serial: str) -> Path:
        return self.pki_dir / "issued" / code / f"{serial}.pem"
