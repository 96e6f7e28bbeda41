"""Stage 4, admit: freshness, catalogue, access policy and quota (docs/protocol.md §5, checks 5 to 7).

Duplicates (check 8) need the store and in-flight work, so the pipeline runs that check
right after this stage, through `gateway.duplicates`.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass

from gateway.config import Config, DocumentType, Quota
from gateway.errors import (
    AccessDenied,
    PurposeNotAllowed,
    RateLimited,
    SchemaInvalid,
    StaleRequest,
    UnknownDocumentType,
)
from gateway.pipeline.values import Request


@dataclass
class _Bucket:
    tokens: float
    updated: float


class QuotaBook:
    """A token bucket per requester (per worker process)."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def take(self, requester: str, quota: Quota, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(requester)
        if bucket is None:
            bucket = self._buckets[requester] = _Bucket(float(quota.burst), now)
        bucket.tokens = min(float(quota.burst), bucket.tokens + (now - bucket.updated) * quota.per_second)
        bucket.updated = now
        if bucket.tokens < 1.0:
            wait = (1.0 - bucket.tokens) / quota.per_second if quota.per_second > 0 else 60.0
            raise RateLimited(
                f"quota of {quota.per_second:g}/s (burst {quota.burst}) exceeded for {requester}",
                retry_after=max(1, math.ceil(wait)),
            )
        bucket.tokens -= 1.0


@dataclass(frozen=True)
class Admitted:
    request: Request
    document_type: DocumentType
    deadline: dt.datetime  # the request's own deadline, or issued-at-arrival + the type's SLA


class Admission:
    """Checks 5 to 7 against the configuration."""

    def __init__(self, config: Config, quotas: QuotaBook | None = None) -> None:
        self._config = config
        self._quotas = quotas or QuotaBook()

    def use(self, config: Config) -> None:
        """Checks against `config` from now on; quotas already taken are kept."""
        self._config = config

    def admit(self, request: Request, now: dt.datetime | None = None) -> Admitted:
        now = now or dt.datetime.now(dt.UTC)
        window = self._config.settings.freshness_seconds
        skew = (request.issued_at - now).total_seconds()
        if abs(skew) > window:
            direction = "in the future" if skew > 0 else "old"
            raise StaleRequest(f"IssuedAt is {abs(skew):.0f} s {direction}; at most {window} s allowed")
        doc_type = self._config.catalogue.get(request.document_type)
        if doc_type is None:
            raise UnknownDocumentType(f"document type {request.document_type!r} is not in the catalogue")
        if doc_type.subject != request.subject_kind:  # the type's schema already pins this
            raise SchemaInvalid(f"{doc_type.name} is requested by {doc_type.subject}, not {request.subject_kind}")
        requester = self._config.requesters.get(request.requester)
        if requester is None or doc_type.name not in requester.document_types:
            raise AccessDenied(f"{request.requester} may not request {doc_type.name}")
        if request.purpose not in doc_type.purposes or request.purpose not in requester.purposes:
            raise PurposeNotAllowed(
                f"purpose {request.purpose!r} does not allow {doc_type.name} for {request.requester}"
            )
        self._quotas.take(requester.code, requester.quota)
        deadline = request.deadline or now + dt.timedelta(seconds=doc_type.sla_seconds)
        return Admitted(request, doc_type, deadline)
