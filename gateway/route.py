"""Stage 5, route: the provider's adapter, within the request's deadline."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Mapping

from gateway.adapters.base import Adapter, ProviderQuery
from gateway.admit import Admitted
from gateway.errors import DeadlineExceeded, ProviderTimeout, ProviderUnavailable
from gateway.model import ProviderAnswer


class Router:
    def __init__(self, adapters: Mapping[str, Adapter]) -> None:
        self._adapters = adapters

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
        query = ProviderQuery(
            str(uuid.uuid4()), request.request_id, doc_type.name, request.purpose, request.requester,
            request.subject_kind, request.subject_id,
        )
        started = time.perf_counter()
        try:
            answer = await adapter.fetch(query, timeout)
        except ProviderTimeout:
            if left <= doc_type.sla_seconds:
                raise DeadlineExceeded(f"no answer from {doc_type.provider} before the request's deadline") from None
            raise
        return answer, time.perf_counter() - started
