"""The pipeline: intake → verify → validate → admit → answer once (duplicates → route → attest).

`Pipeline.handle` takes a body as either transport received it and returns an `Outcome`:
the sealed response, what the transport needs to deliver it, and the audit entry the
transport records (`Pipeline.remember`) before it answers. Every failure becomes a sealed refusal or
failure; nothing escapes as an exception. Check 8 and the provider query, once per request
id across workers, are `once.AnswerOnce`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import replace

import structlog

from gateway.adapters.base import Adapter
from gateway.config import Config
from gateway.errors import DuplicateConflict, GatewayError, InternalError, Malformed
from gateway.kpi import within_sla
from gateway.logs import mask_identifiers, subject_ref
from gateway.metrics import Metrics
from gateway.pipeline.admit import Admission
from gateway.pipeline.attest import Attester
from gateway.pipeline.intake import Envelope, accept, reply_kind
from gateway.pipeline.once import AnswerOnce
from gateway.pipeline.route import Router
from gateway.pipeline.stopwatch import Stopwatch
from gateway.pipeline.validate import validate
from gateway.pipeline.values import AnsweredElsewhere, Outcome, Request, SignedContent
from gateway.pipeline.verify import RequestVerifier
from gateway.protocol import NS_TAG, UUID_PATTERN, Kind, Transport
from gateway.records import AuditEntry, Delivery, Journey, StoredResponse, unverified
from gateway.schemas import Schemas
from gateway.signing.trust import TrustStore
from gateway.store import Store

log = structlog.get_logger(__name__)


def worker_id() -> str:
    """This process's name in leases: host, pid and a random part (a restart is another worker)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Pipeline:
    def __init__(
        self,
        config: Config,
        trust: TrustStore,
        store: Store,
        adapters: Mapping[str, Adapter],
        attester: Attester,
        metrics: Metrics,
        log_key: bytes,
        schemas: Schemas | None = None,
        admission: Admission | None = None,
        owner: str | None = None,
    ) -> None:
        self.config = config
        self.owner = owner or worker_id()
        self._verifier = RequestVerifier(trust)
        self._schemas = schemas or Schemas(config.catalogue)
        self._admission = admission or Admission(config)
        self.router = Router(adapters, config.providers)
        self._once = AnswerOnce(store, self.router, attester, metrics, log_key, self.owner)
        self._store = store
        self._attester = attester
        self._metrics = metrics
        self._log_key = log_key

    def use(self, config: Config, schemas: Schemas | None = None) -> None:
        """Checks and admits requests against `config` (and `schemas`, for a changed catalogue) from now on."""
        self.config = config
        self._admission.use(config)
        if schemas is not None:
            self._schemas = schemas

    async def handle(
        self,
        body: bytes,
        content_type: str | None,
        *,
        message_id: str | None = None,
        transport: Transport = Transport.AMQP,
        redelivered: bool = False,
    ) -> Outcome:
        watch = Stopwatch()
        kind: Kind = reply_kind(content_type)
        request_id = message_id or ""
        request: Request | None = None
        signed: SignedContent | None = None
        structlog.contextvars.bind_contextvars(request_id=request_id or None, transport=transport)
        try:
            watch.enter("intake")
            envelope = accept(body, content_type, self.config.settings.max_body_bytes)
            request_id = request_id or _claimed_id(envelope)
            if request_id:  # the id it claims, before it is verified: so that every line about it carries it
                structlog.contextvars.bind_contextvars(request_id=request_id)
            watch.enter("verify")
            signed = self._verifier.verify(envelope)
            watch.enter("validate")
            request = validate(signed, self._schemas)
            request_id = request.request_id
            structlog.contextvars.bind_contextvars(request_id=request_id)
            if message_id is not None and message_id.lower() != request.request_id:
                raise Malformed(f"message_id {message_id!r} differs from RequestId {request.request_id!r}")
            watch.enter("admit")
            admitted = self._admission.admit(request)
            outcome = await self._once.answer(admitted, redelivered, watch)
        except GatewayError as error:
            watch.enter("seal")
            outcome = self._refuse(kind, request_id, error, request)
        except AnsweredElsewhere:
            structlog.contextvars.unbind_contextvars("request_id", "transport")
            raise
        except Exception:  # a bug must still produce a sealed answer
            log.exception("pipeline_crashed")
            watch.enter("seal")
            outcome = self._refuse(kind, request_id, InternalError("unexpected error in the gateway"), request)
        stages = watch.stop()
        elapsed = watch.elapsed
        doc_type = self.config.catalogue.get(outcome.document_type or "")
        sla_seconds = doc_type.sla_seconds if doc_type else None
        outcome = self._with_audit(
            outcome,
            body,
            request,
            transport,
            Journey(
                stages,
                round(elapsed * 1000, 3),
                within_sla(outcome.status, elapsed * 1000, sla_seconds),
                outcome.detail,
            ),
            verified=signed is not None,
            signer=signed.signer.participant if signed is not None else None,
        )
        self._metrics.observe(transport, outcome.document_type, outcome.status, outcome.problem, elapsed, sla_seconds)
        log.info(
            "request_answered",
            status=outcome.status,
            problem=outcome.problem,
            detail=outcome.detail,
            response_id=outcome.response_id,
            document_type=outcome.document_type,
            replayed=outcome.replayed,
            ms=round(elapsed * 1000, 2),
        )
        structlog.contextvars.unbind_contextvars("request_id", "transport")
        return outcome

    async def remember(self, outcome: Outcome, delivery: Delivery | None = None) -> Outcome:
        """Writes what the transport must keep before it answers, in one transaction: the audit entry,
        the journey and KPI counts, the bus `delivery`, and the response to remember with its lease's
        release. Returns what the transport sends: `outcome`, or the response another worker
        remembered first for the request id. When the write fails, the lease is released too (the
        request can then be asked anew) and the error raised."""
        assert outcome.audit is not None
        try:
            earlier = await self._store.record(outcome.audit, delivery, outcome.journey, outcome.completion)
            return outcome if earlier is None else await self._came_second(outcome, earlier, delivery)
        except BaseException:
            if outcome.completion is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._store.release_lease(outcome.request_id, outcome.completion.owner))
            raise
        finally:
            await self._once.written(outcome)

    async def _came_second(self, outcome: Outcome, earlier: StoredResponse, delivery: Delivery | None) -> Outcome:
        """The response another worker remembered first for this request id, sent in place of the
        one this worker made (a lease taken over while this worker was still at work): one request
        id is never answered with two different documents. When that response was for other
        content under the same id, `duplicate_conflict` instead, journaled, and recorded as the
        answer to the bus `delivery` (a redelivery of the message gets it again)."""
        log.warning(
            "answered_first_elsewhere",
            request_id=outcome.request_id,
            first=earlier.response_id,
            dropped=outcome.response_id,
        )
        assert outcome.completion is not None and outcome.audit is not None
        try:
            sent = self._once.replay(earlier, outcome.request_id, outcome.kind, outcome.completion.response.digest)
        except DuplicateConflict as error:
            return await self._refuse_conflict(outcome, error, delivery)
        return replace(sent, audit=outcome.audit, journey=outcome.journey)

    async def _refuse_conflict(self, outcome: Outcome, error: DuplicateConflict, delivery: Delivery | None) -> Outcome:
        """`duplicate_conflict` in place of `outcome`, journaled after it, and recorded as the answer to
        the bus `delivery`."""
        assert outcome.audit is not None
        refused = self.failure(outcome, error)
        entry = replace(
            outcome.audit,
            at=dt.datetime.now(dt.UTC),
            status=refused.status,
            problem=refused.problem,
            response_sha256=hashlib.sha256(refused.body).hexdigest(),
        )
        answered = None
        if delivery is not None:
            answered = replace(
                delivery, response_id=refused.response_id, body=refused.body, status=refused.status, problem=error.code
            )
        await self._store.record(entry, answered)
        return replace(refused, audit=entry)

    def refuse_unread(
        self, content_type: str | None, error: GatewayError, transport: str, seen: bytes = b""
    ) -> Outcome:
        """A sealed refusal for a body the transport would not read in full (too large), with its
        audit entry; `seen` is what was read before giving up."""
        watch = Stopwatch()
        watch.enter("seal")
        outcome = self._refuse(reply_kind(content_type), "", error, None)
        stages = watch.stop()
        self._metrics.observe(transport, None, outcome.status, outcome.problem, watch.elapsed)
        return self._with_audit(
            outcome, seen, None, transport, Journey(stages, watch.elapsed * 1000, None, outcome.detail), verified=False
        )

    def failure(self, outcome: Outcome, error: GatewayError) -> Outcome:
        """A sealed failure in place of `outcome`, for a transport that cannot deliver it as it is."""
        return self._refuse(outcome.kind, outcome.request_id, error, None)

    def _refuse(self, kind: Kind, request_id: str, error: GatewayError, request: Request | None) -> Outcome:
        sealed = self._attester.problem(kind, request_id, error)
        return Outcome(
            sealed.body,
            kind,
            error.status,
            error.code,
            request_id,
            sealed.response_id,
            error.http_status,
            request.document_type if request else None,
            error.retry_after,
            detail=mask_identifiers(error.detail),
        )

    def _with_audit(
        self,
        outcome: Outcome,
        body: bytes,
        request: Request | None,
        transport: str,
        journey: Journey,
        *,
        verified: bool,
        signer: str | None = None,
    ) -> Outcome:
        """The outcome with its audit entry and journey; a refusal of content whose signature did not
        verify is journaled under `unverified(<claimed id>)`, apart from the real request's history.
        Content that was verified but not valid is journaled under its signer (`signer`)."""
        doc_type = self.config.catalogue.get(request.document_type) if request else None
        entry = AuditEntry(
            at=dt.datetime.now(dt.UTC),
            request_id=outcome.request_id if verified else unverified(outcome.request_id),
            transport=transport,
            requester=request.requester if request else signer,
            agency=request.agency if request else None,
            agent=request.agent if request else None,
            document_type=request.document_type if request else None,
            purpose=request.purpose if request else None,
            provider=doc_type.provider if doc_type else None,
            status=outcome.status,
            problem=outcome.problem,
            request_sha256=hashlib.sha256(body).hexdigest(),
            response_sha256=hashlib.sha256(outcome.body).hexdigest(),
            subject_ref=subject_ref(self._log_key, request.subject_id) if request else None,
        )
        return outcome.with_audit(entry, journey)


def _claimed_id(envelope: Envelope) -> str:
    """The RequestId the body claims, before it is verified: only to address a refusal."""
    value: object = None
    if envelope.xml is not None:
        node = envelope.xml.find(f"{NS_TAG}RequestId")
        value = node.text if node is not None else None
    elif envelope.jws is not None:
        value = envelope.jws.content.get("requestId")
    return value.lower() if isinstance(value, str) and UUID_PATTERN.match(value.lower()) else ""
