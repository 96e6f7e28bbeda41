"""Dashboard sessions kept in the store, on both back ends: they end at logout, at a password
reset, after a while unused and after their lifetime; the CSRF token is bound to one session."""

from __future__ import annotations

from gateway.dashboard.sessions import IDLE_SECONDS, LIFETIME_SECONDS, SessionBook
from gateway.store import Store

KEY = b"k" * 32


async def test_a_session_names_its_operator_until_logout(store: Store) -> None:
    """An open session names its operator; once closed, its token names nobody, nor does a made-up one."""
    book = SessionBook(store, KEY)
    token = await book.open("amina", now=1000.0)
    assert await book.operator(token, now=1001.0) == "amina"
    await book.close(token)
    assert await book.operator(token, now=1002.0) is None
    assert await book.operator("x" * len(token), now=1002.0) is None and await book.operator(None) is None


async def test_a_password_reset_ends_every_session_of_the_operator(store: Store) -> None:
    """put_operator (a new password) ends the operator's two sessions, not another operator's."""
    book = SessionBook(store, KEY)
    await store.put_operator("amina", "scrypt$old")
    one, two = await book.open("amina", now=1000.0), await book.open("amina", now=1000.0)
    other = await book.open("karim", now=1000.0)
    await store.put_operator("amina", "scrypt$new")
    assert await book.operator(one, now=1001.0) is None and await book.operator(two, now=1001.0) is None
    assert await book.operator(other, now=1001.0) == "karim"


async def test_a_session_ends_when_idle_or_too_old(store: Store) -> None:
    """Unused for longer than the idle timeout it ends; used all along, it ends at its lifetime."""
    book = SessionBook(store, KEY)
    idle = await book.open("amina", now=0.0)
    assert await book.operator(idle, now=IDLE_SECONDS + 1) is None
    busy = await book.open("amina", now=0.0)
    moment = 0.0
    while moment + IDLE_SECONDS / 2 < LIFETIME_SECONDS:
        moment += IDLE_SECONDS / 2
        assert await book.operator(busy, now=moment) == "amina"
    assert await book.operator(busy, now=LIFETIME_SECONDS + 1) is None


async def test_the_csrf_token_belongs_to_one_session(store: Store) -> None:
    """The CSRF token of one session is refused with another session, and with none."""
    book = SessionBook(store, KEY)
    one, two = await book.open("amina"), await book.open("amina")
    assert book.csrf_ok(one, book.csrf(one))
    assert not book.csrf_ok(two, book.csrf(one)) and not book.csrf_ok(one, None) and not book.csrf_ok(None, "x")
