"""JSON from outside with a nesting limit: deep nesting is `malformed`, never a crash, and
brackets inside strings do not count."""

from __future__ import annotations

import base64
import json

import pytest

from gateway.errors import Malformed
from gateway.signing import jws, safe_json
from gateway.transports.lanes import peek_priority


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_documents_as_deep_as_the_limit_are_read_and_deeper_ones_refused() -> None:
    """MAX_DEPTH levels parse; one more is malformed; 50,000 levels are malformed, not a RecursionError."""
    assert safe_json.loads(b"[" * safe_json.MAX_DEPTH + b"]" * safe_json.MAX_DEPTH) is not None
    for deep in (safe_json.MAX_DEPTH + 1, 50_000):
        with pytest.raises(Malformed):
            safe_json.loads(b"[" * deep + b"]" * deep)


def test_brackets_inside_strings_are_not_nesting() -> None:
    """A string full of brackets is one level deep, and its document is read."""
    text = json.dumps({"note": "[{" * 1000}).encode()
    assert safe_json.depth(text) == 1 and safe_json.loads(text) == {"note": "[{" * 1000}


def test_a_jws_nested_too_deep_in_its_header_or_payload_is_malformed() -> None:
    """Both parts of a compact JWS go through the limit."""
    deep = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    for token in (f"{_b64(deep)}.{_b64(b'{}')}.x", f"{_b64(b'{}')}.{_b64(deep)}.x"):
        with pytest.raises(Malformed):
            jws.parse(token.encode())


def test_the_lane_of_a_deeply_nested_jws_is_the_normal_one() -> None:
    """Peeking at the priority of a request nested 50,000 deep does not raise."""
    deep = b"[" * 50_000 + b"]" * 50_000
    assert peek_priority(f"{_b64(b'{}')}.{_b64(deep)}.x".encode(), "application/jose") == "normal"
