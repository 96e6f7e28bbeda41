"""The request explorer's query on the audit journal, the same on both back ends: entries
that match every filter given, newest first, a page at a time (by journal sequence number,
so that a page does not shift while new entries arrive)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

#: Filters on a column, compared for equality.
EXACT = ("requester", "agency", "agent", "document_type", "purpose", "provider", "status", "problem", "transport")
PAGE = 50


@dataclass(frozen=True)
class AuditQuery:
    """What the explorer asks: each field given must match; `before` is the sequence number the
    page starts under (None: the newest)."""

    requester: str | None = None
    agency: str | None = None
    agent: str | None = None
    document_type: str | None = None
    purpose: str | None = None
    provider: str | None = None
    status: str | None = None
    problem: str | None = None
    transport: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    before: int | None = None
    limit: int = PAGE

    def given(self) -> dict[str, Any]:
        """The filters set, by name (not the paging)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("before", "limit") and getattr(self, f.name) not in (None, "")
        }


def where(
    query: AuditQuery, placeholder: Callable[[int], str], time: Callable[[dt.datetime], Any]
) -> tuple[str, list[Any]]:
    """The WHERE clause of `query` and its parameters; `placeholder(n)` names the n-th parameter
    (`?` or `$n`), `time` converts an instant to the back end's column value."""
    conditions: list[str] = []
    values: list[Any] = []

    def add(condition: str, value: Any) -> None:
        values.append(value)
        conditions.append(condition.format(placeholder(len(values))))

    for name in EXACT:
        value = getattr(query, name)
        if value:
            add(f"{name} = {{}}", value)
    if query.since is not None:
        add("at >= {}", time(query.since))
    if query.until is not None:
        add("at < {}", time(query.until))
    if query.before is not None:
        add("seq < {}", query.before)
    return (" WHERE " + " AND ".join(conditions)) if conditions else "", values
