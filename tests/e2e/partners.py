"""In-process DGI and CNRC sandboxes for the gateway tests, on ephemeral ports, with the
test home's PKI: the same programs `gateway up` runs, reached over their real transports."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway_sandbox.commercial_register import server as register_server
from gateway_sandbox.commercial_register.records import RegisterRecords
from gateway_sandbox.tax_directorate import make_app as tax_app
from gateway_sandbox.tax_directorate import make_ssl_context
from gateway_sandbox.tax_directorate.records import TaxRecords


@asynccontextmanager
async def _serve(app: web.Application, tls: Any = None) -> AsyncIterator[int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


@asynccontextmanager
async def tax_directorate(home: Path, records: TaxRecords, **options: Any) -> AsyncIterator[str]:
    """The DGI sandbox over mutual TLS; yields its base URL."""
    pki = home / "pki"
    tls = make_ssl_context(pki / "dz.finances.dgi" / "cert.pem", pki / "dz.finances.dgi" / "key.pem", pki / "ca.pem")
    async with _serve(tax_app(records, **options), tls) as port:
        yield f"https://127.0.0.1:{port}"


@asynccontextmanager
async def commercial_register(home: Path, records: RegisterRecords, **options: Any) -> AsyncIterator[str]:
    """The CNRC sandbox (SOAP, signed extracts); yields its SOAP URL."""
    folder = home / "pki" / "dz.commerce.cnrc"
    key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    app = register_server.make_app(records, key, [(folder / "cert.pem").read_bytes()], **options)
    async with _serve(app) as port:
        yield f"http://127.0.0.1:{port}/soap"


def refused_url(scheme: str = "https") -> str:
    """A URL on a local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}"
