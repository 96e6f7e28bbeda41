"""`gateway participant keygen|register|list|show|revoke`: joining the exchange (docs/onboarding.md).

`keygen` runs on the participant's side and writes a key and a certificate signing request;
`register` runs on the exchange's side, checks the request, issues the certificate from the
exchange CA and records the participant; `revoke` revokes its certificates, refused by every
worker within `crl_reload_seconds`. Each change is journaled in the audit chain.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from gateway import config as config_module
from gateway.cli.common import add_actor, journal
from gateway.registry.enrolment import ROLES, EnrolmentError, csr_pem, make_request, read_request
from gateway.registry.participants import Participant, Registry, describe
from gateway.signing.pki import cert_pem, key_pem

HOST_HELP = (
    "a host name or IP address the certificate also names for TLS, for a provider that answers over HTTPS "
    "(repeat for several; default localhost and 127.0.0.1)"
)


def register(subparsers: Any) -> None:
    participant = subparsers.add_parser("participant", help="join the exchange: keys, certificates, revocation")
    commands = participant.add_subparsers(dest="participant_command", required=True)

    keygen = commands.add_parser("keygen", help="(participant side) a new key and certificate signing request")
    keygen.add_argument("code", help="the participant code, e.g. dz.caisse-retraite")
    keygen.add_argument("--name", required=True, help="the administration's name, e.g. 'Caisse des retraites'")
    keygen.add_argument("--out", type=Path, required=True, help="folder for key.pem (0600) and request.csr.pem")
    keygen.add_argument("--rsa", action="store_true", help="an RSA 3072 key instead of ECDSA P-256")
    keygen.set_defaults(func=_keygen)

    enrol = commands.add_parser("register", help="(exchange side) check a request, issue its certificate, record it")
    enrol.add_argument("--csr", type=Path, required=True, help="the participant's request.csr.pem")
    enrol.add_argument("--role", choices=ROLES, required=True)
    enrol.add_argument("--days", type=int, default=825, help="validity of the certificate (default 825 days)")
    enrol.add_argument("--out", type=Path, help="also write the certificate here, to send to the participant")
    enrol.add_argument("--host", action="append", default=[], help=HOST_HELP)
    enrol.add_argument(
        "--name-ar",
        default="",
        help="the administration's name in Arabic, printed on attestations (e.g. 'الصندوق الوطني للتقاعد')",
    )
    add_actor(enrol)
    enrol.set_defaults(func=_register)

    listing = commands.add_parser("list", help="every participant, its roles and certificates")
    listing.add_argument("--json", action="store_true")
    add_actor(listing)
    listing.set_defaults(func=_list)

    show = commands.add_parser("show", help="one participant")
    show.add_argument("code")
    add_actor(show)
    show.set_defaults(func=_show)

    renew = commands.add_parser("renew", help="a certificate for a new key, the current one kept for an overlap")
    renew.add_argument("code")
    renew.add_argument("--csr", type=Path, required=True, help="the request made with the new key")
    renew.add_argument(
        "--overlap", type=float, default=24.0, help="hours the current certificate stays accepted (default 24)"
    )
    renew.add_argument("--days", type=int, default=825, help="validity of the new certificate (default 825 days)")
    renew.add_argument("--out", type=Path, help="also write the new certificate here")
    renew.add_argument("--host", action="append", default=[], help=HOST_HELP)
    add_actor(renew)
    renew.set_defaults(func=_renew)

    revoke = commands.add_parser("revoke", help="revoke every certificate of a participant")
    revoke.add_argument("code")
    revoke.add_argument("--reason", required=True, help="why, as it will stand in the journal")
    add_actor(revoke)
    revoke.set_defaults(func=_revoke)


def _registry(home: Path) -> Registry:
    participants = config_module.load().participants
    return Registry(home / "pki", {code: (p.name, p.roles) for code, p in participants.items()})


def _fail(message: str) -> int:
    print(f"gateway participant: {message}", file=sys.stderr)
    return 2


def _keygen(args: argparse.Namespace) -> int:
    key_file, csr_file = args.out / "key.pem", args.out / "request.csr.pem"
    if key_file.exists():
        return _fail(f"{key_file} exists: a key is never overwritten; choose another --out")
    try:
        key, csr = make_request(args.code, args.name, "rsa" if args.rsa else "ec")
    except EnrolmentError as exc:
        return _fail(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_pem(key))
    csr_file.write_bytes(csr_pem(csr))
    print(f"key:     {key_file} (keep it here; it never leaves this machine)")
    print(f"request: {csr_file} (send it to the exchange's registration authority)")
    return 0


def _register(args: argparse.Namespace) -> int:
    try:
        csr = read_request(args.csr.read_bytes())
        participant, cert = _registry(args.home).register(
            csr, args.role, days=args.days, hosts=tuple(args.host), name_ar=args.name_ar
        )
    except OSError as exc:
        return _fail(f"{exc.filename}: {exc.strerror}")
    except EnrolmentError as exc:
        return _fail(f"refused, nothing recorded: {exc}")
    if args.out:
        args.out.write_bytes(cert_pem(cert))
    journal(args.home, args.by, "participant_registered", f"{participant.code} {args.role}")
    issued = participant.certificates[0]
    print(f"registered {participant.code} ({participant.name}) as {args.role}")
    print(f"certificate serial {issued.serial}, valid until {issued.not_after}")
    print(f"certificate: {args.out or _registry(args.home).certificate_file(participant.code, issued.serial)}")
    print(f"send it with the exchange's root CA: {args.home / 'pki' / 'ca.pem'}")
    return 0


def _renew(args: argparse.Namespace) -> int:
    try:
        csr = read_request(args.csr.read_bytes())
        participant, cert = _registry(args.home).renew(
            args.code, csr, overlap_hours=args.overlap, days=args.days, hosts=tuple(args.host)
        )
    except OSError as exc:
        return _fail(f"{exc.filename}: {exc.strerror}")
    except EnrolmentError as exc:
        return _fail(f"refused, nothing changed: {exc}")
    if args.out:
        args.out.write_bytes(cert_pem(cert))
    journal(args.home, args.by, "participant_renewed", f"{participant.code} overlap {args.overlap:g} h")
    print(_describe(participant))
    print(
        f"new certificate: {args.out or _registry(args.home).certificate_file(participant.code, describe(cert).serial)}"
    )
    print("switch to the new key before the overlap ends: then the old certificate is refused")
    return 0


def _list(args: argparse.Namespace) -> int:
    participants = _registry(args.home).participants()
    if args.json:
        print(json.dumps([p.as_dict() for p in participants.values()], indent=2, ensure_ascii=False))
        return 0
    for p in participants.values():
        state = "active" if p.active else ("revoked" if p.certificates else "no certificate")
        origin = "configuration" if p.seeded else f"registered {p.registered_at}"
        print(f"{p.code:<32} {','.join(p.roles):<16} {state:<14} {origin}")
    return 0


def _show(args: argparse.Namespace) -> int:
    participant = _registry(args.home).find(args.code)
    if participant is None:
        return _fail(f"{args.code} is not a participant")
    print(_describe(participant))
    return 0


def _describe(p: Participant) -> str:
    lines = [f"{p.code}: {p.name}", f"  roles       {', '.join(p.roles)}"]
    lines.append("  origin      " + ("the configuration" if p.seeded else f"registered {p.registered_at}"))
    for c in p.certificates:
        lines.append(f"  certificate {c.serial}  {c.not_before} .. {c.not_after}  {c.status}")
        if c.status == "revoked":
            lines.append(f"              revoked {c.revoked_at}: {c.reason}")
        elif c.retire_at:
            lines.append(f"              renewed: accepted until {c.retire_at}")
    return "\n".join(lines)


def _revoke(args: argparse.Namespace) -> int:
    try:
        participant = _registry(args.home).revoke(args.code, args.reason)
    except EnrolmentError as exc:
        return _fail(f"refused, nothing changed: {exc}")
    journal(args.home, args.by, "participant_revoked", f"{participant.code} {args.reason}")
    seconds = config_module.load().settings.crl_reload_seconds
    print(_describe(participant))
    print(f"every worker refuses its certificates within {seconds} s (certificate_revoked)")
    return 0
