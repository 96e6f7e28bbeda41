"""`gateway audit verify` (the journal's hash chain) and `gateway audit subject` (the citizen
access report: who obtained which document about a person)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from gateway.audit.access import access_report
from gateway.audit.journal import verify
from gateway.cli.common import add_home, opened_store
from gateway.logs import subject_ref
from gateway.runtime.local_secrets import log_key


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="the audit journal")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    check = commands.add_parser("verify", help="check the hash chain; names the first broken entry")
    add_home(check)
    check.set_defaults(func=lambda args: asyncio.run(_verify(args.home)))
    subject = commands.add_parser("subject", help="who obtained which document about a person (NIN, NIF or RC)")
    subject.add_argument("identifier")
    add_home(subject)
    subject.add_argument("--json", action="store_true")
    subject.set_defaults(func=lambda args: asyncio.run(_subject(args.home, args.identifier, args.json)))


async def _verify(home: Path) -> int:
    async with opened_store(home) as store:
        chain, head = await store.audit_chain()
    verdict = verify(chain, head)
    if verdict.ok:
        print(f"audit journal intact: {verdict.entries} entries, head {verdict.head}")
        return 0
    print(
        f"audit journal BROKEN at entry {verdict.broken_at}: {verdict.reason} "
        f"({verdict.entries - 1} entries before it verify)"
    )
    return 1


async def _subject(home: Path, identifier: str, as_json: bool) -> int:
    async with opened_store(home) as store:
        entries = await store.audit_by_subject(subject_ref(log_key(home), identifier.strip()))
    rows = access_report(entries)
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{len(rows)} request(s) about this person")
        for r in rows:
            print(
                f"{r['at']}  {r['requester']} ({r['agency']}) asked {r['provider']} for {r['documentType']}, "
                f"purpose {r['purpose']}: {r['status']}"
            )
    return 0
