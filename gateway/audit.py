"""The audit journal: append-only and hash-chained, so that any altered, deleted or
reordered entry is found by `gateway audit verify`.

Each entry's hash covers the previous entry's hash and the entry's own fields, in a
canonical form. The store appends under a lock (one writer at a time across workers) and
keeps the head (count and last hash) beside the entries, so that cutting entries off the
end is found too. Someone able to rewrite the whole database could rebuild a consistent
chain: export the head regularly (`gateway audit verify` prints it) to anchor it outside.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.store import AuditEntry

GENESIS = "0" * 64
_FIELDS = tuple(f.name for f in dataclasses.fields(AuditEntry))


def canonical(entry: AuditEntry) -> bytes:
    """The bytes an entry's hash covers: every field, in a fixed order, times in UTC."""
    fields = {name: getattr(entry, name) for name in _FIELDS}  # every field is a scalar: no deep copy needed
    fields["at"] = entry.at.astimezone(dt.UTC).isoformat()
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous: str, entry: AuditEntry) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + canonical(entry)).hexdigest()


@dataclass(frozen=True)
class ChainedEntry:
    seq: int
    entry: AuditEntry
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    head: str
    broken_at: int | None = None
    reason: str = ""


def access_report(entries: Iterable[AuditEntry]) -> list[dict[str, str | None]]:
    """The citizen access report: the document requests about one subject, oldest first
    (the journal's own entries about serving such reports are left out)."""
    return [{"at": e.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "requestId": e.request_id,
             "requester": e.requester, "agency": e.agency, "documentType": e.document_type, "purpose": e.purpose,
             "provider": e.provider, "status": e.status}
            for e in entries if e.transport in ("amqp", "http")]


def verify(chain: Iterable[ChainedEntry], head: tuple[int, str] | None) -> Verdict:
    """Walks the chain in order; the first entry that does not follow is named."""
    expected, count, last_seq = GENESIS, 0, 0
    for item in chain:
        count += 1
        if item.prev_hash != expected:
            return Verdict(False, count, expected, item.seq,
                           "does not follow the entry before it: an entry was deleted or reordered")
        if chain_hash(item.prev_hash, item.entry) != item.entry_hash:
            return Verdict(False, count, expected, item.seq, "its content was altered")
        expected, last_seq = item.entry_hash, item.seq
    if head is not None and head != (count, expected):
        return Verdict(False, count, expected, last_seq + 1,
                       f"the journal should hold {head[0]} entries ending in {head[1][:16]}…: "
                       "entries were removed from its end")
    return Verdict(True, count, expected)
