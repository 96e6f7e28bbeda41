"""`gateway partner check CODE`: test queries sent to a partner, on the bus or over HTTPS, and a
report of what it got wrong (docs/onboarding.md). Exit status 0 when every check passed, 1 when one failed, 2
when the check could not run."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from gateway import config as config_module
from gateway.cli.common import add_home
from gateway.registry import policy
from gateway.runtime.partner_check import CheckError, check_partner


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("partner", help="check a partner administration, on the bus or over HTTPS")
    commands = parser.add_subparsers(dest="partner_command", required=True)
    check = commands.add_parser("check", help="send a partner test queries and report what it got wrong")
    check.add_argument("code", help="the partner's participant code")
    check.add_argument("--type", help="the document type to ask for (default: the first it provides)")
    check.add_argument("--found", required=True, help="a subject the partner holds a record for")
    check.add_argument("--missing", required=True, help="a subject the partner holds no record for")
    check.add_argument("--amqp-url", default=None, help="the broker (default: the configuration's)")
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    add_home(check)
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    try:
        config = policy.effective(config_module.load(), args.home)
        findings = asyncio.run(
            check_partner(
                config,
                args.home,
                args.code,
                args.amqp_url or config.settings.amqp_url,
                document_type=args.type,
                found=args.found,
                missing=args.missing,
            )
        )
    except (CheckError, OSError) as exc:
        print(f"gateway partner check: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([f.__dict__ for f in findings], indent=2, ensure_ascii=False))
    else:
        for f in findings:
            print(f"{'ok   ' if f.ok else 'FAULT'}  {f.query:<22} {f.check:<24} {f.detail}")
    faults = [f for f in findings if not f.ok]
    print(f"{len(findings) - len(faults)} checks passed, {len(faults)} faults", file=sys.stderr)
    return 1 if faults else 0
