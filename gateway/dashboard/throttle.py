"""Login throttling that guessing cannot get around, and cannot turn against the real operator.

Every attempt is counted **before** the password is checked: `LoginGuard.reserve` runs before
the first `await` of a login, so guesses sent together are counted together, and at most the
allowed number of them ever reach the password hash. A correct password then takes its own
attempt back (`succeeded`); a wrong one leaves it counted.

Three budgets, each over a sliding window:

- an **account from one address** (`pair`): a few failures, then that address waits before it
  may try that account again;
- an **address** (`address`), whatever the accounts it tries: guessing across accounts;
- an **account** from addresses it was never used from (`account`): guessing from many
  addresses. Addresses that the operator logged in from before (kept for `KNOWN_DAYS`) are not
  held back by this budget, so a flood of guesses from elsewhere does not lock the real
  operator out.

A budget that runs out holds its key back for a while that doubles each time it runs out
again (`first_lock`, up to `max_lock`), and forgets it after a quiet window. Memory is bounded:
each table keeps at most `max_keys` keys, dropping the least recently used.

The counts are each worker process's own.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

KNOWN_DAYS = 30


@dataclass(frozen=True)
class Budget:
    """`failures` allowed within `window` seconds; then a lock of `first_lock` seconds, doubling
    at each lock that follows within the window of the previous one, up to `max_lock`."""

    failures: int
    window: float
    first_lock: float = 60.0
    max_lock: float = 3600.0


PAIR = Budget(failures=5, window=900)
ADDRESS = Budget(failures=20, window=900)
ACCOUNT = Budget(failures=50, window=900)


@dataclass
class _Count:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    locks: int = 0
    last: float = 0.0
    refusals: int = 0  # attempts refused during the current lock


class _Table:
    """Counts by key, at most `max_keys` of them."""

    def __init__(self, budget: Budget, max_keys: int) -> None:
        self.budget = budget
        self._max_keys = max_keys
        self._counts: OrderedDict[str, _Count] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counts)

    def wait(self, key: str, now: float) -> float:
        """Seconds `key` must still wait (0 when it may try)."""
        count = self._counts.get(key)
        return max(0.0, count.locked_until - now) if count is not None else 0.0

    def refused(self, key: str) -> bool:
        """Counts a refusal of `key` while it waits; True for the first of its current lock."""
        count = self._counts[key]
        count.refusals += 1
        return count.refusals == 1

    def add_failure(self, key: str, now: float) -> None:
        count = self._counts.pop(key, None) or _Count()
        self._counts[key] = count  # most recently used last
        budget = self.budget
        count.failures = [t for t in count.failures if now - t < budget.window]
        count.failures.append(now)
        if count.locks and now > count.locked_until + budget.window:
            count.locks = 0  # a whole window without a lock: the backoff starts again
        count.last = now
        if len(count.failures) >= budget.failures:
            count.locks += 1
            lock = min(budget.max_lock, budget.first_lock * 2 ** (count.locks - 1))
            count.locked_until = max(count.locked_until, now + lock)
            count.refusals = 0
            count.failures.clear()
        while len(self._counts) > self._max_keys:
            self._counts.popitem(last=False)

    def take_back(self, key: str) -> None:
        """Forgets the last failure counted for `key` (the attempt it was reserved for succeeded)."""
        count = self._counts.get(key)
        if count is not None and count.failures:
            count.failures.pop()

    def forget(self, key: str) -> None:
        self._counts.pop(key, None)

    def expire(self, now: float) -> None:
        """Drops the keys that are neither locked nor seen within their window."""
        for key in [k for k, c in self._counts.items() if c.locked_until <= now and now - c.last > self.budget.window]:
            del self._counts[key]


@dataclass(frozen=True)
class Attempt:
    """A login attempt, counted already: the keys it was counted under."""

    account: str
    address: str
    keys: tuple[tuple[str, str], ...]  # (table name, key)


class Refused(Exception):
    """Too many failures: this attempt must wait `retry_after` seconds. `first` is True for the
    first attempt refused by this lock (the one worth journaling; the others only repeat it)."""

    def __init__(self, retry_after: float, first: bool) -> None:
        super().__init__(f"try again in {retry_after:.0f} s")
        self.retry_after = max(1, int(retry_after + 0.999))
        self.first = first


class LoginGuard:
    """Counts login attempts by account and address; see the module's docstring."""

    def __init__(
        self, *, pair: Budget = PAIR, address: Budget = ADDRESS, account: Budget = ACCOUNT, max_keys: int = 10_000
    ) -> None:
        self._tables = {
            "pair": _Table(pair, max_keys),
            "address": _Table(address, max_keys),
            "account": _Table(account, max_keys),
        }
        self._known: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._max_keys = max_keys
        self._last_expiry = 0.0

    def size(self) -> int:
        """How many keys the guard holds in all, known addresses included (bounded)."""
        return sum(len(t) for t in self._tables.values()) + len(self._known)

    def reserve(self, account: str, address: str, now: float | None = None) -> Attempt:
        """Counts an attempt now, or raises Refused when one of its budgets is spent."""
        now = time.time() if now is None else now
        self._expire(now)
        keys = [("pair", f"{account}\n{address}"), ("address", address)]
        if not self._is_known(account, address, now):
            keys.append(("account", account))
        waits = [(self._tables[table].wait(key, now), table, key) for table, key in keys]
        wait, table, key = max(waits)
        if wait > 0:
            raise Refused(wait, self._tables[table].refused(key))
        for table, key in keys:
            self._tables[table].add_failure(key, now)
        return Attempt(account, address, tuple(keys))

    def release(self, attempt: Attempt) -> None:
        """The attempt was not tried after all (no password was checked): it no longer counts."""
        for table, key in attempt.keys:
            self._tables[table].take_back(key)

    def succeeded(self, attempt: Attempt, now: float | None = None) -> None:
        """The password was right: the attempt is taken back, the pair forgotten, the address known."""
        now = time.time() if now is None else now
        self.release(attempt)
        self._tables["pair"].forget(f"{attempt.account}\n{attempt.address}")
        self._known.pop((attempt.account, attempt.address), None)
        self._known[(attempt.account, attempt.address)] = now
        while len(self._known) > self._max_keys:
            self._known.popitem(last=False)

    def _is_known(self, account: str, address: str, now: float) -> bool:
        seen = self._known.get((account, address))
        return seen is not None and now - seen < KNOWN_DAYS * 86400

    def _expire(self, now: float) -> None:
        if now - self._last_expiry < 60:
            return
        self._last_expiry = now
        for table in self._tables.values():
            table.expire(now)


#: Check codes that find no attestation, from one address, on the public verification page.
CHECK_CODES = Budget(failures=30, window=900)


class GuessGuard:
    """Holds back an address that keeps trying codes that find nothing (the verification page's check
    codes): each miss counts, and a budget that runs out locks the address as a login budget does."""

    def __init__(self, budget: Budget = CHECK_CODES, max_keys: int = 100_000) -> None:
        self._table = _Table(budget, max_keys)

    def wait(self, address: str, now: float | None = None) -> float:
        """Seconds `address` must still wait (0 when it may try)."""
        return self._table.wait(address, time.monotonic() if now is None else now)

    def missed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._table.expire(now)
        self._table.add_failure(address, now)
