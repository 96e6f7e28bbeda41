"""A document request's fields, and its XML form (docs/protocol.md, requests).

The fields are those of the JSON form, in camelCase; the XML form carries the same fields as
PascalCase elements of `urn:dz:exchange:v1`, in the order of the schema.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from lxml import etree

NS = "urn:dz:exchange:v1"
#: The order of the request's elements in its XML form, before `Subject`.
ORDER = (
    "requestId",
    "requester",
    "agency",
    "agent",
    "documentType",
    "purpose",
    "caseReference",
    "priority",
    "issuedAt",
    "deadline",
)


def instant(offset_seconds: float = 0.0) -> str:
    """Now (plus an offset), as the protocol writes instants: UTC, to the second."""
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_fields(
    document_type: str = "birth-certificate",
    subject: Mapping[str, str] | None = None,
    purpose: str = "family-allowance",
    **overrides: Any,
) -> dict[str, Any]:
    """A request in its JSON (camelCase) form, with a new request id and the current time;
    `overrides` sets or replaces any field (None removes it), e.g. `agency="CNAS-31-001"`."""
    fields: dict[str, Any] = {
        "requestId": str(uuid.uuid4()),
        "requester": "dz.cnas",
        "agency": "CNAS-16-001",
        "documentType": document_type,
        "purpose": purpose,
        "issuedAt": instant(),
        "subject": dict(subject or {"nin": "109870123456789012"}),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def to_xml(fields: Mapping[str, Any]) -> etree._Element:
    """The `DocumentRequest` element of a request's fields, ready to be signed."""
    root = etree.Element(f"{{{NS}}}DocumentRequest", nsmap={None: NS})
    for key in ORDER:
        if key in fields:
            etree.SubElement(root, f"{{{NS}}}{key[0].upper()}{key[1:]}").text = str(fields[key])
    subject = etree.SubElement(root, f"{{{NS}}}Subject")
    for key, value in fields["subject"].items():
        etree.SubElement(subject, f"{{{NS}}}{key.upper()}").text = value
    return root
