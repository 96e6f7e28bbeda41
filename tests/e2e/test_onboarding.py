"""Joining from nothing, against a running gateway and the real broker, with no restart: a new provider
makes its key and request and is registered, its document type is added, its service (on the partner
kit) answers, a new requester is granted the type and its request is issued. Then both are revoked."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aio_pika
import aiohttp
from cryptography import x509

from gateway.registry import catalogue, policy
from gateway.registry.enrolment import make_request
from gateway.registry.participants import Registry
from gateway.runtime.worker import Gateway
from gateway.signing.pki import PrivateKey, cert_pem, key_pem
from gateway_client import Identity, request_fields, signed_request
from gateway_partner import Found, NotFound, Partner, PartnerIdentity, Query, RestPartner
from tests.e2e.exchange import AMQP_URL

PENSIONS = {"119725601000003511": {"pensionStatus": "active", "monthlyAmount": "42000.00", "since": "2019-07-01"}}


def type_file(queue: str, provider: str = "dz.test.pensions-fund") -> str:
    return f"""
[types.pension-status]
provider = "{provider}"
subject = "NIN"
sla_seconds = 5
validity_days = 30
fields = ["pensionStatus", "monthlyAmount", "since"]
[types.pension-status.purposes]
benefit-review = ["pensionStatus", "monthlyAmount"]
[types.pension-status.field_kinds]
monthlyAmount = "decimal"
since = "date"

[providers."{provider}"]
adapter = "bus"
queue = "{queue}"
"""


def rest_type_file(url: str, provider: str) -> str:
    """The same type, for a provider that answers over HTTPS: only its `[providers]` block differs."""
    bus_block = 'adapter = "bus"\nqueue = "unused"'
    return type_file("unused", provider).replace(bus_block, f'adapter = "rest"\nurl = "{url}"')


def keep_identity(folder: Path, key: PrivateKey, cert: x509.Certificate) -> Path:
    """Writes a participant's key (0600) and certificate as `gateway participant keygen` and register leave them."""
    folder.mkdir()
    descriptor = os.open(folder / "key.pem", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_pem(key))
    (folder / "cert.pem").write_bytes(cert_pem(cert))
    return folder


async def answer(query: Query) -> Found | NotFound:
    record = PENSIONS.get(query.subject_id)
    return Found(record) if record else NotFound()


async def served(gateway: Gateway, name: str, seconds: float) -> None:
    """Returns once the worker serves the type `name`; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while name not in gateway.config.catalogue:
        assert time.monotonic() < deadline, f"the new type {name} was not applied"
        await asyncio.sleep(0.2)


async def post(http: str, body: bytes) -> tuple[int, str | None, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{http}/v1/requests", data=body, headers={"Content-Type": "application/xml"}) as answer,
    ):
        return answer.status, answer.headers.get("X-Problem"), await answer.read()


async def eventually(ask: Callable[[], Awaitable[tuple[int, str | None, bytes]]], expected: tuple[int, str | None],
                     seconds: float) -> tuple[int, str | None, bytes]:  # fmt: skip
    """Asks again until the answer's status and problem are `expected`, or `seconds` passed."""
    deadline = time.monotonic() + seconds
    answer = await ask()
    while answer[:2] != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        answer = await ask()
    return answer


async def test_a_provider_and_a_requester_join_and_leave_without_a_restart(
    home: Path, gateway: Gateway, http: str, tmp_path: Path
) -> None:
    """From keygen to an issued attestation of a type added at run time, then provider_error once the provider
    is revoked and certificate_revoked once the requester is: all within the reload times."""
    seeds = {code: (p.name, p.roles) for code, p in gateway.seed.participants.items()}
    registry = Registry(home / "pki", seeds)
    reload = gateway.config.settings.registry_reload_seconds + gateway.config.settings.crl_reload_seconds + 10

    # the pension fund: its key and request, registered as a provider by the exchange
    fund_key, fund_csr = make_request("dz.test.pensions-fund", "Caisse des retraites (test)")
    _, fund_cert = registry.register(fund_csr, "provider")
    fund_folder = keep_identity(tmp_path / "fund", fund_key, fund_cert)

    # its document type, and its service on the partner kit
    queue = f"test.{uuid.uuid4().hex[:8]}.partner.pensions"
    catalogue.add(policy.effective(gateway.seed, home), home, type_file(queue), "pension-status.toml")
    fund = Partner(PartnerIdentity.from_folder(fund_folder), home / "pki" / "ca.pem", AMQP_URL, answer, queue=queue)
    await fund.start()
    try:
        # a requester from nothing, granted the new type
        agency_key, agency_csr = make_request("dz.test.agency", "Agence (test)")
        _, agency_cert = registry.register(agency_csr, "requester")
        identity = Identity(agency_key, [agency_cert])

        def ask() -> Awaitable[tuple[int, str | None, bytes]]:
            fields = request_fields("pension-status", {"nin": "119725601000003511"}, "benefit-review",
                                    requester="dz.test.agency")  # fmt: skip
            return post(http, signed_request(identity, fields))

        # a worker serves the new type within its reload time
        await served(gateway, "pension-status", reload)
        policy.grant(gateway.seed, home, "dz.test.agency", "pension-status", ["benefit-review"])
        status, problem, body = await eventually(ask, (200, None), reload)
        assert (status, problem) == (200, None), body[:300]
        assert b"<PensionStatus>active</PensionStatus>" in body and b"<Since>" not in body  # minimised
        async with aiohttp.ClientSession() as session, session.get(f"{http}/v1/schemas/pension-status.xsd") as got:
            assert got.status == 200 and b"MonthlyAmount" in await got.read()

        # the provider leaves: its answers are refused
        registry.revoke("dz.test.pensions-fund", "test: left the exchange")
        assert (await eventually(ask, (502, "provider_error"), reload))[:2] == (502, "provider_error")
        # the requester leaves: its requests are refused
        registry.revoke("dz.test.agency", "test: left the exchange")
        assert (await eventually(ask, (401, "certificate_revoked"), reload))[:2] == (401, "certificate_revoked")
    finally:
        await fund.stop()
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            await (await connection.channel()).queue_delete(queue)


async def test_a_provider_over_https_joins_with_configuration_only(
    home: Path, gateway: Gateway, http: str, tmp_path: Path
) -> None:
    """A provider that answers over HTTPS (the partner kit's RestPartner) joins with a type file naming the `rest`
    adapter and its URL: a requester's request is issued without a restart, and provider_error once it is revoked."""
    seeds = {code: (p.name, p.roles) for code, p in gateway.seed.participants.items()}
    registry = Registry(home / "pki", seeds)
    reload = gateway.config.settings.registry_reload_seconds + gateway.config.settings.crl_reload_seconds + 10
    code = "dz.test.pensions-https"
    key, csr = make_request(code, "Caisse des retraites, HTTPS (test)")
    _, cert = registry.register(csr, "provider", hosts=("127.0.0.1",))
    folder = keep_identity(tmp_path / "fund", key, cert)
    fund = RestPartner(folder, home / "pki" / "ca.pem", answer, host="127.0.0.1", port=0)
    await fund.start()
    try:
        url = f"https://127.0.0.1:{fund.port}{fund.path}"
        text = rest_type_file(url, code).replace("pension-status", "pension-https")
        doc_type = catalogue.add(policy.effective(gateway.seed, home), home, text, "pension-https.toml")
        agency_key, agency_csr = make_request("dz.test.agency-https", "Agence (test)")
        _, agency_cert = registry.register(agency_csr, "requester")
        identity = Identity(agency_key, [agency_cert])
        await served(gateway, doc_type.name, reload)
        policy.grant(gateway.seed, home, "dz.test.agency-https", doc_type.name, ["benefit-review"])

        def ask() -> Awaitable[tuple[int, str | None, bytes]]:
            fields = request_fields(doc_type.name, {"nin": "119725601000003511"}, "benefit-review",
                                    requester="dz.test.agency-https")  # fmt: skip
            return post(http, signed_request(identity, fields))

        status, problem, body = await eventually(ask, (200, None), reload)
        assert (status, problem) == (200, None), body[:300]
        assert b"<PensionStatus>active</PensionStatus>" in body and fund.partner.answered >= 1
        registry.revoke(code, "test: left the exchange")
        assert (await eventually(ask, (502, "provider_error"), reload))[:2] == (502, "provider_error")
    finally:
        await fund.stop()
