"""Stage 1, intake: size, content type, safe parse (PROTOCOL §4, check 1).

Nothing here trusts the body. XML is parsed with entities, DTDs and the network off, and
a document that declares a DTD or holds entity references is refused outright.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lxml import etree

from gateway.errors import Malformed, TooLarge, UnsupportedMediaType
from gateway.signing import jws

XML = "application/xml"
JOSE = "application/jose"
Kind = Literal["xml", "jose"]
_KINDS: dict[str, Kind] = {XML: "xml", JOSE: "jose"}

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=False
)


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


def parse_xml(body: bytes) -> etree._Element:
    """A safely parsed XML document, or `malformed`."""
    try:
        doc = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise Malformed(f"XML is not well-formed: {exc}") from None
    tree = doc.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None:
        raise Malformed("XML with a DTD is refused")
    for node in doc.iter(etree.Entity):  # an undeclared entity reference survives parsing
        raise Malformed(f"XML entity reference {node.text!r} is refused")
    if doc.tag is etree.Comment or doc.tag is etree.PI:
        raise Malformed("XML has no root element")
    return doc


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
