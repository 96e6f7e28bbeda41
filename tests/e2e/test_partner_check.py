"""`gateway partner check` against partners on the real broker and over HTTPS: the sandbox civil registry
passes every check, and a partner written to be faulty is caught on each fault planted in it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aio_pika
import aio_pika.abc
import pytest
import pytest_asyncio
from aiohttp import web

from gateway.config import Config
from gateway.errors import GatewayError
from gateway.runtime.partner_check import CheckError, Finding, check_partner
from gateway.runtime.worker import Gateway
from gateway.signing import jws
from gateway.signing.pki import issue, load_identity, make_ca
from gateway.signing.trust import TrustStore
from gateway_sandbox.tax_directorate import make_ssl_context
from tests.adapters.adapter_kit import serve
from tests.e2e.exchange import AMQP_URL, with_provider

REGISTRY = "dz.interieur.etat-civil"
Examples = dict[str, dict[str, list[str]]]
GOOD_DATA = {"lastNameLatin": "Slimani", "sex": "M", "birthDate": "1972-03-24"}


def faults(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.query, f.check) for f in findings if not f.ok}


async def test_the_sandbox_registry_passes_every_check(gateway: Gateway, home: Path, examples: Examples) -> None:
    """The civil registry, built on the partner kit, answers the four test queries without a fault."""
    findings = await check_partner(
        gateway.config, home, REGISTRY, AMQP_URL, document_type="birth-certificate",
        found=examples["birth-certificate"]["found"][0], missing=examples["birth-certificate"]["missing"][0],
    )  # fmt: skip
    assert faults(findings) == set() and len(findings) >= 12


class FaultyPartner:
    """Answers on its own queue with one planted fault."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel | None, queue: str, home: Path, fault: str) -> None:
        self.channel, self.queue, self.fault = channel, queue, fault
        key, chain = load_identity(home / "pki" / REGISTRY)
        self.signer = jws.JWSSigner(key, chain)
        stranger = issue(make_ca("A CA of its own"), REGISTRY)
        self.stranger = jws.JWSSigner(stranger.key, [stranger.cert])
        self.verifier = jws.JWSVerifier(TrustStore.from_pem_file(home / "pki" / "ca.pem"))

    async def start(self) -> None:
        assert self.channel is not None
        queue = await self.channel.declare_queue(self.queue, durable=True)
        await queue.consume(self.on_query, no_ack=True)

    def from_gateway(self, body: bytes) -> bool:
        try:
            return self.verifier.verify(jws.parse(body)).participant == "dz.exchange.gateway"
        except GatewayError:
            return False

    async def answer(self, body: bytes, correlation: str | None) -> bytes:
        """The signed answer to one query, with the planted fault."""
        try:
            query: dict[str, Any] = json.loads(jws.b64url_decode(body.decode().split(".")[1]))
            subject = str(next(iter(query["subject"].values())))
        except (ValueError, IndexError, UnicodeDecodeError):
            query, subject = {"queryId": correlation}, ""
        data = dict(GOOD_DATA)
        if self.fault == "undeclared-data":
            data["religion"] = "none of the exchange's business"
        if self.fault == "bad-data":
            data["birthDate"] = "24/03/1972"
        answer: dict[str, Any] = {
            "queryId": query.get("queryId"),
            "requestId": query.get("requestId"),
            "obtainedAt": "2026-12-04T00:00:00Z",
            "status": "found",
            "data": data,
        }
        if subject.endswith("9"):
            answer.update(status="not-found", data={})
        if self.fault != "answers-anyone" and not self.from_gateway(body):
            answer.update(status="error", data={}, error="query refused")
        if self.fault == "slow":
            await asyncio.sleep(1.3)
        signer = self.stranger if self.fault == "foreign-signature" else self.signer
        return signer.sign(json.dumps(answer).encode())

    async def on_query(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        assert self.channel is not None
        correlation = f"x-{message.correlation_id}" if self.fault == "wrong-correlation" else message.correlation_id
        await self.channel.default_exchange.publish(
            aio_pika.Message(await self.answer(message.body, message.correlation_id), correlation_id=correlation),
            routing_key=message.reply_to or "",
        )

    def app(self) -> web.Application:
        """The same partner over HTTPS (docs/protocol.md §10.2)."""

        async def on_post(request: web.Request) -> web.Response:
            body = await self.answer(await request.read(), None)
            return web.Response(body=body, content_type="application/jose")

        app = web.Application()
        app.router.add_post("/q", on_post)
        return app


@pytest_asyncio.fixture
async def bus() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        yield await connection.channel()


def config_for(gateway: Gateway, queue: str) -> Config:
    """The session's configuration with the registry on `queue` and a birth certificate's SLA of one second."""
    config = with_provider(gateway.config, REGISTRY, queue=queue)
    catalogue = dict(config.catalogue)
    catalogue["birth-certificate"] = dataclasses.replace(catalogue["birth-certificate"], sla_seconds=1)
    return dataclasses.replace(config, catalogue=MappingProxyType(catalogue))


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("wrong-correlation", {("found", "answered"), ("not-found", "answered"), ("any", "correlation id")}),
        ("foreign-signature", {(q, "signed by the partner") for q in ("found", "not-found", "malformed",
                                                                    "not from the gateway")}),
        ("undeclared-data", {("found", "declared fields only")}),
        ("bad-data", {("found", "data fits the schema")}),
        ("slow", {("found", "within the SLA"), ("not-found", "within the SLA")}),
        ("answers-anyone", {("malformed", "no data given"), ("not from the gateway", "no data given")}),
    ],
)  # fmt: skip
async def test_each_planted_fault_is_found(
    bus: aio_pika.abc.AbstractChannel, gateway: Gateway, home: Path, fault: str, expected: set[tuple[str, str]]
) -> None:
    """A partner with one planted fault is reported with exactly the checks that fault breaks."""
    queue = f"test.partner-check.{uuid.uuid4().hex[:8]}"
    partner = FaultyPartner(bus, queue, home, fault)
    await partner.start()
    try:
        findings = await check_partner(
            config_for(gateway, queue), home, REGISTRY, AMQP_URL, document_type="birth-certificate",
            found="119725601000003511", missing="119500101900000039",
        )  # fmt: skip
    finally:
        await bus.queue_delete(queue)
    assert faults(findings) == expected


def over_https(gateway: Gateway, url: str) -> Config:
    """The session's configuration with the registry answering over HTTPS at `url`, SLA of one second."""
    config = config_for(gateway, "unused")
    registry = dataclasses.replace(config.providers[REGISTRY], adapter="rest", options=MappingProxyType({"url": url}))
    return dataclasses.replace(config, providers=MappingProxyType({**config.providers, REGISTRY: registry}))


@pytest.mark.parametrize(
    ("fault", "identity", "expected"),
    [
        ("none", REGISTRY, set()),
        ("foreign-signature", REGISTRY, {(q, "signed by the partner") for q in ("found", "not-found", "malformed",
                                                                              "not from the gateway")}),
        ("undeclared-data", REGISTRY, {("found", "declared fields only")}),
        ("slow", REGISTRY, {("found", "within the SLA"), ("not-found", "within the SLA")}),
        ("answers-anyone", REGISTRY, {("malformed", "no data given"), ("not from the gateway", "no data given")}),
        ("none", "dz.finances.dgi", {("found", "answered"), ("not-found", "answered")}),
    ],
    ids=["sound", "foreign-signature", "undeclared-data", "slow", "answers-anyone", "another-server"],
)  # fmt: skip
async def test_a_partner_over_https_is_checked_the_same_way(
    gateway: Gateway, home: Path, fault: str, identity: str, expected: set[tuple[str, str]]
) -> None:
    """A partner answering over HTTPS gets the same four queries, over mutual TLS as the rest adapter sends them;
    its faults are reported alike, and a server presenting another participant's certificate gets no answer in."""
    partner = FaultyPartner(None, "", home, fault)
    pki = home / "pki"
    tls = make_ssl_context(pki / identity / "cert.pem", pki / identity / "key.pem", pki / "ca.pem")
    async with serve(partner.app(), tls) as port:
        findings = await check_partner(
            over_https(gateway, f"https://127.0.0.1:{port}/q"), home, REGISTRY, AMQP_URL,
            document_type="birth-certificate", found="119725601000003511", missing="119500101900000039",
        )  # fmt: skip
    assert faults(findings) == expected
    if not expected:
        assert len(findings) >= 12  # every check was made, not skipped


async def test_a_partner_that_does_not_speak_the_partner_protocol_cannot_be_checked(
    gateway: Gateway, home: Path
) -> None:
    """The tax directorate answers with its own REST API: the check says so instead of sending queries
    nobody reads."""
    with pytest.raises(CheckError, match="not with the partner protocol"):
        await check_partner(gateway.config, home, "dz.finances.dgi", AMQP_URL, found="1", missing="2")


async def test_the_command_exits_2_for_a_partner_it_cannot_check(home: Path) -> None:
    """`gateway partner check` on a code that provides nothing says so and exits 2, sending nothing."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "partner", "check", "dz.nobody", "--home", str(home),
        "--found", "1", "--missing", "2", stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 2 and b"dz.nobody is not a provider" in err
