"""Parsing JSON from outside with a nesting limit.

Python's JSON parser recurses once per level of nesting and raises RecursionError on a deep
enough document (50,000 levels of `[`), which would escape as an internal error. No document
of the exchange nests more than a few levels, so anything deeper than `MAX_DEPTH` is refused
as `malformed` before it is parsed. The depth is only measured when the text holds more
brackets than that, which a request never does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gateway.errors import Malformed

MAX_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")


def depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in `data` (strings skipped)."""
    deepest = level = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", data)):
        if match.group() in (b"[", b"{"):
            level += 1
            deepest = max(deepest, level)
        else:
            level -= 1
    return deepest


def loads(data: bytes | str) -> Any:
    """The JSON value of `data`; `malformed` when it is not JSON or nests deeper than MAX_DEPTH."""
    raw = data.encode() if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and depth(raw) > MAX_DEPTH:
        raise Malformed(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Malformed(f"not JSON: {exc}") from None
