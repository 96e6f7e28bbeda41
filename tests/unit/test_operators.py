"""Operator credentials: slow salted hashes checked off the event loop within bounds, and the
login guard that counts every attempt before its password is checked."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.dashboard.accounts import Busy, PasswordChecks, check_password, hash_password
from gateway.dashboard.throttle import Budget, LoginGuard, Refused


def test_passwords_are_salted_scrypt_hashes() -> None:
    """The same password hashes differently twice, checks true, and a wrong one checks false."""
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("scrypt$") and first != second and "correct" not in first
    assert check_password("correct horse battery", first)
    assert not check_password("correct horse batterz", first)
    assert not check_password("anything", None)


async def test_password_checks_beyond_their_bound_are_refused_at_once() -> None:
    """With one check at a time and one waiting, a third at once is Busy; the two others are answered."""
    checks = PasswordChecks(at_once=1, waiting=1)
    stored = hash_password("une phrase de passe longue")
    first = asyncio.create_task(checks.check("une phrase de passe longue", stored))
    second = asyncio.create_task(checks.check("wrong", stored))
    await asyncio.sleep(0)
    with pytest.raises(Busy):
        await checks.check("une phrase de passe longue", stored)
    assert await first is True and await second is False


def test_guesses_are_counted_before_their_password_is_checked() -> None:
    """Five reservations for one account from one address, with nothing awaited between them: the sixth is refused."""
    guard = LoginGuard()
    for _ in range(5):
        guard.reserve("amina", "192.0.2.1", now=1000.0)
    with pytest.raises(Refused) as refused:
        guard.reserve("amina", "192.0.2.1", now=1000.0)
    assert refused.value.retry_after == 60 and refused.value.first
    with pytest.raises(Refused) as again:
        guard.reserve("amina", "192.0.2.1", now=1001.0)
    assert not again.value.first  # only the first refusal of a lock is worth journaling


def test_a_right_password_takes_its_attempt_back() -> None:
    """A success clears the pair's count: four failures and a success leave five more tries."""
    guard = LoginGuard()
    for _ in range(4):
        guard.reserve("amina", "192.0.2.1", now=1000.0)
    guard.succeeded(guard.reserve("amina", "192.0.2.1", now=1000.0), now=1000.0)
    for _ in range(5):
        guard.reserve("amina", "192.0.2.1", now=1001.0)


def test_the_wait_doubles_at_each_lock_and_starts_again_after_a_quiet_window() -> None:
    """60 s, then 120 s after the next five failures; after a quiet window, 60 s again."""
    budget = Budget(failures=2, window=100)
    guard = LoginGuard(pair=budget, address=Budget(1000, 100), account=Budget(1000, 100))
    waits = []
    for start in (0.0, 100.0, 500.0):  # 100: right after the first lock; 500: long after the second
        guard.reserve("amina", "192.0.2.1", now=start)
        guard.reserve("amina", "192.0.2.1", now=start)
        with pytest.raises(Refused) as refused:
            guard.reserve("amina", "192.0.2.1", now=start)
        waits.append(refused.value.retry_after)
    assert waits == [60, 120, 60]


def test_guesses_from_elsewhere_do_not_lock_out_an_address_the_operator_used() -> None:
    """Fifty failures for one account from fifty addresses hold back new addresses, not a known one."""
    guard = LoginGuard()
    guard.succeeded(guard.reserve("amina", "192.0.2.1", now=0.0), now=0.0)
    for i in range(50):
        guard.reserve("amina", f"198.51.100.{i}", now=10.0)
    with pytest.raises(Refused):
        guard.reserve("amina", "203.0.113.9", now=11.0)
    guard.reserve("amina", "192.0.2.1", now=11.0)  # the operator's own address still may try


def test_the_guards_memory_is_bounded() -> None:
    """A hundred thousand addresses and names leave at most max_keys keys per table."""
    guard = LoginGuard(max_keys=1000)
    for i in range(100_000):
        guard.reserve(f"user{i}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", now=float(i))
    assert guard.size() <= 3000


async def test_password_checks_leave_the_event_loop_free() -> None:
    """While eight checks run, a timer on the event loop is never late by as much as one hash takes."""
    stored = hash_password("une phrase de passe longue")
    started = time.perf_counter()
    check_password("une phrase de passe longue", stored)
    one_hash = time.perf_counter() - started
    checks = PasswordChecks()
    running = asyncio.gather(*(checks.check("une phrase de passe longue", stored) for _ in range(8)))
    late = 0.0
    while not running.done():
        before = time.perf_counter()
        await asyncio.sleep(0.005)
        late = max(late, time.perf_counter() - before - 0.005)
    assert all(await running)
    assert late < one_hash / 2, f"the loop was held {late * 1000:.0f} ms; one hash takes {one_hash * 1000:.0f} ms"
