"""Canonical XML (C14N 1.0, inclusive, without comments) written directly as text.

The gateway writes its responses and their seals in canonical form from the start: the
digest of a document is then the hash of the text itself, and nothing is parsed or
canonicalized again to seal it. Only what C14N says about text is needed here, since the
writer controls every element, attribute and namespace declaration:

- text: `&`, `<`, `>` and carriage return escaped;
- attribute values: `&`, `<`, `"`, tab, line feed and carriage return escaped;
- namespace declarations first on an element, the default one first, then by prefix;
  attributes after them, by name; empty elements as a start and an end tag.

tests/unit/test_canonical_response.py holds this text to lxml's canonicaliser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Characters XML 1.0 does not allow at all (a provider's data must never carry them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTRIBUTE = str.maketrans({"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"})


def _checked(value: str) -> str:
    if _NOT_XML.search(value):
        raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters")
    return value


def text(value: str) -> str:
    """Character data as C14N writes it."""
    return _checked(value).translate(_TEXT)


def attribute(value: str) -> str:
    """An attribute value as C14N writes it (without its quotes)."""
    return _checked(value).translate(_ATTRIBUTE)


def namespace_declarations(namespaces: Mapping[str | None, str]) -> str:
    """In-scope namespaces (prefix, or None for the default one) as C14N renders them on an apex element."""
    ordered = sorted(namespaces.items(), key=lambda item: item[0] or "")
    return " ".join(
        f'xmlns="{attribute(uri)}"' if prefix is None else f'xmlns:{prefix}="{attribute(uri)}"'
        for prefix, uri in ordered
    )
