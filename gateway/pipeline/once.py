"""Check 8 and the provider query, once per request id across all workers (docs/protocol.md,
check 8): the remembered response replayed byte for byte, or a lease in the store, the
provider asked through the router, and the answer attested. The transport remembers it,
with the request's audit entry, in one transaction (`Pipeline.remember`); until then, another
copy of the request in this worker waits for it.

A worker that finds another's lease waits for that worker's stored answer; when a redelivered
copy of a message waited so and that worker stored none (it answered with a failure), the copy
gets that worker's answer from the transport. When a redelivered
request finds the expired lease of a worker that stopped mid-query, the answers that worker
left on its reply queue (bus partners) are taken and attested here; otherwise the provider
may already have been asked, so the request is answered `failed` (retryable) instead of
asking again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import structlog

from gateway.adapters.base import ProviderAnswer
from gateway.errors import BrokerLinkDown, DuplicateConflict, InternalError, ProviderTimeout
from gateway.logs import subject_ref
from gateway.metrics import Metrics
from gateway.pipeline.admit import Admitted
from gateway.pipeline.attest import AttestationFacts, Attester
from gateway.pipeline.route import Router
from gateway.pipeline.stopwatch import Stopwatch
from gateway.pipeline.values import AnsweredElsewhere, Outcome
from gateway.protocol import Kind
from gateway.records import Completion, StoredResponse
from gateway.store import Store

log = structlog.get_logger(__name__)
LEASE_MARGIN_SECONDS = 2.0


class AnswerOnce:
    """Answers admitted requests, asking each request id's provider at most once."""

    def __init__(
        self, store: Store, router: Router, attester: Attester, metrics: Metrics, log_key: bytes, owner: str
    ) -> None:
        self.owner = owner
        self.router = router
        self._store = store
        self._attester = attester
        self._metrics = metrics
        self._log_key = log_key
        self._locks: dict[str, asyncio.Lock] = {}
        # answers whose completion the transport is writing: when written, another copy may go on
        self._unwritten: dict[str, tuple[asyncio.Event, str]] = {}

    async def answer(self, admitted: Admitted, redelivered: bool, watch: Stopwatch) -> Outcome:
        """Check 8, then at most one provider query per request id, across workers."""
        request = admitted.request
        watch.enter("duplicates")
        lock = self._locks.setdefault(request.request_id, asyncio.Lock())
        try:
            async with lock:
                unwritten = self._unwritten.get(request.request_id)
                if unwritten is not None:  # an earlier copy's answer, being written: then check 8 finds it
                    await self._wait_written(unwritten[0], admitted)
                outcome = await self._under_lease(admitted, redelivered, watch)
                if outcome.completion is not None:
                    self._unwritten[request.request_id] = (asyncio.Event(), admitted.document_type.provider)
                return outcome
        finally:
            if not lock.locked() and self._locks.get(request.request_id) is lock:
                del self._locks[request.request_id]

    async def written(self, outcome: Outcome) -> None:
        """The transport has written `outcome`'s completion, or given up (its lease released): the
        provider's answer may go, and another copy of the request may go on."""
        unwritten = self._unwritten.pop(outcome.request_id, None) if outcome.completion is not None else None
        if unwritten is not None:
            event, provider = unwritten
            try:
                await asyncio.shield(self.router.settle(provider, outcome.request_id))
            finally:
                event.set()

    @staticmethod
    async def _wait_written(unwritten: asyncio.Event, admitted: Admitted) -> None:
        seconds = (admitted.deadline - dt.datetime.now(dt.UTC)).total_seconds()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, seconds)):
                await unwritten.wait()

    async def _under_lease(self, admitted: Admitted, redelivered: bool, watch: Stopwatch) -> Outcome:
        request = admitted.request
        rid = request.request_id
        seconds = max(0.0, (admitted.deadline - dt.datetime.now(dt.UTC)).total_seconds())
        claimed = await self._store.claim(rid, self.owner, seconds + LEASE_MARGIN_SECONDS)
        pause = 0.02
        waited = False
        while not isinstance(claimed, StoredResponse) and claimed.state == "held":
            # another worker is asking the provider: wait for its answer
            waited = True
            if redelivered and claimed.holder:
                recovered = await self._recover(admitted, claimed.holder)
                if recovered is not None:
                    return recovered
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)
            claimed = await self._store.claim(rid, self.owner, seconds + LEASE_MARGIN_SECONDS)
        if isinstance(claimed, StoredResponse):
            return self.replay(claimed, request.request_id, request.kind, request.digest)
        lease = claimed
        if waited and redelivered and lease.state != "taken_over":
            # The worker that held the lease let it go without a document: it answered this message
            # with a failure (its own copy, delivered before a broker failover). Asking the provider
            # again would give this copy a second, different answer.
            await self._store.release_lease(rid, self.owner)
            raise AnsweredElsewhere(rid)
        try:
            if lease.state == "taken_over" and redelivered and lease.holder:
                watch.enter("recover")
                recovered = await self._recover(admitted, lease.holder)
                if recovered is not None:
                    return recovered
                if self.router.keeps_answers(admitted.document_type.provider):
                    raise ProviderTimeout(
                        f"no answer from {admitted.document_type.provider} in time, to the "
                        "worker that asked it, which has stopped"
                    )
                raise InternalError(
                    "a gateway worker stopped while asking the provider, which may have been "
                    "asked; send the request again to ask anew"
                )
            return await self._fetch_and_attest(admitted, watch)
        except BaseException:
            await asyncio.shield(self._store.release_lease(rid, self.owner))
            raise

    async def _recover(self, admitted: Admitted, holder: str) -> Outcome | None:
        """The answer a stopped worker left for this request, attested here; None while that worker
        lives or, once it is known stopped, when no answer comes before the deadline."""
        request, doc_type = admitted.request, admitted.document_type
        while dt.datetime.now(dt.UTC) < admitted.deadline:
            stored = await self._store.find_response(request.request_id)
            if stored is not None:  # the other worker finished after all
                return self.replay(stored, request.request_id, request.kind, request.digest)
            body = await self._store.take_orphan_answer(request.request_id)
            if body is not None:
                answer = self.router.read_orphaned_answer(doc_type.provider, body, request.request_id)
                log.info("answer_recovered", provider=doc_type.provider, from_worker=holder)
                completion = self._attest(admitted, answer).completion
                assert completion is not None
                await self._store.complete(completion.response, completion.attestation, completion.owner)
                stored = await self._store.find_response(request.request_id)  # whoever recorded first wins
                assert stored is not None
                return self.replay(stored, request.request_id, request.kind, request.digest)
            try:
                alive, found = await self.router.orphaned_answers(doc_type.provider, holder)
            except BrokerLinkDown:  # the link is being made again: ask again in a moment
                log.info("orphan_check_deferred", provider=doc_type.provider, from_worker=holder)
                await asyncio.sleep(0.2)
                continue
            if alive:
                return None
            if found:
                await self._store.keep_orphan_answers(found)
                continue
            await asyncio.sleep(0.2)
        return None

    def replay(self, stored: StoredResponse, request_id: str, kind: Kind, digest: str) -> Outcome:
        """The remembered response `stored`, sent again to a request whose signed content has `digest`;
        DuplicateConflict when it answered other content under the same id."""
        if stored.digest != digest:
            raise DuplicateConflict(f"request id {request_id} was used before for other content")
        self._metrics.replays.inc()
        return Outcome(
            stored.body,
            kind,
            stored.status,
            stored.problem,
            request_id,
            stored.response_id,
            stored.http_status,
            stored.document_type,
            replayed=True,
        )

    async def _fetch_and_attest(self, admitted: Admitted, watch: Stopwatch) -> Outcome:
        request, doc_type = admitted.request, admitted.document_type
        watch.enter("route")
        log.info(
            "provider_query",
            provider=doc_type.provider,
            document_type=doc_type.name,
            subject=subject_ref(self._log_key, request.subject_id),
            purpose=request.purpose,
        )
        answer, seconds = await self.router.fetch(admitted)
        self._metrics.provider_latency.labels(doc_type.provider).observe(seconds)
        watch.enter("attest")
        try:
            return self._attest(admitted, answer)
        except BaseException:
            await asyncio.shield(self.router.settle(doc_type.provider, request.request_id))
            raise

    def _attest(self, admitted: Admitted, answer: ProviderAnswer) -> Outcome:
        """The sealed answer, with the completion the transport writes along with its audit entry."""
        request, doc_type = admitted.request, admitted.document_type
        facts = AttestationFacts(
            request.request_id,
            doc_type.name,
            doc_type.provider,
            request.requester,
            request.purpose,
            request.subject_kind,
            request.subject_id,
            doc_type.validity_days,
        )
        sealed = self._attester.answer(request.kind, facts, answer, doc_type.purposes[request.purpose])
        stored = StoredResponse(
            request_id=request.request_id,
            response_id=sealed.response_id,
            digest=request.digest,
            body=sealed.body,
            kind=request.kind,
            status=sealed.status,
            problem=None,
            http_status=200,
            document_type=doc_type.name,
        )
        return Outcome(
            sealed.body,
            request.kind,
            sealed.status,
            None,
            request.request_id,
            sealed.response_id,
            200,
            doc_type.name,
            completion=Completion(stored, sealed.attestation, self.owner),
        )
