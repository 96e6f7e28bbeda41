"""Operator credentials and sessions: slow salted hashes, signed expiring sessions, CSRF, throttling."""

from __future__ import annotations

import time

from gateway.dashboard.accounts import MAX_FAILURES, SESSION_SECONDS, Sessions, Throttle, check_password, hash_password


def test_passwords_are_salted_scrypt_hashes() -> None:
    """The same password hashes differently twice, checks true, and a wrong one checks false."""
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("scrypt$") and first != second and "correct" not in first
    assert check_password("correct horse battery", first)
    assert not check_password("correct horse batterz", first)
    assert not check_password("anything", None)


def test_a_session_names_its_operator_until_it_expires() -> None:
    """A session cookie names the operator; a forged or expired one names nobody."""
    sessions = Sessions(b"k" * 32)
    cookie = sessions.issue("amina")
    assert sessions.operator(cookie) == "amina"
    assert sessions.operator(cookie.replace("amina", "admin", 1)) is None
    assert Sessions(b"x" * 32).operator(cookie) is None
    assert sessions.operator(cookie, now=time.time() + SESSION_SECONDS + 1) is None


def test_csrf_token_is_bound_to_the_session() -> None:
    """The CSRF token of one session is refused with another session."""
    sessions = Sessions(b"k" * 32)
    one, two = sessions.issue("amina"), sessions.issue("amina")
    assert sessions.csrf_ok(one, sessions.csrf(one))
    assert not sessions.csrf_ok(two, sessions.csrf(one)) and not sessions.csrf_ok(one, None)


def test_throttle_locks_after_repeated_failures() -> None:
    """After MAX_FAILURES failures a key is locked; a success clears it."""
    throttle = Throttle()
    for _ in range(MAX_FAILURES):
        assert not throttle.locked("user:amina")
        throttle.failed("user:amina")
    assert throttle.locked("user:amina") and not throttle.locked("user:other")
    throttle.succeeded("user:amina")
    assert not throttle.locked("user:amina")
