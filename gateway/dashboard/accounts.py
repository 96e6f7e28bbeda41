"""Operator accounts: slow salted password hashes (scrypt), signed session cookies, CSRF
tokens, and login throttling. Every login, failed login and logout is journaled."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
NAME = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
SESSION_SECONDS = 8 * 3600
MAX_FAILURES, LOCK_SECONDS = 5, 300


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


class Sessions:
    """Stateless signed sessions: `name.expiry.nonce.mac`; the CSRF token is bound to the session."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, name: str, now: float | None = None) -> str:
        body = f"{name}.{int((now or time.time()) + SESSION_SECONDS)}.{secrets.token_hex(8)}"
        return f"{body}.{self._mac(body)}"

    def operator(self, cookie: str | None, now: float | None = None) -> str | None:
        """The operator a session cookie names, when it is genuine and not expired."""
        if not cookie or cookie.count(".") < 3:
            return None
        body, mac = cookie.rsplit(".", 1)
        name, expiry, _ = body.rsplit(".", 2)
        if not hmac.compare_digest(mac, self._mac(body)) or not expiry.isdigit():
            return None
        return name if int(expiry) > (now or time.time()) else None

    def csrf(self, cookie: str) -> str:
        return self._mac("csrf:" + cookie)[:32]

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(self.csrf(cookie or ""), token or "")


@dataclass
class Throttle:
    """Locks a username (and, apart, an address) after MAX_FAILURES failed logins, for LOCK_SECONDS."""

    failures: dict[str, list[float]] = field(default_factory=dict)

    def locked(self, *keys: str, now: float | None = None) -> bool:
        now = now or time.time()
        return any(len([t for t in self.failures.get(k, []) if now - t < LOCK_SECONDS]) >= MAX_FAILURES for k in keys)

    def failed(self, *keys: str, now: float | None = None) -> None:
        now = now or time.time()
        for k in keys:
            self.failures[k] = [t for t in self.failures.get(k, []) if now - t < LOCK_SECONDS] + [now]

    def succeeded(self, *keys: str) -> None:
        for k in keys:
            self.failures.pop(k, None)
