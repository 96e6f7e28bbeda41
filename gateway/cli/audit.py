"""`gateway audit verify` (the journal's hash chain, held to its sealed checkpoints) and
`gateway audit subject` (the citizen access report: who obtained which document about a person)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.request
from pathlib import Path
from typing import Any

from gateway import config as config_module
from gateway.audit import checkpoints
from gateway.audit.access import access_report
from gateway.audit.journal import verify
from gateway.cli.common import add_home, opened_store
from gateway.logs import subject_ref
from gateway.runtime.local_secrets import log_key
from gateway.signing.trust import TrustStore


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="the audit journal")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    check = commands.add_parser(
        "verify",
        help="check the hash chain and hold it to the sealed checkpoints; names what was altered or removed",
    )
    add_home(check)
    check.add_argument(
        "--checkpoints",
        action="append",
        metavar="FILE|URL",
        help="an auditor's copy of the checkpoints (a file of one per line, or GET /v1/audit/checkpoints); "
        "may be repeated. Default: HOME/checkpoints/",
    )
    check.set_defaults(func=lambda args: asyncio.run(_verify(args.home, args.checkpoints or [])))
    subject = commands.add_parser("subject", help="who obtained which document about a person (NIN, NIF or RC)")
    subject.add_argument("identifier")
    add_home(subject)
    subject.add_argument("--json", action="store_true")
    subject.set_defaults(func=lambda args: asyncio.run(_subject(args.home, args.identifier, args.json)))


async def _verify(home: Path, sources: list[str]) -> int:
    config = config_module.load()
    async with opened_store(home) as store:
        chain, head = await store.audit_chain()
    verdict = verify(chain, head)
    tokens = (
        [t for source in sources for t in checkpoints.tokens_from_text(_fetch(source))]
        if sources
        else (checkpoints.all_tokens(home))
    )
    trust = TrustStore.from_pem_file(home / "pki" / "ca.pem", home / "pki" / "crl")
    holding, findings = checkpoints.check(chain, tokens, trust, config.settings.participant)
    if not tokens and chain and not sources:
        oldest = chain[0].entry.at
        if dt.datetime.now(dt.UTC) - oldest > dt.timedelta(seconds=2 * config.settings.checkpoint_seconds + 60):
            findings.append(
                checkpoints.Finding(
                    f"{home / checkpoints.FOLDER}",
                    f"no checkpoint, though the journal's first entry dates from "
                    f"{oldest:%Y-%m-%d %H:%M:%S} UTC: its checkpoints were removed",
                )
            )
    if verdict.ok:
        print(f"audit journal intact: {verdict.entries} entries, head {verdict.head}")
    else:
        print(
            f"audit journal BROKEN at entry {verdict.broken_at}: {verdict.reason} "
            f"({verdict.entries - 1} entries before it verify)"
        )
    print(f"checkpoints: {holding} of {len(tokens)} hold")
    for finding in findings:
        print(f"checkpoint BROKEN: {finding}")
    return 0 if verdict.ok and not findings else 1


def _fetch(source: str) -> str:
    """The text of an auditor's copy of the checkpoints: a file, or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as response:
            return str(response.read().decode("ascii", errors="replace"))
    return Path(source).read_text("ascii", errors="replace")


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
