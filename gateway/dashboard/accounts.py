"""Operator accounts: names, and slow salted password hashes (scrypt), computed off the event
loop with bounded concurrency so that a burst of logins never stalls a worker."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
NAME = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
#: A password longer than this is refused before it is hashed.
MAX_PASSWORD_BYTES = 1024


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash`, salt and hash in base64."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=2**26)
    return "$".join(
        [
            "scrypt",
            str(SCRYPT_N),
            str(SCRYPT_R),
            str(SCRYPT_P),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


def check_password(password: str, stored: str | None) -> bool:
    """Constant-time check; an unknown account costs the same work as a known one."""
    if stored is None:
        stored = _DUMMY
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), maxmem=2**26
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest)) and stored is not _DUMMY


_DUMMY = hash_password(secrets.token_hex(16))


class Busy(Exception):
    """More password checks are waiting than the worker takes: try again shortly."""


class PasswordChecks:
    """Checks passwords on threads (scrypt releases the interpreter's lock), `at_once` at a time,
    with at most `waiting` more queued; beyond that a check is refused at once (Busy)."""

    def __init__(self, at_once: int = 2, waiting: int = 16) -> None:
        self._slots = asyncio.Semaphore(at_once)
        self._capacity = at_once + waiting
        self._pending = 0

    async def check(self, password: str, stored: str | None) -> bool:
        if self._pending >= self._capacity:
            raise Busy("too many logins at once")
        self._pending += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(check_password, password, stored)
        finally:
            self._pending -= 1
