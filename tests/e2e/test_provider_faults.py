"""Providers that fail, seen end to end over the bus: each fault ends in its own sealed
`failed` answer with its problem code, and the same gateway goes on serving the others."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import MappingProxyType

import aio_pika
import pytest

from gateway.config import Config
from gateway.runtime.worker import Gateway
from gateway.signing.pki import Issued
from gateway_sandbox.commercial_register.records import RegisterRecords
from gateway_sandbox.tax_directorate.records import TaxRecords
from tests.e2e import partners
from tests.e2e.exchange import AMQP_URL, BusClient, signed_xml, with_provider

Examples = dict[str, dict[str, list[str]]]
pytestmark = pytest.mark.usefixtures("civil_registry")  # the side gateways ask the session's registry


@asynccontextmanager
async def side_gateway(home: Path, config: Config) -> AsyncIterator[BusClient]:
    """A second gateway worker with its own request queues and `config`, and a client of it."""
    run = uuid.uuid4().hex[:8]
    config = config.with_settings(
        request_queue=f"test.{run}.requests", dead_queue=f"test.{run}.dead", bulk_queue=f"test.{run}.lane.bulk"
    )
    gateway = Gateway(config, home)
    await gateway.start()
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        client = BusClient(channel, config.settings.request_queue)
        await client.start()
        yield client
    finally:
        await gateway.stop()
        channel = await connection.channel()
        s = config.settings
        for name in (s.request_queue, s.dead_queue, s.bulk_queue, f"{s.request_queue}.probe"):
            await channel.queue_delete(name)
        await connection.close()


def tax_request(cnas: Issued, examples: Examples) -> Callable[[], tuple[str, bytes]]:
    return lambda: signed_xml(
        cnas,
        document_type="tax-status-certificate",
        purpose="contribution-recovery",
        subject={"nif": examples["tax-status-certificate"]["found"][0]},
    )


async def assert_failed_then_serving(
    client: BusClient,
    cnas: Issued,
    examples: Examples,
    document_type: str,
    subject: dict[str, str],
    purpose: str,
    code: str,
) -> None:
    rid, body = signed_xml(cnas, document_type=document_type, purpose=purpose, subject=subject)
    reply = await client.call(body, message_id=rid, timeout=30)
    assert (reply.status, reply.problem) == ("failed", code)
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    assert (await client.call(body, message_id=rid)).status == "issued"


@pytest.mark.parametrize(
    ("fault", "code"),
    [("error", "provider_error"), ("malformed", "provider_error"), ("down-after-headers", "provider_error")],
)
async def test_tax_directorate_faults(
    home: Path, test_config: Config, tax_records: TaxRecords, cnas: Issued, examples: Examples, fault: str, code: str
) -> None:
    """A DGI that answers 500, a non-JSON body or a cut connection gives provider_error; others still served."""
    async with (
        partners.tax_directorate(home, tax_records, fault=fault) as url,
        side_gateway(home, with_provider(test_config, "dz.finances.dgi", url=url, retries=0)) as client,
    ):
        await assert_failed_then_serving(
            client,
            cnas,
            examples,
            "tax-status-certificate",
            {"nif": examples["tax-status-certificate"]["found"][0]},
            "contribution-recovery",
            code,
        )


async def test_tax_directorate_down(home: Path, test_config: Config, cnas: Issued, examples: Examples) -> None:
    """A DGI where nothing listens gives provider_unavailable; others still served."""
    config = with_provider(test_config, "dz.finances.dgi", url=partners.refused_url(), retries=0)
    async with side_gateway(home, config) as client:
        await assert_failed_then_serving(
            client,
            cnas,
            examples,
            "tax-status-certificate",
            {"nif": examples["tax-status-certificate"]["found"][0]},
            "contribution-recovery",
            "provider_unavailable",
        )


async def test_slow_tax_directorate_is_provider_timeout(
    home: Path, test_config: Config, tax_records: TaxRecords, cnas: Issued, examples: Examples
) -> None:
    """A DGI slower than the type's SLA (1 s here) gives provider_timeout; others still served."""
    catalogue = dict(test_config.catalogue)
    catalogue["tax-status-certificate"] = dataclasses.replace(catalogue["tax-status-certificate"], sla_seconds=1)
    async with partners.tax_directorate(home, tax_records, fault="slow", delay_ms=3000) as url:
        config = dataclasses.replace(
            with_provider(test_config, "dz.finances.dgi", url=url, retries=0), catalogue=MappingProxyType(catalogue)
        )
        async with side_gateway(home, config) as client:
            await assert_failed_then_serving(
                client,
                cnas,
                examples,
                "tax-status-certificate",
                {"nif": examples["tax-status-certificate"]["found"][0]},
                "contribution-recovery",
                "provider_timeout",
            )


@pytest.mark.parametrize("fault", ["badsig", "error", "malformed"])
async def test_commercial_register_faults(
    home: Path, test_config: Config, register_records: RegisterRecords, cnas: Issued, examples: Examples, fault: str
) -> None:
    """A CNRC whose extract was altered after signing, or that faults, gives provider_error; others served."""
    async with (
        partners.commercial_register(home, register_records, fault=fault) as url,
        side_gateway(home, with_provider(test_config, "dz.commerce.cnrc", url=url, retries=0)) as client,
    ):
        await assert_failed_then_serving(
            client,
            cnas,
            examples,
            "commercial-register-extract",
            {"rc": examples["commercial-register-extract"]["found"][0]},
            "employer-registration",
            "provider_error",
        )
