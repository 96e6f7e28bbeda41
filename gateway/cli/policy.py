"""`gateway policy grant|revoke|show`: what a requester may ask for, changed at run time
(docs/onboarding.md). Every worker applies a change within `registry_reload_seconds`;
each change is checked before it is stored and journaled in the audit chain."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gateway import config as config_module
from gateway.cli.common import add_actor, add_home, journal
from gateway.config import Quota, Requester
from gateway.registry import policy
from gateway.registry.enrolment import EnrolmentError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("policy", help="grant or take back document types, purposes and quotas")
    commands = parser.add_subparsers(dest="policy_command", required=True)

    grant = commands.add_parser("grant", help="let a requester ask for a document type, for purposes")
    grant.add_argument("requester")
    grant.add_argument("type")
    grant.add_argument("--purpose", action="append", default=[], required=True, help="repeat for several")
    grant.add_argument("--quota", help="RATE/BURST, e.g. 50/100: requests per second sustained, and at once")
    add_actor(grant)
    grant.set_defaults(func=_grant)

    revoke = commands.add_parser("revoke", help="take a document type back from a requester")
    revoke.add_argument("requester")
    revoke.add_argument("type")
    add_actor(revoke)
    revoke.set_defaults(func=_revoke)

    show = commands.add_parser("show", help="what each requester may ask for, as the workers apply it")
    show.add_argument("requester", nargs="?")
    add_home(show)
    show.set_defaults(func=_show)


def _fail(message: str) -> int:
    print(f"gateway policy: {message}", file=sys.stderr)
    return 2


def _quota(text: str | None) -> Quota | None:
    if text is None:
        return None
    try:
        rate, burst = text.split("/")
        return Quota(float(rate), int(burst))
    except ValueError:
        raise EnrolmentError(f"--quota {text!r}: RATE/BURST, e.g. 50/100") from None


def _grant(args: argparse.Namespace) -> int:
    try:
        quota = _quota(args.quota)
        granted = policy.grant(config_module.load(), args.home, args.requester, args.type, args.purpose, quota)
    except EnrolmentError as exc:
        return _fail(f"refused, nothing changed: {exc}")
    journal(args.home, args.by, "policy_granted", f"{args.requester} {args.type} {','.join(args.purpose)}")
    print(_describe(granted))
    print(f"every worker applies it within {config_module.load().settings.registry_reload_seconds} s")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    try:
        updated = policy.revoke_grant(config_module.load(), args.home, args.requester, args.type)
    except EnrolmentError as exc:
        return _fail(f"refused, nothing changed: {exc}")
    journal(args.home, args.by, "policy_revoked", f"{args.requester} {args.type}")
    print(_describe(updated))
    print(f"every worker applies it within {config_module.load().settings.registry_reload_seconds} s")
    return 0


def _show(args: argparse.Namespace) -> int:
    requesters = policy.effective(config_module.load(), args.home).requesters
    if args.requester and args.requester not in requesters:
        return _fail(f"{args.requester} holds no grant")
    for code, requester in sorted(requesters.items()):
        if not args.requester or code == args.requester:
            print(_describe(requester))
    return 0


def _describe(r: Requester) -> str:
    return "\n".join(
        [
            f"{r.code}",
            f"  types     {', '.join(sorted(r.document_types)) or '-'}",
            f"  purposes  {', '.join(sorted(r.purposes)) or '-'}",
            f"  quota     {r.quota.per_second:g}/s, burst {r.quota.burst}",
        ]
    )
