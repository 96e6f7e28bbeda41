"""Fixtures for the adapter tests: a development PKI, the adapters' context, the sandbox
databases, and the two sandbox administrations running in-process on ephemeral ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway import adapters as adapter_registry
from gateway.adapters.base import Adapter, AdapterContext
from gateway.config import Provider
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import SANDBOX_PARTICIPANTS, Issued, ensure_development_pki, load_identity
from gateway.signing.trust import TrustStore
from gateway_sandbox.commercial_register import RegisterRecords
from gateway_sandbox.commercial_register import build as build_register
from gateway_sandbox.commercial_register import make_app as register_app
from gateway_sandbox.tax_directorate import TaxRecords
from gateway_sandbox.tax_directorate import build as build_tax
from gateway_sandbox.tax_directorate import make_app as tax_app
from tests.adapters.adapter_kit import (
    CNRC,
    DGI,
    GATEWAY,
    TEST_ADMINISTRATION,
    Running,
    Sandbox,
    serve,
    server_tls,
    signing_identity,
)


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A development PKI (`ensure_development_pki`) with the sandbox participants and a test administration."""
    folder = tmp_path_factory.mktemp("adapters-pki")
    ensure_development_pki(folder, [*SANDBOX_PARTICIPANTS, TEST_ADMINISTRATION])
    return folder


@pytest.fixture(scope="session")
def ca(pki_dir: Path) -> Issued:
    """The development CA, to mint certificates the tests need."""
    key = serialization.load_pem_private_key((pki_dir / "ca-key.pem").read_bytes(), None)
    assert isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey))
    return Issued(key, x509.load_pem_x509_certificate((pki_dir / "ca.pem").read_bytes()))


@pytest.fixture(scope="session")
def context(pki_dir: Path) -> AdapterContext:
    """What the gateway hands every adapter: its identity, the exchange anchors, the PKI folder."""
    key, chain = load_identity(pki_dir / GATEWAY)
    trust = TrustStore.from_pem_file(pki_dir / "ca.pem", pki_dir / "crl")
    return AdapterContext(None, JWSSigner(key, chain), trust, GATEWAY, pki_dir)


@pytest.fixture(scope="session")
def tax_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaxRecords]:
    """The DGI sandbox's database, built once."""
    path = tmp_path_factory.mktemp("dgi") / "dgi.sqlite3"
    build_tax(path)
    with TaxRecords(path) as records:
        yield records


@pytest.fixture(scope="session")
def register_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegisterRecords]:
    """The CNRC sandbox's database, built once."""
    path = tmp_path_factory.mktemp("cnrc") / "cnrc.sqlite3"
    build_register(path)
    with RegisterRecords(path) as records:
        yield records


@pytest.fixture
def tax_sandbox(tax_records: TaxRecords, pki_dir: Path) -> Sandbox:
    """`tax_sandbox(fault=..., delay_ms=..., code=DGI)`: the DGI sandbox over mutual TLS; yields its base URL."""

    @asynccontextmanager
    async def running(code: str = DGI, **options: Any) -> AsyncIterator[str]:
        async with serve(tax_app(tax_records, **options), server_tls(pki_dir, code)) as port:
            yield f"https://127.0.0.1:{port}"

    return running


@pytest.fixture
def register_sandbox(register_records: RegisterRecords, pki_dir: Path) -> Sandbox:
    """`register_sandbox(fault=..., delay_ms=..., signer=CNRC)`: the CNRC sandbox; yields its SOAP URL."""

    @asynccontextmanager
    async def running(signer: str = CNRC, **options: Any) -> AsyncIterator[str]:
        key, chain = signing_identity(pki_dir, signer)
        async with serve(register_app(register_records, key, chain, **options)) as port:
            yield f"http://127.0.0.1:{port}/soap"

    return running


@pytest.fixture
def adapter(context: AdapterContext) -> Running:
    """`adapter(code, module, url, **options)`: an adapter made through the registry, started and closed."""

    @asynccontextmanager
    async def running(code: str, module: str, url: str, **options: Any) -> AsyncIterator[Adapter]:
        made = adapter_registry.create(Provider(code, module, MappingProxyType({"url": url, **options})), context)
        await made.start()
        try:
            yield made
        finally:
            await made.close()

    return running


@pytest_asyncio.fixture
async def tax_adapter(adapter: Running, tax_sandbox: Sandbox) -> AsyncIterator[Adapter]:
    """The DGI adapter, against the healthy DGI sandbox."""
    async with tax_sandbox() as url, adapter(DGI, "tax_directorate", url) as made:
        yield made


@pytest_asyncio.fixture
async def register_adapter(adapter: Running, register_sandbox: Sandbox) -> AsyncIterator[Adapter]:
    """The CNRC adapter, against the healthy CNRC sandbox."""
    async with register_sandbox() as url, adapter(CNRC, "commercial_register", url) as made:
        yield made
