"""The circuit breaker and retries around adapters, with real adapters against real sockets,
and with a fake adapter (behind the same protocol) where timing has to be exact."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gateway import config as config_module
from gateway.adapters.base import ProviderAnswer, ProviderQuery
from gateway.adapters.resilience import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    CircuitBreaker,
    Policy,
    Resilient,
)
from gateway.config import ConfigError, Provider
from gateway.errors import GatewayError, ProviderError, ProviderTimeout, ProviderUnavailable, TransientProviderError
from gateway.pipeline.route import Router
from gateway_sandbox.tax_directorate import TaxRecords, make_app
from tests.adapters.adapter_kit import (
    DGI,
    CountingAdapter,
    Running,
    Sandbox,
    admitted,
    port_of,
    query,
    refused_port,
    serve,
    server_tls,
)

NO_RETRY = Policy(breaker_failures=3, breaker_open_seconds=0.3, retries=0)


class FakeAdapter:
    """An adapter that answers from a script: an exception to raise, or an answer (found)."""

    provider = "dz.test.fake"

    def __init__(self, *script: Exception | None, hold: asyncio.Event | None = None) -> None:
        self.script = list(script)
        self.calls = 0
        self.hold = hold

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def fetch(self, q: ProviderQuery, timeout: float) -> ProviderAnswer:
        self.calls += 1
        if self.hold is not None:
            await self.hold.wait()
        step = self.script.pop(0) if self.script else None
        if step is not None:
            raise step
        return ProviderAnswer(self.provider, True, {"ok": True}, dt.datetime.now(dt.UTC))


async def _code(call: Any) -> str:
    with pytest.raises(GatewayError) as caught:
        await call
    return caught.value.code


async def test_breaker_opens_after_consecutive_failures_and_refuses_at_once(adapter: Running) -> None:
    """After N failed attempts the breaker opens; the next fetch is provider_unavailable without asking the provider."""
    with refused_port() as sock:
        async with adapter(DGI, "tax_directorate", f"https://127.0.0.1:{port_of(sock)}") as made:
            counting = CountingAdapter(made)
            resilient = Resilient(counting, NO_RETRY)
            for _ in range(3):
                assert resilient.state == CLOSED
                assert await _code(resilient.fetch(query("tax-registration", "0" * 15), 2)) == "provider_unavailable"
            assert resilient.state == OPEN and counting.calls == 3
            started = time.monotonic()
            with pytest.raises(ProviderUnavailable) as caught:
                await resilient.fetch(query("tax-registration", "0" * 15), 2)
            assert time.monotonic() - started < 0.05
            assert counting.calls == 3 and caught.value.retry_after == 1


async def test_breaker_half_opens_after_the_period_and_a_good_probe_closes_it(
    adapter: Running, tax_records: TaxRecords, pki_dir: Path
) -> None:
    """Once the open period is over the breaker is half-open; a successful probe closes it again."""
    nif = tax_records.examples("tax-registration")["found"][0]
    with refused_port() as sock:
        async with adapter(DGI, "tax_directorate", f"https://127.0.0.1:{port_of(sock)}") as made:
            resilient = Resilient(made, NO_RETRY)
            for _ in range(3):
                await _code(resilient.fetch(query("tax-registration", nif), 2))
            assert resilient.state == OPEN
            await asyncio.sleep(0.35)
            assert resilient.state == HALF_OPEN
            async with serve(make_app(tax_records), server_tls(pki_dir), sock=sock):
                answer = await resilient.fetch(query("tax-registration", nif), 2)
            assert answer.found and resilient.state == CLOSED


async def test_failed_probe_opens_the_breaker_again() -> None:
    """A probe that fails while half-open opens the breaker for another full period."""
    clock = [0.0]
    fake = FakeAdapter(ProviderUnavailable("down"), ProviderUnavailable("down"))
    resilient = Resilient(fake, Policy(breaker_failures=1, breaker_open_seconds=10, retries=0), clock=lambda: clock[0])
    assert await _code(resilient.fetch(query("tax-registration", "0" * 15), 1)) == "provider_unavailable"
    assert resilient.state == OPEN
    clock[0] = 10.0
    assert resilient.state == HALF_OPEN
    assert await _code(resilient.fetch(query("tax-registration", "0" * 15), 1)) == "provider_unavailable"
    assert resilient.state == OPEN and fake.calls == 2
    clock[0] = 19.0
    assert resilient.state == OPEN
    assert resilient.breaker.seconds_left_open() == pytest.approx(1.0)


async def test_only_one_probe_goes_through_while_half_open() -> None:
    """While the half-open probe is in flight, other fetches are refused at once."""
    clock = [0.0]
    hold = asyncio.Event()
    fake = FakeAdapter(ProviderUnavailable("down"), None, hold=hold)
    hold.set()
    resilient = Resilient(fake, Policy(breaker_failures=1, breaker_open_seconds=5, retries=0), clock=lambda: clock[0])
    await _code(resilient.fetch(query("tax-registration", "0" * 15), 1))
    clock[0] = 5.0
    hold.clear()
    probe = asyncio.create_task(resilient.fetch(query("tax-registration", "0" * 15), 1))
    await asyncio.sleep(0)
    assert await _code(resilient.fetch(query("tax-registration", "0" * 15), 1)) == "provider_unavailable"
    hold.set()
    assert (await probe).found and resilient.state == CLOSED and fake.calls == 2


async def test_transient_failure_then_success_within_the_deadline(
    adapter: Running, tax_records: TaxRecords, pki_dir: Path
) -> None:
    """A refused connection is retried after a backoff; the DGI coming up meanwhile answers the same fetch."""
    nif = tax_records.examples("tax-registration")["found"][0]
    with refused_port() as sock:
        async with adapter(DGI, "tax_directorate", f"https://127.0.0.1:{port_of(sock)}") as made:
            runner = web.AppRunner(make_app(tax_records), access_log=None)

            async def pause_and_come_up(seconds: float) -> None:
                await runner.setup()
                await web.SockSite(runner, sock, ssl_context=server_tls(pki_dir)).start()
                await asyncio.sleep(seconds)

            counting = CountingAdapter(made)
            resilient = Resilient(counting, Policy(retries=2, retry_backoff_seconds=0.05), sleep=pause_and_come_up)
            try:
                answer = await resilient.fetch(query("tax-registration", nif), 2)
            finally:
                await runner.cleanup()
    assert answer.found and counting.calls == 2 and resilient.state == CLOSED


async def test_http_503_is_retried_then_answered(adapter: Running, pki_dir: Path) -> None:
    """A 503 from the service is transient: retried, and the second answer is used."""
    hits: list[str] = []
    answer_body = {
        "nif": "001016171386103",
        "raisonSociale": "SPA Test",
        "formeJuridique": "SPA",
        "adresse": "1, rue Test, Alger",
        "centreImpots": "CDI Alger Centre",
        "dateImmatriculation": "2001-05-04",
    }

    async def flaky(request: web.Request) -> web.Response:
        hits.append(request.path)
        if len(hits) == 1:
            return web.json_response({"erreur": "SERVICE_INDISPONIBLE"}, status=503)
        return web.json_response(answer_body)

    app = web.Application()
    app.router.add_get("/api/v1/contribuables/{nif}/immatriculation", flaky)
    async with (
        serve(app, server_tls(pki_dir)) as port,
        adapter(DGI, "tax_directorate", f"https://127.0.0.1:{port}") as made,
    ):
        resilient = Resilient(made, Policy(retries=2, retry_backoff_seconds=0.01))
        answer = await resilient.fetch(query("tax-registration", "001016171386103"), 2)
    assert answer.found and answer.data["taxCentre"] == "CDI Alger Centre" and len(hits) == 2


async def test_malformed_answer_is_not_retried(adapter: Running, tax_sandbox: Sandbox, tax_records: TaxRecords) -> None:
    """A malformed answer is provider_error at once: asking again would not make it true."""
    nif = tax_records.examples("tax-registration")["found"][0]
    async with tax_sandbox(fault="malformed") as url, adapter(DGI, "tax_directorate", url) as made:
        counting = CountingAdapter(made)
        resilient = Resilient(counting, Policy(retries=3, retry_backoff_seconds=0.01))
        assert await _code(resilient.fetch(query("tax-registration", nif), 2)) == "provider_error"
    assert counting.calls == 1


async def test_retries_stay_inside_the_time_given(adapter: Running) -> None:
    """Retries of a provider that stays down stop before the time given runs out."""
    with refused_port() as sock:
        async with adapter(DGI, "tax_directorate", f"https://127.0.0.1:{port_of(sock)}") as made:
            counting = CountingAdapter(made)
            resilient = Resilient(counting, Policy(retries=50, retry_backoff_seconds=0.1, breaker_failures=100))
            started = time.monotonic()
            assert await _code(resilient.fetch(query("tax-registration", "0" * 15), 0.5)) == "provider_unavailable"
            assert time.monotonic() - started < 0.5 + 0.1  # the margin is event-loop lag, not another attempt
            assert 2 <= counting.calls < 10


async def test_timeouts_count_against_the_provider_only_when_its_sla_was_binding() -> None:
    """A timeout under the requester's own short deadline leaves the breaker closed; SLA timeouts open it."""
    fake = FakeAdapter(*[ProviderTimeout("slow")] * 4)
    resilient = Resilient(fake, Policy(breaker_failures=2, retries=0))
    for _ in range(2):
        assert (
            await _code(resilient.fetch(query("tax-registration", "0" * 15), 1, deadline_bound=True))
            == "provider_timeout"
        )
    assert resilient.state == CLOSED
    for _ in range(2):
        await _code(resilient.fetch(query("tax-registration", "0" * 15), 1))
    assert resilient.state == OPEN


def test_breaker_counts_only_consecutive_failures() -> None:
    """A success in between resets the count of failures."""
    breaker = CircuitBreaker(2, 30, clock=lambda: 0.0)
    for outcome in ("failure", "success", "failure"):
        ticket = breaker.acquire()
        assert ticket is not None
        getattr(breaker, outcome)(ticket)
    assert breaker.state == CLOSED


async def test_router_turns_a_deadline_bound_timeout_into_deadline_exceeded(
    tax_sandbox: Sandbox, tax_records: TaxRecords, adapter: Running
) -> None:
    """Through the Router, a slow DGI under a requester deadline shorter than the SLA is deadline_exceeded."""
    config = config_module.load()
    doc_type = config.catalogue["tax-registration"]
    nif = tax_records.examples("tax-registration")["found"][0]
    async with tax_sandbox(fault="slow", delay_ms=3000) as url, adapter(DGI, "tax_directorate", url) as made:
        router = Router({DGI: made}, config.providers)
        assert await _code(router.fetch(admitted(doc_type, nif, deadline_seconds=0.3))) == "deadline_exceeded"
        assert router.breaker_states() == {DGI: CLOSED}


async def test_router_takes_breaker_settings_from_provider_options(adapter: Running) -> None:
    """Router reads breaker_failures from the provider's options and exposes each breaker's state."""
    config = config_module.load()
    doc_type = config.catalogue["tax-registration"]
    options = {**config.providers[DGI].options, "breaker_failures": 2, "retries": 0}
    providers = {DGI: Provider(DGI, "tax_directorate", options)}
    with refused_port() as sock:
        async with adapter(DGI, "tax_directorate", f"https://127.0.0.1:{port_of(sock)}") as made:
            router = Router({DGI: made}, providers)
            for _ in range(2):
                assert await _code(router.fetch(admitted(doc_type, "0" * 15))) == "provider_unavailable"
            assert router.breaker_states() == {DGI: OPEN}


@pytest.mark.parametrize(
    "options",
    [{"breaker_failures": 0}, {"retries": -1}, {"breaker_open_seconds": "30"}, {"retry_backoff_seconds": True}],
)
def test_bad_breaker_options_are_a_configuration_error(options: dict[str, Any]) -> None:
    """Breaker and retry options must be non-negative numbers (and at least one failure to open)."""
    with pytest.raises(ConfigError):
        Policy.from_options(options, DGI)


def test_shipped_configuration_gives_every_provider_a_policy() -> None:
    """The shipped providers.toml parses into a breaker policy for each provider."""
    for provider in config_module.load().providers.values():
        policy = Policy.from_options(provider.options, provider.code)
        assert policy.breaker_failures >= 1 and policy.breaker_open_seconds > 0


def test_transient_error_keeps_the_provider_error_code() -> None:
    """A 502/503/504 is retried but reaches the client as provider_error."""
    assert TransientProviderError("x").code == ProviderError.code == "provider_error"
    assert isinstance(TransientProviderError("x"), ProviderError)
