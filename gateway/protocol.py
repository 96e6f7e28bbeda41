"""The constants of the exchange protocol (docs/protocol.md), in one place.

Names, patterns and codes that the requests, the responses and both transports share: the
XML namespace, the media types, the JWS `typ`, the identifier kinds, the response statuses,
the transports that the journal names, the reasons a message goes to `gateway.dead`, the
priority lanes, and the text form of an instant. Nothing here imports from the gateway.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Literal

#: The exchange's XML namespace, version 1.
NS = "urn:dz:exchange:v1"
#: `{urn:dz:exchange:v1}`, the prefix of every exchange element's tag in lxml.
NS_TAG = f"{{{NS}}}"

XML = "application/xml"
JOSE = "application/jose"
#: The encoding of a request or response: XML with a signature inside, or a compact JWS.
Kind = Literal["xml", "jose"]

#: The `typ` header of every JWS of the exchange (requests, responses, partner messages).
JWS_TYP = "dz-exchange+json"

#: A request id, an attestation id or a response id: a UUID in its usual lowercase text form.
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

#: Subject identifier kinds (NIN, NIF, RC) and their JSON keys.
SUBJECT_KEYS = {"NIN": "nin", "NIF": "nif", "RC": "rc"}
SUBJECT_KINDS = tuple(SUBJECT_KEYS)
#: What a well-formed identifier of each kind looks like, by JSON key.
SUBJECT_PATTERNS = {
    "nin": re.compile(r"^[0-9]{18}$"),
    "nif": re.compile(r"^[0-9]{15}$"),
    "rc": re.compile(r"^[0-9]{2}/[0-9]{2}-[0-9]{7}[A-Z][0-9]{2}$"),
}

#: How instants are written in requests, responses and reports: UTC, to the second.
INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class Status(StrEnum):
    """The status of a response."""

    ISSUED = "issued"
    NOT_FOUND = "not-found"
    REFUSED = "refused"
    FAILED = "failed"


#: The statuses in the order the dashboard and the reports show them.
STATUSES = tuple(Status)


class Transport(StrEnum):
    """Where an audit entry came from: a request on the bus or over HTTP, an operator's action,
    or a citizen portal's report request."""

    AMQP = "amqp"
    HTTP = "http"
    OPERATOR = "operator"
    CITIZEN_PORTAL = "citizen-portal"


class DeadReason(StrEnum):
    """The `x-dead-reason` of a message on `gateway.dead`: why no response could be addressed."""

    REPLY_TO_MISSING = "reply_to_missing"
    REPLY_TO_UNROUTABLE = "reply_to_unroutable"
    POISON_MESSAGE = "poison_message"


class Priority(StrEnum):
    """The lane a request asks for, most urgent first."""

    URGENT = "urgent"
    NORMAL = "normal"
    BULK = "bulk"


def instant(value: dt.datetime) -> str:
    """An aware datetime as the protocol writes it (`2026-11-29T10:00:00Z`)."""
    return value.astimezone(dt.UTC).strftime(INSTANT_FORMAT)


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 instant with its zone, as an aware datetime in UTC; ValueError otherwise, also for an
    instant that leaves the calendar once in UTC (`9999-12-31T23:59:59-14:00`)."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("instant without a zone")
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"{text} is outside the calendar in UTC") from None
