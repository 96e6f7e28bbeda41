"""`gateway verify TOKEN|FILE`: checks an attestation's visible seal offline, with the exchange's
seal certificate only: valid, expired, tampered or unknown signer, and what it attests.

The token is the text of the attestation's QR code (`DZ1:…`), given as it is or in a file:
the printed attestation's PDF (which keeps it in its metadata), a text file holding it, or a
sealed response (XML or JSON) whose `VisibleSeal` carries it.
The seal certificates are a gateway home's (`HOME/pki/<gateway>/cert.pem`, and those of its
earlier seal keys in `previous/`), or the PEM files given with `--certificate` (the exchange
publishes them at `GET /v1/seal-certificates`). With `--ca`, only those the exchange's CA
issued are used: seal certificates fetched from a copy of the site that cannot be trusted
then prove nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography import x509

from gateway import config as config_module
from gateway.cli.common import add_home
from gateway.errors import CertificateExpired, GatewayError
from gateway.signing.trust import TrustStore
from gateway.signing.visible_seal import PREFIX, Verdict, verify

TOKEN = re.compile(rb"DZ1:[0-9A-Z $%*+\-./:]+")
STREAM = re.compile(rb"stream\r?\n")
LABELS = {"valid": "VALID", "expired": "EXPIRED", "tampered": "TAMPERED", "unknown-signer": "UNKNOWN SIGNER"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check an attestation's visible seal (its QR code's text, or a file holding it) offline",
        description="Checks a visible seal against the exchange's seal certificate, with no connection: "
        "valid, expired, tampered or unknown signer. Exit status 0 when valid, 1 otherwise, 2 when no seal "
        "could be read.",
    )
    parser.add_argument("token", metavar="TOKEN|FILE", help="the QR code's text (DZ1:…) or a file that holds it")
    parser.add_argument(
        "--certificate",
        action="append",
        type=Path,
        metavar="PEM",
        help="the exchange's seal certificate(s), PEM; may be repeated (default: the gateway home's own)",
    )
    parser.add_argument(
        "--ca",
        type=Path,
        metavar="PEM",
        help="the exchange's CA certificate: a seal certificate it did not issue is not used",
    )
    add_home(parser)
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    try:
        token = read_token(args.token)
        certificates = _certificates(args.certificate, args.home)
        if args.ca is not None:
            certificates = _issued_by(TrustStore.from_pem_file(args.ca), certificates)
    except (OSError, ValueError) as exc:
        print(f"gateway verify: {exc}", file=sys.stderr)
        return 2
    verdict = verify(token, certificates)
    print(json.dumps(as_json(verdict), ensure_ascii=False, indent=2) if args.json else as_text(verdict))
    return 0 if verdict.valid else 1


def read_token(given: str) -> str:
    """The token itself, or the first one found in the file named `given`."""
    if given.startswith(PREFIX):
        return given
    path = Path(given)
    if not path.is_file():
        raise ValueError(f"{given}: neither a visible seal (DZ1:…) nor a file")
    content = path.read_bytes()
    found = TOKEN.search(content) or TOKEN.search(_jws_payload(content))
    for stream in _pdf_streams(content) if found is None and content.startswith(b"%PDF-") else ():
        if found := TOKEN.search(stream):
            break
    if found is None:
        raise ValueError(f"{given}: holds no visible seal (DZ1:…)")
    return found.group().decode("ascii").strip()


def _jws_payload(content: bytes) -> bytes:
    """The payload of a compact JWS (a sealed JSON response), or nothing."""
    parts = content.strip().split(b".")
    if len(parts) != 3:
        return b""
    try:
        return base64.urlsafe_b64decode(parts[1] + b"=" * (-len(parts[1]) % 4))
    except ValueError:
        return b""


def _pdf_streams(content: bytes) -> Iterator[bytes]:
    """The inflated streams of a PDF: its metadata sits in a compressed object stream."""
    for start in STREAM.finditer(content):
        inflate = zlib.decompressobj()
        try:
            yield inflate.decompress(content[start.end() :], 1 << 20)
        except zlib.error:
            continue


def _certificates(given: list[Path] | None, home: Path) -> list[x509.Certificate]:
    """The certificates given, or the gateway home's: its seal certificate, then its earlier ones."""
    if given:
        return [c for path in given for c in x509.load_pem_x509_certificates(path.read_bytes())]
    settings = config_module.load().settings
    folder = home / "pki" / settings.participant
    path = Path(settings.seal_cert) if settings.seal_cert else folder / "cert.pem"
    if not path.is_file():
        raise ValueError(f"no seal certificate at {path}: give the exchange's with --certificate")
    earlier = sorted((folder / "previous").glob("*.pem")) if (folder / "previous").is_dir() else []
    current = list(x509.load_pem_x509_certificates(path.read_bytes()))[:1]
    return [*current, *(c for p in earlier for c in x509.load_pem_x509_certificates(p.read_bytes()))]


def _issued_by(ca: TrustStore, certificates: list[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates whose chain (through the others given) ends at the CA, now or while they were
    valid (a seal outlives its certificate's renewal); a line on standard error for each left out."""
    kept = []
    for certificate in certificates:
        try:
            ca.verify(certificate, [c for c in certificates if c is not certificate])
        except CertificateExpired:
            pass  # the chain held while it was valid: seals made then still check
        except GatewayError as exc:
            subject = certificate.subject.rfc4514_string()
            print(f"gateway verify: not using the certificate of {subject}: {exc}", file=sys.stderr)
            continue
        kept.append(certificate)
    return kept


def as_json(verdict: Verdict) -> dict[str, Any]:
    out: dict[str, Any] = {"status": verdict.status, "detail": verdict.detail}
    if verdict.claims is not None:
        c = verdict.claims
        out["attestation"] = {
            "attestationId": c.attestation_id,
            "documentType": c.document_type,
            "provider": c.provider,
            "requester": c.requester,
            "purpose": c.purpose,
            "issuedAt": f"{c.issued_at:%Y-%m-%dT%H:%M:%SZ}",
            "validUntil": f"{c.valid_until:%Y-%m-%dT%H:%M:%SZ}",
            "sealedBy": c.issuer,
            "fields": c.fields,
        }
    return out


def as_text(verdict: Verdict) -> str:
    lines = [f"{LABELS.get(verdict.status, verdict.status.upper())}: {verdict.detail}"]
    if verdict.claims is not None:
        c = verdict.claims
        rows = [
            ("attestation", c.attestation_id),
            ("document", f"{c.document_type}, from {c.provider}"),
            ("obtained by", f"{c.requester} for {c.purpose}"),
            ("issued", f"{c.issued_at:%Y-%m-%d %H:%M} UTC, valid until {c.valid_until:%Y-%m-%d %H:%M} UTC"),
            *((name, str(value)) for name, value in c.fields.items()),
        ]
        width = max(len(name) for name, _ in rows)
        lines += [f"  {name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines)
