"""Fixtures for the sandbox tests: a throwaway PKI, built databases and an in-process server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from ssl import SSLContext

import pytest
from aiohttp import web

from gateway_sandbox.commercial_register import records as register_records
from gateway_sandbox.tax_directorate import records as tax_records
from tests.sandbox._pki import Pki, make_pki
from tests.sandbox.support import Serve


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a server leaf, client leaves and a CNRC signer, valid for this session."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def tax_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DGI database built once with the default seed."""
    path = tmp_path_factory.mktemp("dgi") / "dgi.sqlite"
    tax_records.build(path)
    return path


@pytest.fixture(scope="session")
def register_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CNRC database built once with the default seed."""
    path = tmp_path_factory.mktemp("cnrc") / "cnrc.sqlite"
    register_records.build(path)
    return path


@asynccontextmanager
async def _running(app: web.Application, ssl_context: SSLContext | None = None) -> AsyncIterator[int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


@pytest.fixture
def serve() -> Serve:
    """Return `serve(app, ssl_context=None)`: an async context manager yielding the bound port."""
    return _running
