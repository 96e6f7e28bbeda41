"""Verifying the audit journal: `gateway audit verify` walks the hash chain that the store
keeps (`gateway.store.chain`) and names the first entry that does not follow.

The store appends under a lock (one writer at a time across workers) and keeps the head
(count and last hash) beside the entries, so that cutting entries off the end is found too.
Someone able to rewrite the whole database could rebuild a consistent chain, head included:
the sealed checkpoints kept outside the database (`checkpoints`) are what find that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.store.chain import GENESIS, ChainedEntry, chain_hash


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    head: str
    broken_at: int | None = None
    reason: str = ""


def verify(chain: Iterable[ChainedEntry], head: tuple[int, str] | None) -> Verdict:
    """Walks the chain in order; the first entry that does not follow is named."""
    expected, count, last_seq = GENESIS, 0, 0
    for item in chain:
        count += 1
        if item.prev_hash != expected:
            return Verdict(
                False,
                count,
                expected,
                item.seq,
                "does not follow the entry before it: an entry was deleted or reordered",
            )
        if chain_hash(item.prev_hash, item.entry) != item.entry_hash:
            return Verdict(False, count, expected, item.seq, "its content was altered")
        expected, last_seq = item.entry_hash, item.seq
    if head is not None and head != (count, expected):
        return Verdict(
            False,
            count,
            expected,
            last_seq + 1,
            f"the journal should hold {head[0]} entries ending in {head[1][:16]}…: entries were removed from its end",
        )
    return Verdict(True, count, expected)
