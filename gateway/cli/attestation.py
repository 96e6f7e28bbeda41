"""`gateway attestation revoke`: withdraws an attestation, found by its id or the check code
printed on it; the status endpoint, the verification page and the printing endpoint then say
`revoked`. Each revocation is journaled with who did it and why."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from gateway.cli.common import add_actor, opened_store
from gateway.ids import check_code, id_prefix
from gateway.protocol import UUID_PATTERN
from gateway.records import AttestationRecord, AuditEntry
from gateway.store import Store

#: Why an attestation is withdrawn, journaled as the entry's outcome: codes, never free text, so that
#: no personal identifier is written in the journal by mistake.
REASONS = ("issued-in-error", "fraud-suspected", "requested-by-provider", "requested-by-holder")


def register(subparsers: Any) -> None:
    attestation = subparsers.add_parser("attestation", help="attestations already issued")
    commands = attestation.add_subparsers(dest="attestation_command", required=True)
    revoke = commands.add_parser(
        "revoke", help="withdraw an attestation: from then on it is shown revoked and is no longer printed"
    )
    revoke.add_argument("attestation", help="its id, or the check code printed on it (XXXX-XXXX-XXXX)")
    revoke.add_argument("--reason", required=True, choices=REASONS, help="why, as journaled")
    add_actor(revoke)
    revoke.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    return asyncio.run(_revoke(args.home, args.attestation.strip(), args.reason, args.by))


async def _revoke(home: Path, given: str, reason: str, by: str) -> int:
    async with opened_store(home) as store:
        found = await _find(store, given)
        if isinstance(found, str):
            print(found, file=sys.stderr)
            return 1
        if found.revoked_at is not None:
            print(f"attestation {found.attestation_id} was already revoked on {found.revoked_at:%Y-%m-%d %H:%M} UTC")
            return 0
        entry = AuditEntry.operator_action(by, "attestation_revoked", reason, subject=found.request_id)
        revoked = await store.revoke(found.attestation_id, dt.datetime.now(dt.UTC), entry)
        assert revoked is not None and revoked.revoked_at is not None
    print(
        f"attestation {revoked.attestation_id} (check code {check_code(revoked.attestation_id)}, "
        f"{revoked.document_type}): revoked on {revoked.revoked_at:%Y-%m-%d %H:%M} UTC, {reason}"
    )
    return 0


async def _find(store: Store, given: str) -> AttestationRecord | str:
    """The attestation `given` names, or why none can be taken."""
    if UUID_PATTERN.match(given.lower()):
        record = await store.find_attestation(given.lower())
        return record if record is not None else f"no attestation has the id {given}"
    prefix = id_prefix(given)
    if prefix is None:
        return f"{given!r} is neither an attestation id nor a check code (XXXX-XXXX-XXXX)"
    found = await store.find_attestations_by_prefix(prefix)
    if not found:
        return f"no attestation has the check code {given}"
    if len(found) > 1:
        return f"more than one attestation has the check code {given}: give the attestation's id"
    return found[0]
