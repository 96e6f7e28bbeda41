"""The audit journal's hash chain, as both store back ends write it.

Each entry's hash covers the previous entry's hash and the entry's own fields in a
canonical form: `sha256(previous_hash + "\\n" + canonical(entry))`, in hex, starting from
GENESIS. The PostgreSQL store computes the same hash server-side, over the canonical bytes
computed here; `gateway.audit.journal` walks the chain to verify it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from gateway.records import AUDIT_COLUMNS, AuditEntry

GENESIS = "0" * 64


def canonical(entry: AuditEntry) -> bytes:
    """The bytes an entry's hash covers: every field, in a fixed order, times in UTC."""
    fields = {name: getattr(entry, name) for name in AUDIT_COLUMNS}  # every field is a scalar: no deep copy needed
    fields["at"] = entry.at.astimezone(dt.UTC).isoformat()
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous: str, entry: AuditEntry) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + canonical(entry)).hexdigest()


@dataclass(frozen=True)
class ChainedEntry:
    """An entry as the journal holds it: its place, the hash before it and its own."""

    seq: int
    entry: AuditEntry
    prev_hash: str
    entry_hash: str
