"""Dashboard sessions kept in the store, so that they can be ended.

The cookie holds a random token; the store knows only its SHA-256, with the operator and the
session's times, so the workers of a host (or of a cluster on PostgreSQL) share the sessions.
A session ends at logout, when the operator's password is reset (`gateway operator add`), after
`IDLE_SECONDS` without use, and `LIFETIME_SECONDS` after login whatever its use. The CSRF token
of a session's forms is an HMAC of its token under the worker's session key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from gateway.store import Store

LIFETIME_SECONDS = 8 * 3600
IDLE_SECONDS = 30 * 60
#: How stale `last_seen` may get before a use writes it again (one write a minute at most).
TOUCH_SECONDS = 60
_TOKEN = 43  # the length of a 32-byte token in unpadded base64url


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionBook:
    """Opens, finds and ends the operators' sessions."""

    def __init__(self, store: Store, key: bytes) -> None:
        self._store = store
        self._key = key

    async def open(self, operator: str, now: float | None = None) -> str:
        """A new session for `operator`: the token for its cookie."""
        token = secrets.token_urlsafe(32)
        await self._store.open_session(_hash(token), operator, time.time() if now is None else now)
        return token

    async def operator(self, token: str | None, now: float | None = None) -> str | None:
        """The operator whose session `token` is, while the session lasts; None otherwise."""
        if not token or len(token) != _TOKEN:
            return None
        now = time.time() if now is None else now
        key = _hash(token)
        found = await self._store.find_session(key)
        if found is None:
            return None
        if now - found.created_at > LIFETIME_SECONDS or now - found.last_seen > IDLE_SECONDS:
            await self._store.end_session(key)
            return None
        if now - found.last_seen > TOUCH_SECONDS:
            await self._store.touch_session(key, now)
        return found.operator

    async def close(self, token: str) -> None:
        await self._store.end_session(_hash(token))

    def csrf(self, token: str) -> str:
        return hmac.new(self._key, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:32]

    def csrf_ok(self, token: str | None, given: str | None) -> bool:
        return bool(token and given) and hmac.compare_digest(self.csrf(token or ""), given or "")
