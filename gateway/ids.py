"""Random identifiers: UUIDs (version 4) for responses, attestations and provider queries,
and short hex names (a seal's `Id`).

`uuid.uuid4()` asks the kernel for 16 random bytes and builds a UUID object at each call;
three per request showed as 2 % of a loaded worker, and `secrets.token_hex` is one more
system call per seal. Here the same source (`os.urandom`) is drawn 4 kB at a time, and the
text is written directly. A process started by fork draws its own bytes, never its
parent's: the pool is emptied in the child (`os.register_at_fork`).
"""

from __future__ import annotations

import os
import threading

_BATCH = 4096
_lock = threading.Lock()
_pool = b""
_at = 0


def _forget_pool() -> None:
    """In a forked child: none of the parent's bytes, and a fresh lock (another thread of the
    parent may have held it at the fork)."""
    global _pool, _at, _lock
    _pool, _at, _lock = b"", 0, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _draw(n: int) -> bytearray:
    global _pool, _at
    with _lock:
        if _at + n > len(_pool):
            _pool, _at = os.urandom(max(_BATCH, n)), 0
        raw = bytearray(_pool[_at : _at + n])
        _at += n
    return raw


def random_uuid() -> str:
    """A new random UUID (version 4, RFC 9562 variant) in its usual lowercase text form."""
    raw = _draw(16)
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # variant 10xx
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_hex(nbytes: int) -> str:
    """`nbytes` random bytes as lowercase hex (as `secrets.token_hex`, from the same pool)."""
    return _draw(nbytes).hex()


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # base 32 without I, L, O, U: read aloud and typed without doubt


def check_code(attestation_id: str) -> str:
    """The short code printed on an attestation for a person to type: the first 60 bits of its
    id (56 of them random) in Crockford's base 32, as `XXXX-XXXX-XXXX`."""
    bits = int(attestation_id.replace("-", "")[:15], 16)
    chars = "".join(CROCKFORD[(bits >> shift) & 31] for shift in range(55, -1, -5))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def id_prefix(code: str) -> str | None:
    """The beginning of the attestation id (`xxxxxxxx-xxxx-xxx`) a check code stands for; None when
    `code` is not one (dashes, spaces and case aside; O read as 0, I and L as 1)."""
    text = code.upper().replace("-", "").replace(" ", "").translate(str.maketrans("OIL", "011"))
    if len(text) != 12 or any(c not in CROCKFORD for c in text):
        return None
    bits = 0
    for c in text:
        bits = bits << 5 | CROCKFORD.index(c)
    h = f"{bits:015x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:]}"
