"""The client library, through its public API only, against a running gateway: every document type
over both transports and in both forms, seals checked; tampered, misdirected and unreachable answers;
retries with the same signed request."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aio_pika
import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from gateway.config import Config
from gateway.runtime.worker import Gateway
from gateway_client import (
    Attestation,
    Client,
    Failed,
    Identity,
    InvalidRequest,
    NotFound,
    Refused,
    SealError,
    SyncClient,
    TransportError,
    Trust,
)
from tests.e2e.conftest import QUOTA_REQUESTER
from tests.e2e.exchange import AMQP_URL

Examples = dict[str, dict[str, list[str]]]


def purpose_for(config: Config, document_type: str) -> str:
    """A purpose that releases this type to dz.cnas."""
    allowed = config.requesters["dz.cnas"].purposes
    return next(p for p in config.catalogue[document_type].purposes if p in allowed)


def make_client(home: Path, config: Config, url: str, form: str = "xml", who: str = "dz.cnas", **kw: object) -> Client:
    return Client(
        url,
        Identity.from_folder(home / "pki" / who),
        home / "pki" / "ca.pem",
        agency="CNAS-16-001",
        form=form,  # type: ignore[arg-type]
        queue=config.settings.request_queue,
        **kw,  # type: ignore[arg-type]
    )


Handler = Callable[[web.Request, bytes, int], Awaitable[web.Response]]


@pytest_asyncio.fixture
async def proxy(http: str) -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Starts an HTTP proxy in front of the gateway whose answers a handler may rewrite; yields its URL."""
    runners: list[web.AppRunner] = []
    session = aiohttp.ClientSession()

    async def start(handler: Handler) -> str:
        calls = 0

        async def forward(request: web.Request) -> web.Response:
            nonlocal calls
            calls += 1
            body = await request.read()
            return await handler(request, body, calls)

        app = web.Application()
        app.router.add_post("/v1/requests", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    await session.close()
    for runner in runners:
        await runner.cleanup()


async def relay(http: str, request: web.Request, body: bytes) -> tuple[int, str, bytes]:
    """The gateway's own answer to `body`: status, content type, sealed bytes."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{http}/v1/requests", data=body, headers={"Content-Type": request.content_type}) as answer,
    ):
        return answer.status, answer.content_type, await answer.read()


@pytest.mark.parametrize("form", ["xml", "jws"])
@pytest.mark.parametrize("transport", ["amqp", "http"])
async def test_every_document_type_comes_back_as_a_checked_attestation(
    transport: str, form: str, http: str, gateway: Gateway, home: Path, examples: Examples
) -> None:
    """Each of the seven types, asked through the library over AMQP and HTTP in XML and JWS, returns an
    Attestation of that type and subject with the data its purpose releases."""
    config = gateway.config
    async with make_client(home, config, AMQP_URL if transport == "amqp" else http, form) as client:
        asked = sorted(config.requesters["dz.cnas"].document_types)
        assert len(asked) == 7
        for document_type in asked:
            subject = examples[document_type]["found"][0]
            purpose = purpose_for(config, document_type)
            result = await client.request(document_type, subject, purpose, case_reference="DOSSIER-2026-000123")
            assert isinstance(result, Attestation) and not isinstance(result, NotFound), (document_type, result)
            assert (result.document_type, result.purpose) == (document_type, purpose)
            assert list(result.subject.values()) == [subject]
            assert result.data, document_type
            assert set(result.data) <= set(config.catalogue[document_type].purposes[purpose])
            assert result.sealed.startswith(b"<?xml" if form == "xml" else b"eyJ")
            assert result.valid_until > result.issued_at


async def test_a_missing_record_is_a_sealed_not_found(
    http: str, gateway: Gateway, home: Path, examples: Examples
) -> None:
    """A subject the registry does not hold comes back as NotFound with empty data, not as an error."""
    async with make_client(home, gateway.config, http) as client:
        result = await client.request("death-record", examples["death-record"]["missing"][0], "benefit-review")
    assert isinstance(result, NotFound) and result.status == "not-found" and dict(result.data) == {}


async def test_a_refusal_carries_its_problem_code_in_both_languages(
    gateway: Gateway, home: Path, examples: Examples
) -> None:
    """A purpose that does not release the type is a Refused with purpose_not_allowed, French and Arabic."""
    async with make_client(home, gateway.config, AMQP_URL, "jws") as client:
        result = await client.request("tax-registration", examples["tax-registration"]["found"][0], "family-allowance")
    assert isinstance(result, Refused)
    assert result.problem.code == "purpose_not_allowed" and not result.problem.retryable
    assert result.problem.message_fr and result.problem.message_ar


async def test_a_tampered_answer_is_refused(
    proxy: Callable[[Handler], Awaitable[str]], http: str, gateway: Gateway, home: Path, examples: Examples
) -> None:
    """An answer whose sealed data was changed on the way raises SealError instead of being returned."""

    async def tamper(request: web.Request, body: bytes, calls: int) -> web.Response:
        status, content_type, sealed = await relay(http, request, body)
        forged = re.sub(rb"<Sex>(M|F)</Sex>", lambda m: b"<Sex>F</Sex>" if m[1] == b"M" else b"<Sex>M</Sex>", sealed)
        assert forged != sealed
        return web.Response(status=status, body=forged, content_type=content_type)

    async with make_client(home, gateway.config, await proxy(tamper)) as client:
        with pytest.raises(SealError, match="does not verify"):
            await client.request("birth-certificate", examples["birth-certificate"]["found"][0], "family-allowance")


async def test_a_tampered_jws_answer_is_refused(
    proxy: Callable[[Handler], Awaitable[str]], http: str, gateway: Gateway, home: Path, examples: Examples
) -> None:
    """A JWS answer whose payload was swapped for another one raises SealError."""

    async def tamper(request: web.Request, body: bytes, calls: int) -> web.Response:
        status, content_type, sealed = await relay(http, request, body)
        header, _, signature = sealed.split(b".")
        return web.Response(
            status=status, body=header + b".eyJzdGF0dXMiOiJpc3N1ZWQifQ." + signature, content_type=content_type
        )

    async with make_client(home, gateway.config, await proxy(tamper), "jws") as client:
        with pytest.raises(SealError, match="does not verify"):
            await client.request("birth-certificate", examples["birth-certificate"]["found"][0], "family-allowance")


async def test_a_genuine_answer_to_another_request_is_refused(
    proxy: Callable[[Handler], Awaitable[str]], http: str, gateway: Gateway, home: Path, examples: Examples
) -> None:
    """A correctly sealed answer replayed for a different request raises SealError naming the request ids."""
    first: list[tuple[int, str, bytes]] = []

    async def replay(request: web.Request, body: bytes, calls: int) -> web.Response:
        answer = await relay(http, request, body)
        first.append(answer)
        status, content_type, sealed = first[0]
        return web.Response(status=status, body=sealed, content_type=content_type)

    nin = examples["birth-certificate"]["found"][0]
    async with make_client(home, gateway.config, await proxy(replay)) as client:
        assert isinstance(await client.request("birth-certificate", nin, "family-allowance"), Attestation)
        with pytest.raises(SealError, match="answer is to request"):
            await client.request("birth-certificate", nin, "family-allowance")


async def test_an_answer_sealed_by_another_participant_is_refused(
    proxy: Callable[[Handler], Awaitable[str]], http: str, gateway: Gateway, home: Path, examples: Examples
) -> None:
    """A client that pins the exchange's CA but expects another sealer refuses the gateway's genuine seal."""

    async def passthrough(request: web.Request, body: bytes, calls: int) -> web.Response:
        status, content_type, sealed = await relay(http, request, body)
        return web.Response(status=status, body=sealed, content_type=content_type)

    trust = Trust.from_pem_file(home / "pki" / "ca.pem", sealer="dz.cnas")
    client = Client(
        await proxy(passthrough), Identity.from_folder(home / "pki" / "dz.cnas"), trust, agency="CNAS-16-001"
    )
    async with client:
        with pytest.raises(SealError, match="not by the exchange's gateway"):
            await client.request("birth-certificate", examples["birth-certificate"]["found"][0], "family-allowance")


async def test_a_transient_failure_is_retried_with_the_same_signed_request(
    proxy: Callable[[Handler], Awaitable[str]], http: str, gateway: Gateway, home: Path, examples: Examples
) -> None:
    """After a 503 without a sealed answer, the library sends the very same bytes again and returns the attestation."""
    bodies: list[bytes] = []

    async def flaky(request: web.Request, body: bytes, calls: int) -> web.Response:
        bodies.append(body)
        if calls == 1:
            return web.Response(status=503, text="upstream busy")
        status, content_type, sealed = await relay(http, request, body)
        return web.Response(status=status, body=sealed, content_type=content_type)

    async with make_client(home, gateway.config, await proxy(flaky)) as client:
        result = await client.request(
            "birth-certificate", examples["birth-certificate"]["found"][0], "family-allowance"
        )
    assert isinstance(result, Attestation)
    assert len(bodies) == 2 and bodies[0] == bodies[1]


async def test_a_rate_limit_beyond_the_deadline_is_returned_at_once(
    http: str, gateway: Gateway, home: Path, examples: Examples
) -> None:
    """When retryAfter lies past the caller's timeout, the Refused rate_limited answer is returned without waiting."""
    nin = examples["birth-certificate"]["found"][0]
    async with make_client(home, gateway.config, http, who=QUOTA_REQUESTER, timeout=5.0) as client:
        results = [await client.request("birth-certificate", nin, "family-allowance") for _ in range(3)]
    limited = [r for r in results if isinstance(r, Refused) and r.problem.code == "rate_limited"]
    assert limited, results
    assert limited[0].problem.retryable and (limited[0].problem.retry_after or 0) > 5


async def test_no_answer_in_time_raises_transport_error(home: Path, gateway: Gateway) -> None:
    """A gateway that cannot be reached raises TransportError once the timeout has passed, not before."""
    async with make_client(home, gateway.config, "http://127.0.0.1:9", timeout=1.5) as client:
        with pytest.raises(TransportError, match=r"127\.0\.0\.1:9"):
            await client.request("birth-certificate", "119725601000003511", "family-allowance")


async def test_an_unroutable_bus_queue_is_a_clear_transport_error(home: Path, gateway: Gateway) -> None:
    """Publishing to a request queue that does not exist says so, instead of waiting for an answer."""
    client = Client(
        AMQP_URL,
        Identity.from_folder(home / "pki" / "dz.cnas"),
        home / "pki" / "ca.pem",
        agency="CNAS-16-001",
        queue="test.client.no-such-queue",
        timeout=3,
    )
    async with client:
        with pytest.raises(TransportError, match="does not route"):
            await client.request("birth-certificate", "119725601000003511", "family-allowance")


async def test_a_request_queue_nothing_consumes_is_named_in_the_timeout(home: Path, gateway: Gateway) -> None:
    """When no gateway consumes the request queue, the timeout says so; the request stays on the queue."""
    queue = f"test.client.unconsumed.{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, auto_delete=False)
        client = Client(
            AMQP_URL,
            Identity.from_folder(home / "pki" / "dz.cnas"),
            home / "pki" / "ca.pem",
            agency="CNAS-16-001",
            queue=queue,
            timeout=1.5,
        )
        try:
            async with client:
                with pytest.raises(TransportError, match=f"nothing consumes '{re.escape(queue)}'"):
                    await client.request("birth-certificate", "119725601000003511", "family-allowance")
            declared = await channel.declare_queue(queue, passive=True)
            assert declared.declaration_result.message_count == 1
        finally:
            await channel.queue_delete(queue)


def test_a_malformed_subject_is_refused_before_sending(home: Path, tmp_path: Path) -> None:
    """A subject that is neither NIN, NIF nor RC raises InvalidRequest and nothing is sent."""
    client = Client(
        "http://127.0.0.1:9",
        Identity.from_folder(home / "pki" / "dz.cnas"),
        home / "pki" / "ca.pem",
        agency="CNAS-16-001",
    )
    with pytest.raises(InvalidRequest, match="not a NIN"):
        client.build("birth-certificate", "12345", "family-allowance")
    with pytest.raises(InvalidRequest, match="amqp://"):
        Client("ftp://x", client.identity, client.trust, agency="CNAS-16-001")


async def test_the_sync_client_offers_the_same_call(
    http: str, gateway: Gateway, home: Path, examples: Examples
) -> None:
    """SyncClient.request, called from a thread without an event loop, returns the same typed attestation."""

    def ask() -> object:
        with SyncClient(
            http, Identity.from_folder(home / "pki" / "dz.cnas"), home / "pki" / "ca.pem", agency="CNAS-16-001"
        ) as client:
            return client.request("birth-certificate", examples["birth-certificate"]["found"][0], "family-allowance")

    result = await asyncio.to_thread(ask)
    assert isinstance(result, Attestation) and result.data["sex"] in ("M", "F")


async def test_an_unknown_type_is_a_typed_refusal(gateway: Gateway, home: Path, examples: Examples) -> None:
    """A type outside the catalogue comes back as Refused unknown_document_type, not as an exception."""
    async with make_client(home, gateway.config, AMQP_URL, timeout=3) as client:
        result = await client.request("no-such-type", examples["birth-certificate"]["found"][0], "family-allowance")
    assert isinstance(result, Refused) and not isinstance(result, Failed)
    assert result.problem.code == "unknown_document_type"
