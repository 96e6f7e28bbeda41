"""The one protocol every adapter follows, and what adapters are given to work with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aio_pika.abc

from gateway.signing.jws import JWSSigner
from gateway.signing.trust import TrustStore


@dataclass(frozen=True)
class ProviderQuery:
    """The canonical question put to a provider: one document about one subject."""

    query_id: str
    request_id: str
    document_type: str
    purpose: str
    requester: str
    subject_kind: str
    subject_id: str


@dataclass(frozen=True)
class ProviderAnswer:
    """What a provider's adapter returns: found with data, or not found."""

    provider: str
    found: bool
    data: Mapping[str, Any]
    obtained_at: dt.datetime


@dataclass(frozen=True)
class AdapterContext:
    """Shared means: the broker connection, the gateway's signing identity, the trust anchors."""

    connection: aio_pika.abc.AbstractRobustConnection | None
    signer: JWSSigner
    trust: TrustStore
    gateway_participant: str
    pki_dir: Path  # holds ca.pem and <participant>/cert.pem, key.pem (e.g. for mutual TLS)
    worker: str = "worker"  # this worker's name (its lease owner id), e.g. to name its reply queue
    queue_arguments: Mapping[str, Any] | None = None  # of the queues adapters declare: classic or quorum


class Recoverable(Protocol):
    """An adapter whose answers outlive the worker that asked (a bus partner's reply queue)."""

    async def orphaned_answers(self, worker: str) -> tuple[bool, list[tuple[str, bytes]]]: ...

    def read_orphaned_answer(self, body: bytes, request_id: str) -> ProviderAnswer: ...

    async def settle(self, request_id: str) -> None:
        """The response made from the answer to `request_id` is stored: the answer may go."""
        ...


class Adapter(Protocol):
    provider: str

    async def start(self) -> None: ...

    async def fetch(self, query: ProviderQuery, timeout: float) -> ProviderAnswer:
        """The provider's answer within `timeout` seconds.

        Raises ProviderTimeout, ProviderUnavailable or ProviderError; never returns data it
        could not authenticate.
        """
        ...

    async def close(self) -> None: ...
