"""A real gateway for the tests: real RabbitMQ, real SQLite, real crypto, the real sandbox
civil registry on the bus. Queue names are unique per test session and removed after."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import TextIO

import aio_pika
import pytest
import pytest_asyncio
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway import config as config_module
from gateway import logs
from gateway.config import Config, Participant, Quota, Requester
from gateway.runtime.worker import Gateway
from gateway.signing.pki import Issued, ensure_development_pki
from gateway.web.app import make_runner
from gateway_partner import Partner
from gateway_sandbox.civil_registry.records import Registry, build
from gateway_sandbox.civil_registry.service import civil_registry as civil_registry_service
from gateway_sandbox.commercial_register.records import RegisterRecords
from gateway_sandbox.commercial_register.records import build as register_build
from gateway_sandbox.tax_directorate.records import TaxRecords
from gateway_sandbox.tax_directorate.records import build as tax_build
from tests.e2e import partners
from tests.e2e.exchange import AMQP_URL, BusClient, with_provider

RUN = uuid.uuid4().hex[:8]
QUOTA_REQUESTER = "dz.test.quota"


def load_issued(folder: Path) -> Issued:
    key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), None)
    return Issued(key, x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes()))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gateway-home")
    base = config_module.load()
    ensure_development_pki(folder / "pki", [*base.participants, QUOTA_REQUESTER])
    (folder / "sandbox").mkdir()
    build(folder / "sandbox" / "civil-registry.sqlite3")
    return folder


@pytest.fixture(scope="session")
def log_file(home: Path) -> Iterator[Path]:
    path = home / "gateway.log"
    stream: TextIO = path.open("w", encoding="utf-8", buffering=1)
    logs.configure("INFO", stream)
    yield path
    stream.close()


@pytest.fixture(scope="session")
def ca(home: Path) -> Issued:
    key = serialization.load_pem_private_key((home / "pki" / "ca-key.pem").read_bytes(), None)
    return Issued(key, x509.load_pem_x509_certificate((home / "pki" / "ca.pem").read_bytes()))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def cnas(home: Path) -> Issued:
    return load_issued(home / "pki" / "dz.cnas")


@pytest.fixture(scope="session")
def identity(home: Path) -> Callable[[str], Issued]:
    """A participant's key and certificate, by its code, from the home's development PKI."""
    return lambda code: load_issued(home / "pki" / code)


@pytest.fixture(scope="session")
def tax_records(home: Path) -> Iterator[TaxRecords]:
    tax_build(home / "sandbox" / "tax-directorate.sqlite3")
    records = TaxRecords(home / "sandbox" / "tax-directorate.sqlite3")
    yield records
    records.close()


@pytest.fixture(scope="session")
def register_records(home: Path) -> Iterator[RegisterRecords]:
    register_build(home / "sandbox" / "commercial-register.sqlite3")
    records = RegisterRecords(home / "sandbox" / "commercial-register.sqlite3")
    yield records
    records.close()


@pytest_asyncio.fixture(scope="session")
async def partner_urls(
    home: Path, tax_records: TaxRecords, register_records: RegisterRecords
) -> AsyncIterator[dict[str, str]]:
    """The DGI and CNRC sandboxes of this session, by provider code."""
    async with (
        partners.tax_directorate(home, tax_records) as dgi,
        partners.commercial_register(home, register_records) as cnrc,
    ):
        yield {"dz.finances.dgi": dgi, "dz.commerce.cnrc": cnrc}


@pytest.fixture(scope="session")
def test_config(partner_urls: dict[str, str]) -> Config:
    """The shipped configuration, on this session's own queues and sandboxes, with a tiny-quota requester."""
    base = config_module.load()
    for code, url in partner_urls.items():
        base = with_provider(base, code, url=url)
    civil, cnas = base.providers["dz.interieur.etat-civil"], base.providers["dz.cnas"]
    providers = dict(base.providers)
    providers[civil.code] = dataclasses.replace(
        civil, options=MappingProxyType({**civil.options, "queue": f"test.{RUN}.partner.etat-civil"})
    )
    providers[cnas.code] = dataclasses.replace(
        cnas, options=MappingProxyType({**cnas.options, "queue": f"test.{RUN}.partner.cnas"})
    )
    participants = dict(base.participants)
    participants[QUOTA_REQUESTER] = Participant(QUOTA_REQUESTER, "quota test requester", ("requester",))
    requesters = dict(base.requesters)
    requesters[QUOTA_REQUESTER] = dataclasses.replace(
        base.requesters["dz.cnas"], code=QUOTA_REQUESTER, quota=Quota(per_second=0.01, burst=2)
    )
    assert isinstance(requesters[QUOTA_REQUESTER], Requester)
    config = dataclasses.replace(
        base,
        providers=MappingProxyType(providers),
        participants=MappingProxyType(participants),
        requesters=MappingProxyType(requesters),
    )
    return config.with_settings(
        request_queue=f"test.{RUN}.requests",
        dead_queue=f"test.{RUN}.dead",
        bulk_queue=f"test.{RUN}.lane.bulk",
        crl_reload_seconds=1,
        registry_reload_seconds=1,
        http_port=0,
        insights_seconds=0,  # the misuse watch runs in its own test's gateway (test_misuse_alerts)
    )


@pytest.fixture(scope="session")
def examples(home: Path, tax_records: TaxRecords, register_records: RegisterRecords) -> dict[str, dict[str, list[str]]]:
    """Found and missing subject ids for each of the seven types."""
    with Registry(home / "sandbox" / "civil-registry.sqlite3") as registry:
        out = {
            t: registry.examples(t, 3)
            for t in ("birth-certificate", "family-record", "death-record", "residence-certificate")
        }
    for kind in ("tax-status-certificate", "tax-registration"):
        out[kind] = tax_records.examples(kind, 3)
    out["commercial-register-extract"] = register_records.examples(n=3)
    return out


@pytest_asyncio.fixture(scope="session")
async def session_queues(test_config: Config) -> AsyncIterator[list[str]]:
    """This session's queue names, deleted once everything that uses them has stopped."""
    names = [
        test_config.settings.request_queue,
        f"{test_config.settings.request_queue}.probe",
        test_config.settings.dead_queue,
        test_config.settings.bulk_queue,
        str(test_config.providers["dz.interieur.etat-civil"].options["queue"]),
        str(test_config.providers["dz.cnas"].options["queue"]),
    ]
    yield names
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name)


@pytest_asyncio.fixture(scope="session")
async def civil_registry(home: Path, test_config: Config, session_queues: list[str]) -> AsyncIterator[Partner]:
    """The sandbox civil registry, built on the partner kit, on this session's queue."""
    service = civil_registry_service(
        Registry(home / "sandbox" / "civil-registry.sqlite3"),
        home / "pki",
        AMQP_URL,
        queue=str(test_config.providers["dz.interieur.etat-civil"].options["queue"]),
    )
    await service.start()
    yield service
    await service.stop()


@pytest_asyncio.fixture(scope="session")
async def gateway(home: Path, test_config: Config, civil_registry: Partner, log_file: Path) -> AsyncIterator[Gateway]:
    gw = Gateway(test_config, home)
    await gw.start()
    yield gw
    await gw.stop()


@pytest_asyncio.fixture(scope="session")
async def http(gateway: Gateway) -> AsyncIterator[str]:
    runner = make_runner(gateway)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest_asyncio.fixture(scope="session")
async def bus(gateway: Gateway) -> AsyncIterator[BusClient]:
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel(publisher_confirms=True)
    client = BusClient(channel, gateway.config.settings.request_queue)
    await client.start()
    yield client
    await connection.close()
