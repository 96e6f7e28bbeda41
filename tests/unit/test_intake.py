"""Intake (check 1): size, content type and safe parsing, before anything trusts the body."""

from __future__ import annotations

import pytest

from gateway.errors import GatewayError
from gateway.pipeline import intake

LIMIT = 256 * 1024


def code(body: bytes, content_type: str | None = "application/xml") -> str:
    try:
        return intake.accept(body, content_type, LIMIT).kind
    except GatewayError as exc:
        return exc.code


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("well-formed", b"<r/>", "xml"),
        ("external entity", b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', "malformed"),
        ("billion laughs", b'<!DOCTYPE l [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]><l>&b;</l>', "malformed"),
        ("any DTD", b"<!DOCTYPE r><r/>", "malformed"),
        ("external DTD", b'<!DOCTYPE r SYSTEM "http://example.org/r.dtd"><r/>', "malformed"),
        ("undeclared entity", b"<r>&x;</r>", "malformed"),
        ("deep nesting", b"<a>" * 300 + b"</a>" * 300, "malformed"),
        ("junk", b"\x00\x01\x02", "malformed"),
        ("empty", b"", "malformed"),
        ("whitespace only", b"   \n", "malformed"),
        ("two roots", b"<a/><b/>", "malformed"),
    ],
)
def test_xml_bodies(name: str, body: bytes, expected: str) -> None:
    """Each hostile or broken XML body is malformed; a plain document passes."""
    assert code(body) == expected, name


def test_size_is_checked_before_anything_else() -> None:
    """A body one byte over the limit is too_large, whatever its content type."""
    assert code(b"<r>" + b" " * LIMIT + b"</r>", "text/plain") == "too_large"


@pytest.mark.parametrize("content_type", [None, "", "text/xml", "application/json", "multipart/form-data"])
def test_other_content_types_are_unsupported(content_type: str | None) -> None:
    """Only application/xml and application/jose are accepted."""
    assert code(b"<r/>", content_type) == "unsupported_media_type"


def test_content_type_parameters_are_ignored() -> None:
    """`application/xml; charset=utf-8` is application/xml."""
    assert code(b"<r/>", "application/xml; charset=utf-8") == "xml"


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("two parts", b"abc.def"),
        ("not base64 JSON", b"!!!.###.$$$"),
        ("header not an object", b"WzFd.e30.c2ln"),
        ("non-ASCII", "é.é.é".encode()),
    ],
)
def test_broken_jws_is_malformed(name: str, body: bytes) -> None:
    """A JOSE body that is not three base64url JSON objects is malformed."""
    assert code(body, "application/jose") == "malformed", name


def test_reply_kind_follows_the_request() -> None:
    """Answers use the request's encoding, XML when the content type is not supported."""
    assert intake.reply_kind("application/jose") == "jose"
    assert intake.reply_kind("text/plain") == "xml"
