"""The client of the exchange for back offices: one call asks for a document and returns its
checked, typed answer (docs/protocol.md).

`Client` is asynchronous; `SyncClient` offers the same calls to code without an event loop.
Each request is built, signed with the participant's key and sent over the URL's transport;
its answer's seal is checked against the exchange's CA before anything is returned. What the
protocol marks retryable is sent again, the same signed request with the same id, after a
backoff that honours `retryAfter`, as long as the caller's deadline allows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Coroutine, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from cryptography.x509.oid import NameOID

from gateway_client.errors import InvalidRequest, SealError, TransportError
from gateway_client.request import request_fields
from gateway_client.results import Attestation, AttestationStatus, Failed, Refused, Result, result_of
from gateway_client.seal import Trust, open_sealed
from gateway_client.signing import Identity, sign_jws, signed_request
from gateway_client.subjects import subject_of
from gateway_client.transports import REQUESTS_QUEUE, Transport, attestation_status, print_pdf, transport_for

Form = Literal["xml", "jws"]
Priority = Literal["urgent", "normal", "bulk"]
CONTENT_TYPES = {"xml": "application/xml", "jws": "application/jose"}
#: How far a request's IssuedAt may lie from the gateway's clock; retries stop short of it.
FRESHNESS_SECONDS = 300
T = TypeVar("T")


def _utc(seconds_from_now: float = 0.0) -> str:
    moment = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Client:
    """Asks the exchange for documents as one participant (`identity`), trusting only `ca`.

    `url` is the gateway's: `amqp://user:password@host:5672/` for the bus, or
    `http://host:8080` for the HTTP API. `agency` is the requesting office's code
    (`CNAS-16-001`). `queue` names the gateway's request queue on the bus. Use it as
    `async with Client(...) as client:`, or call `close()`.
    """

    def __init__(
        self,
        url: str,
        identity: Identity,
        ca: Trust | str | Path,
        *,
        agency: str,
        form: Form = "xml",
        priority: Priority = "normal",
        timeout: float = 30.0,
        queue: str = REQUESTS_QUEUE,
    ) -> None:
        if form not in CONTENT_TYPES:
            raise InvalidRequest(f"form is 'xml' or 'jws', not {form!r}")
        self.identity = identity
        self.trust = ca if isinstance(ca, Trust) else Trust.from_pem_file(ca)
        self.requester = _participant(identity)
        self.agency, self.form, self.priority, self.timeout = agency, form, priority, timeout
        self.transport: Transport = transport_for(url, queue)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.transport.close()

    def build(
        self,
        document_type: str,
        subject: str | Mapping[str, str],
        purpose: str,
        *,
        case_reference: str | None = None,
        agent: str | None = None,
        priority: Priority | None = None,
        timeout: float | None = None,
        request_id: str | None = None,
        form: Form | None = None,
    ) -> tuple[dict[str, Any], bytes]:
        """A request's fields and its signed body, ready to send (and to send again, unchanged)."""
        seconds = self.timeout if timeout is None else timeout
        if seconds <= 0:
            raise InvalidRequest(f"the timeout must be positive, not {seconds}")
        fields = request_fields(
            document_type,
            subject_of(subject) if isinstance(subject, str) else dict(subject),
            purpose,
            requestId=request_id or str(uuid.uuid4()),
            requester=self.requester,
            agency=self.agency,
            agent=agent,
            caseReference=case_reference,
            priority=priority or self.priority,
            issuedAt=_utc(),
            deadline=_utc(seconds + 1),
        )
        return fields, signed_request(self.identity, fields, form or self.form)

    async def request(
        self,
        document_type: str,
        subject: str | Mapping[str, str],
        purpose: str,
        *,
        case_reference: str | None = None,
        agent: str | None = None,
        priority: Priority | None = None,
        timeout: float | None = None,
        request_id: str | None = None,
        form: Form | None = None,
    ) -> Result:
        """Asks for `document_type` about `subject` (a NIN, NIF or RC number) for `purpose`.

        Returns an `Attestation`, a `NotFound`, or a `Refused`/`Failed` with its problem code.
        Raises `SealError` for an answer that cannot be trusted, `TransportError` when no
        answer came within `timeout` seconds, `InvalidRequest` for a request that cannot be
        built."""
        fields, body = self.build(
            document_type,
            subject,
            purpose,
            case_reference=case_reference,
            agent=agent,
            priority=priority,
            timeout=timeout,
            request_id=request_id,
            form=form,
        )
        return await self.send(fields, body, form=form or self.form, timeout=timeout)

    async def send(
        self, fields: Mapping[str, Any], body: bytes, *, form: Form | None = None, timeout: float | None = None
    ) -> Result:
        """Sends a request built by `build`, and again while its answer is retryable and time allows."""
        seconds = self.timeout if timeout is None else timeout
        end = time.monotonic() + min(seconds, FRESHNESS_SECONDS - 10)
        content_type = CONTENT_TYPES[form or self.form]
        request_id = str(fields["requestId"])
        attempt = 0
        while True:
            remaining = end - time.monotonic()
            result: Result | None = None
            try:
                raw = await self.transport.exchange(
                    body, content_type=content_type, request_id=request_id, timeout=remaining
                )
            except TransportError as exc:
                failure: TransportError | None = exc
            else:
                failure = None
                result = self.check(raw, fields)
                if not (isinstance(result, Refused | Failed) and result.problem.retryable):
                    return result
            delay = min(0.5 * 2**attempt, 8.0)
            if result is not None and isinstance(result, Refused | Failed) and result.problem.retry_after:
                delay = max(delay, float(result.problem.retry_after))
            if time.monotonic() + delay >= end:
                if result is not None:
                    return result
                assert failure is not None
                raise failure
            await asyncio.sleep(delay)
            attempt += 1

    async def pdf(self, attestation: Attestation, *, site: str | None = None, timeout: float | None = None) -> bytes:
        """The printable PDF of an `issued` attestation this participant obtained: one A4 page in French
        and Arabic with its visible seal as a QR code. Asked over HTTP of the gateway that issued it (at
        `site`, by default its verification URL's), with a request signed by this participant. Raises
        `PrintRefused` when the gateway refuses, `TransportError` when it cannot be reached."""
        if not attestation.visible_seal:
            raise InvalidRequest("this attestation carries no visible seal: only an issued one is printed")
        site = site or attestation.verification_url.rsplit("/v1/attestations/", 1)[0]
        payload = {"requestId": str(uuid.uuid4()), "issuedAt": _utc(), "visibleSeal": attestation.visible_seal}
        body = sign_jws(json.dumps(payload, separators=(",", ":")).encode(), self.identity.key, self.identity.chain)
        return await print_pdf(site, body, self.timeout if timeout is None else timeout)

    async def status(
        self, attestation: Attestation | str, *, site: str | None = None, timeout: float | None = None
    ) -> AttestationStatus:
        """The attestation's state now (`GET /v1/attestations/<id>` of the gateway that issued it, or of
        `site`): whether it is still valid, or was revoked, or superseded by a correction and by which one."""
        if isinstance(attestation, str):
            if site is None:
                raise InvalidRequest("give the gateway's site with an attestation id")
            attestation_id, where = attestation, site
        else:
            attestation_id = attestation.attestation_id
            where = site or attestation.verification_url.rsplit("/v1/attestations/", 1)[0]
        return await attestation_status(where, attestation_id, self.timeout if timeout is None else timeout)

    def check(self, raw: bytes, fields: Mapping[str, Any]) -> Result:
        """The typed answer of `raw`, once its seal checked out and it answers the request of `fields`."""
        result = result_of(open_sealed(raw, self.trust), raw)
        if result.request_id != str(fields["requestId"]).lower():
            raise SealError(f"the answer is to request {result.request_id}, not {fields['requestId']}")
        if isinstance(result, Attestation):
            asked = (fields["documentType"], fields["purpose"], dict(fields["subject"]))
            got = (result.document_type, result.purpose, dict(result.subject))
            if asked != got:
                raise SealError(f"the attestation is of {got}, not of the {asked} asked for")
        return result


def _participant(identity: Identity) -> str:
    values = identity.chain[0].subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
    if len(values) != 1 or not isinstance(values[0].value, str):
        raise InvalidRequest("the certificate carries no single organizationIdentifier: is it the exchange's?")
    return values[0].value


class SyncClient:
    """`Client`'s calls, for code without an event loop: the client runs on a thread of its own.
    Use it as `with SyncClient(...) as client:`, or call `close()`."""

    def __init__(self, url: str, identity: Identity, ca: Trust | str | Path, **options: Any) -> None:
        self.client = Client(url, identity, ca, **options)  # first: a bad option leaves no thread behind
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="gateway-client", daemon=True)
        self._thread.start()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def request(self, document_type: str, subject: str | Mapping[str, str], purpose: str, **options: Any) -> Result:
        """As `Client.request`."""
        return self._run(self.client.request(document_type, subject, purpose, **options))

    def status(self, attestation: Attestation | str, **options: Any) -> AttestationStatus:
        """`Client.status`: the attestation's state now."""
        return self._run(self.client.status(attestation, **options))

    def pdf(self, attestation: Attestation, **options: Any) -> bytes:
        """`Client.pdf`: the printable PDF of an issued attestation this participant obtained."""
        return self._run(self.client.pdf(attestation, **options))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self.client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
