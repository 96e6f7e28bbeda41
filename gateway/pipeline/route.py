"""Stage 5, route: the provider's adapter, within the request's deadline.

Every adapter is put behind `Resilient` (a circuit breaker and retries of transient
failures, tuned per provider by its options in providers.toml).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from types import MappingProxyType

from gateway.adapters.base import Adapter, ProviderAnswer, ProviderQuery, Recoverable
from gateway.adapters.resilience import Policy, Resilient
from gateway.config import Provider
from gateway.errors import DeadlineExceeded, ProviderTimeout, ProviderUnavailable
from gateway.ids import random_uuid
from gateway.pipeline.admit import Admitted


class Router:
    """Asks the provider of an admitted request, through its resilient adapter."""

    def __init__(self, adapters: Mapping[str, Adapter], providers: Mapping[str, Provider] | None = None) -> None:
        """`providers` (the configuration's) tunes each adapter's breaker and retries; defaults otherwise."""
        self._adapters: dict[str, Resilient] = {}
        for code, adapter in adapters.items():
            if isinstance(adapter, Resilient):
                self._adapters[code] = adapter
                continue
            provider = (providers or {}).get(code)
            policy = Policy.from_options(provider.options, code) if provider is not None else Policy()
            self._adapters[code] = Resilient(adapter, policy)

    def add(self, code: str, adapter: Adapter, provider: Provider) -> None:
        """Routes to a provider added while the worker runs."""
        self._adapters[code] = Resilient(adapter, Policy.from_options(provider.options, code))

    @property
    def adapters(self) -> Mapping[str, Resilient]:
        """The resilient adapters, by provider code."""
        return MappingProxyType(self._adapters)

    def breaker_states(self) -> dict[str, str]:
        """Each provider's circuit breaker: `closed`, `open` or `half-open`."""
        return {code: adapter.state for code, adapter in sorted(self._adapters.items())}

    def keeps_answers(self, provider: str) -> bool:
        """Whether answers to `provider`'s queries outlive the worker that asked (a bus partner)."""
        adapter = self._adapters.get(provider)
        return adapter is not None and hasattr(adapter.adapter, "orphaned_answers")

    async def orphaned_answers(self, provider: str, worker: str) -> tuple[bool, list[tuple[str, bytes]]]:
        """Whether `worker` is alive, and the answers it left, when `provider`'s adapter keeps them."""
        if not self.keeps_answers(provider):
            return True, []  # no way to know: treat the worker as alive, and wait for its lease
        recoverable: Recoverable = self._adapters[provider].adapter  # type: ignore[assignment]
        return await recoverable.orphaned_answers(worker)

    async def settle(self, provider: str, request_id: str) -> None:
        """Tells `provider`'s adapter that the answer for `request_id` is no longer needed."""
        adapter = self._adapters.get(provider)
        if adapter is not None and hasattr(adapter.adapter, "settle"):
            recoverable: Recoverable = adapter.adapter  # type: ignore[assignment]
            await recoverable.settle(request_id)

    def read_orphaned_answer(self, provider: str, body: bytes, request_id: str) -> ProviderAnswer:
        recoverable: Recoverable = self._adapters[provider].adapter  # type: ignore[assignment]
        return recoverable.read_orphaned_answer(body, request_id)

    async def fetch(self, admitted: Admitted) -> tuple[ProviderAnswer, float]:
        """The provider's answer and the seconds it took."""
        doc_type, request = admitted.document_type, admitted.request
        adapter = self._adapters.get(doc_type.provider)
        if adapter is None:
            raise ProviderUnavailable(f"no adapter is configured for {doc_type.provider}")
        left = (admitted.deadline - dt.datetime.now(dt.UTC)).total_seconds()
        if left <= 0:
            raise DeadlineExceeded("the request's deadline had passed before the provider was asked")
        timeout = min(left, doc_type.sla_seconds)
        # Without a Deadline of its own, a request's deadline is the SLA: a provider that
        # misses it is late (provider_timeout), not the requester's deadline.
        deadline_bound = request.deadline is not None and left <= doc_type.sla_seconds
        query = ProviderQuery(
            random_uuid(),
            request.request_id,
            doc_type.name,
            request.purpose,
            request.requester,
            request.subject_kind,
            request.subject_id,
        )
        started = time.perf_counter()
        try:
            answer = await adapter.fetch(query, timeout, deadline_bound=deadline_bound)
        except ProviderTimeout:
            if deadline_bound:
                raise DeadlineExceeded(f"no answer from {doc_type.provider} before the request's deadline") from None
            raise
        return answer, time.perf_counter() - started
