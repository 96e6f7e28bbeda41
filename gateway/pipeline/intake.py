"""Stage 1, intake: size, content type, safe parse (docs/protocol.md, check 1).

Nothing here trusts the body. XML is parsed with entities, DTDs and the network off
(`gateway.signing.safe_xml`), and a document that declares a DTD or holds entity references
is refused outright.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from gateway.errors import Malformed, TooLarge, UnsupportedMediaType
from gateway.protocol import JOSE, XML, Kind
from gateway.signing import jws
from gateway.signing.safe_xml import parse_xml

_KINDS: dict[str, Kind] = {XML: "xml", JOSE: "jose"}


@dataclass(frozen=True)
class Envelope:
    """A body that passed check 1: its kind and its parsed form."""

    kind: Kind
    body: bytes
    xml: etree._Element | None = None
    jws: jws.CompactJWS | None = None


def media_kind(content_type: str | None) -> Kind:
    """`xml` or `jose` for a supported Content-Type (parameters ignored)."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    kind = _KINDS.get(base)
    if kind is None:
        raise UnsupportedMediaType(f"content type {base or '(none)'!r} is not supported; use {XML} or {JOSE}")
    return kind


def reply_kind(content_type: str | None) -> Kind:
    """The encoding of the answer: the request's, or XML when its type is not supported."""
    try:
        return media_kind(content_type)
    except UnsupportedMediaType:
        return "xml"


def accept(body: bytes, content_type: str | None, max_bytes: int) -> Envelope:
    """Check 1: size, then content type, then form."""
    if len(body) > max_bytes:
        raise TooLarge(f"body of {len(body)} bytes exceeds {max_bytes}")
    kind = media_kind(content_type)
    if not body.strip():
        raise Malformed("empty body")
    if kind == "xml":
        return Envelope(kind, body, xml=parse_xml(body))
    return Envelope(kind, body, jws=jws.parse(body))
