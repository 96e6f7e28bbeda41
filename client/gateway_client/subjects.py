"""The identifier a request is about, and its kind: NIN (18 digits), NIF (15 digits) or RC
(`16/00-1234567B22`)."""

from __future__ import annotations

import re

from gateway_client.errors import InvalidRequest

PATTERNS = {
    "nin": re.compile(r"[0-9]{18}"),
    "nif": re.compile(r"[0-9]{15}"),
    "rc": re.compile(r"[0-9]{2}/[0-9]{2}-[0-9]{7}[A-Z][0-9]{2}"),
}


def subject_of(identifier: str) -> dict[str, str]:
    """`{"nin": ...}`, `{"nif": ...}` or `{"rc": ...}`, told apart by the identifier's shape."""
    value = identifier.strip()
    for kind, pattern in PATTERNS.items():
        if pattern.fullmatch(value):
            return {kind: value}
    raise InvalidRequest(
        f"{identifier!r} is not a NIN (18 digits), a NIF (15 digits) or an RC number (like 16/00-1234567B22)"
    )
