"""Resilience around an adapter: a circuit breaker per provider, and retries with backoff.

`Resilient` wraps any adapter and follows the same protocol. Each call to the provider is
one attempt; the breaker counts consecutive failed attempts:

- **closed**: attempts go through. After `breaker_failures` consecutive failures it opens.
- **open**: no attempt is made; `fetch` raises `provider_unavailable` at once, with a
  `retry_after` of the seconds left, for `breaker_open_seconds`.
- **half-open**: then one probe attempt goes through (others are refused as while open).
  Its success closes the breaker, its failure opens it again for another period.

Transient failures (`provider_unavailable`: nothing listening, connection refused; and
`TransientProviderError`: HTTP 502/503/504 or a connection cut mid-answer) are retried with
exponential backoff and jitter, never beyond the time the caller gave. Other errors
(a malformed or wrongly signed answer, a timeout) are not retried.

A timeout counts against the provider only when the provider's own SLA was the binding
limit, so requesters who set very short deadlines cannot open the breaker for everyone.

Options, per provider in providers.toml (defaults in `Policy`): `breaker_failures`,
`breaker_open_seconds`, `retries`, `retry_backoff_seconds`, `retry_backoff_max_seconds`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import structlog

from gateway.adapters.base import Adapter, ProviderAnswer, ProviderQuery
from gateway.config import ConfigError
from gateway.errors import BrokerLinkDown, GatewayError, ProviderTimeout, ProviderUnavailable, TransientProviderError

log = structlog.get_logger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
#: A retry is only worth making with at least this much time left after the pause.
MIN_ATTEMPT_SECONDS = 0.05

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


#: The failures that `Resilient` retries.
TRANSIENT: tuple[type[GatewayError], ...] = (ProviderUnavailable, TransientProviderError)


@dataclass(frozen=True)
class Policy:
    """How hard to try one provider, and when to stop trying for a while."""

    breaker_failures: int = 5
    breaker_open_seconds: float = 30.0
    retries: int = 2
    retry_backoff_seconds: float = 0.05
    retry_backoff_max_seconds: float = 1.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any], provider: str = "") -> Policy:
        """The policy set by a provider's options; the other options are the adapter's."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in options:
                continue
            raw = options[f.name]
            kind = int if f.type in (int, "int") else float
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
                raise ConfigError(f"providers.toml: {provider}.{f.name} must be a number ≥ 0, not {raw!r}")
            values[f.name] = kind(raw)
        policy = cls(**values)
        if policy.breaker_failures < 1:
            raise ConfigError(f"providers.toml: {provider}.breaker_failures must be at least 1")
        return policy

    def backoff(self, retry: int) -> float:
        """The pause before retry number `retry` (0 for the first): exponential, with jitter."""
        ceiling = min(self.retry_backoff_max_seconds, self.retry_backoff_seconds * 2.0**retry)
        return ceiling * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Ticket:
    """Permission for one attempt; a probe is the one attempt allowed while half-open."""

    probe: bool


class CircuitBreaker:
    """Closed, open or half-open, from the outcomes of consecutive attempts."""

    def __init__(self, failures: int, open_seconds: float, clock: Clock = time.monotonic, name: str = "") -> None:
        self._threshold = failures
        self._open_seconds = open_seconds
        self._clock = clock
        self._name = name
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> str:
        """`closed`, `open` or `half-open`, as of now."""
        if self._state == OPEN and self._clock() - self._opened_at >= self._open_seconds:
            return HALF_OPEN
        return self._state

    def seconds_left_open(self) -> float:
        """How long until the breaker lets a probe through (0 unless open)."""
        if self.state != OPEN:
            return 0.0
        return max(0.0, self._opened_at + self._open_seconds - self._clock())

    def acquire(self) -> Ticket | None:
        """A ticket for one attempt, or None when no attempt may be made now."""
        state = self.state
        if state == CLOSED:
            return Ticket(probe=False)
        if state == HALF_OPEN and not self._probing:
            if self._state != HALF_OPEN:
                self._state = HALF_OPEN
                log.info("breaker_half_open", provider=self._name)
            self._probing = True
            return Ticket(probe=True)
        return None

    def success(self, ticket: Ticket) -> None:
        """The attempt got an answer from the provider (found or not found)."""
        if ticket.probe:
            self._probing = False
            self._state = CLOSED
            log.info("breaker_closed", provider=self._name)
        if self._state == CLOSED:
            self._failures = 0

    def failure(self, ticket: Ticket) -> None:
        """The attempt failed because of the provider."""
        if ticket.probe:
            self._probing = False
            self._open()
        elif self._state == CLOSED:
            self._failures += 1
            if self._failures >= self._threshold:
                self._open()

    def release(self, ticket: Ticket) -> None:
        """The attempt ended without a verdict on the provider (cancelled, or cut by the caller's deadline)."""
        if ticket.probe:
            self._probing = False

    def _open(self) -> None:
        self._state = OPEN
        self._opened_at = self._clock()
        self._failures = 0
        log.warning("breaker_opened", provider=self._name, open_seconds=self._open_seconds)


class Resilient:
    """An adapter behind a circuit breaker, with retries of transient failures."""

    def __init__(
        self,
        adapter: Adapter,
        policy: Policy | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.adapter = adapter
        self.provider = adapter.provider
        self.policy = policy or Policy()
        self.breaker = CircuitBreaker(
            self.policy.breaker_failures, self.policy.breaker_open_seconds, clock, self.provider
        )
        self._clock = clock
        self._sleep = sleep

    @property
    def state(self) -> str:
        """The breaker's state: `closed`, `open` or `half-open` (for the dashboard)."""
        return self.breaker.state

    async def start(self) -> None:
        await self.adapter.start()

    async def close(self) -> None:
        await self.adapter.close()

    async def fetch(self, query: ProviderQuery, timeout: float, *, deadline_bound: bool = False) -> ProviderAnswer:
        """The provider's answer within `timeout` seconds, retrying transient failures.

        `deadline_bound` says the requester's own deadline, not the provider's SLA, set
        `timeout`; a timeout then says nothing about the provider's health.
        """
        until = self._clock() + timeout
        last: GatewayError | None = None
        for retry in range(self.policy.retries + 1):
            ticket = self.breaker.acquire()
            if ticket is None:
                if last is not None:
                    raise last
                wait = self.breaker.seconds_left_open()
                raise ProviderUnavailable(
                    f"{self.provider} failed repeatedly; not asked again for {wait:.0f} s",
                    retry_after=max(1, math.ceil(wait)),
                )
            left = until - self._clock()
            if left <= 0:
                self.breaker.release(ticket)
                raise ProviderTimeout(f"{self.provider}: no time left to ask")
            try:
                answer = await self.adapter.fetch(query, left)
            except ProviderTimeout:
                (self.breaker.release if deadline_bound else self.breaker.failure)(ticket)
                raise
            except GatewayError as exc:
                # The gateway's own broker link being down is no verdict on the provider.
                (self.breaker.release if isinstance(exc, BrokerLinkDown) else self.breaker.failure)(ticket)
                if not isinstance(exc, TRANSIENT) or retry >= self.policy.retries:
                    raise
                pause = self.policy.backoff(retry)
                if until - self._clock() - pause < MIN_ATTEMPT_SECONDS:
                    raise
                log.info("provider_retry", provider=self.provider, problem=exc.code, pause_ms=round(pause * 1000))
                last = exc
                await self._sleep(pause)
                continue
            except BaseException:
                self.breaker.release(ticket)  # cancelled, or a bug in the adapter: no verdict
                raise
            self.breaker.success(ticket)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover
