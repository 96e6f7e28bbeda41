"""Random identifiers (UUID version 4) for responses, attestations and provider queries.

`uuid.uuid4()` asks the kernel for 16 random bytes and builds a UUID object at each call;
three per request showed as 2 % of a loaded worker. Here the same source (`os.urandom`)
is drawn 4 kB at a time, and the text is written directly. A process started by fork draws
its own bytes, never its parent's.
"""

from __future__ import annotations

import os
import threading

_BATCH = 4096
_lock = threading.Lock()
_pool = b""
_at = 0
_pid = 0


def random_uuid() -> str:
    """A new random UUID (version 4, RFC 9562 variant) in its usual lowercase text form."""
    global _pool, _at, _pid
    with _lock:
        if _at + 16 > len(_pool) or _pid != os.getpid():
            _pool, _at, _pid = os.urandom(_BATCH), 0, os.getpid()
        raw = bytearray(_pool[_at:_at + 16])
        _at += 16
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # variant 10xx
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
