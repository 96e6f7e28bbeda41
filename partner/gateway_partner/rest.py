"""Answering the gateway's queries over HTTPS (docs/protocol.md §10.2), with the same one function.

The gateway POSTs each query, the same compact JWS as on the bus, with
`Content-Type: application/jose`; the answer is the signed JWS, `200 application/jose`. The
server speaks mutual TLS: it presents the partner's certificate (issued by the exchange, naming
the server's host) and accepts only clients whose certificate the exchange CA issued.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from aiohttp import web

from gateway_partner.service import Handler, Partner, PartnerIdentity, until_signalled

CONTENT_TYPE = "application/jose"
MAX_QUERY_BYTES = 64 * 1024


def server_tls(identity_folder: str | Path, ca: str | Path) -> ssl.SSLContext:
    """TLS for the partner's server: its own certificate, and clients only from the exchange CA."""
    folder = Path(identity_folder).expanduser()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(Path(ca).expanduser()))
    tls.load_cert_chain(str(folder / "cert.pem"), str(folder / "key.pem"))
    tls.verify_mode = ssl.CERT_REQUIRED
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    return tls


@dataclass
class RestPartner:
    """Serves `handler` at `https://host:port/path` until stopped.

    `identity_folder` holds `key.pem` and `cert.pem`; `ca` is the exchange's root CA.
    `concurrency` bounds the queries answered at once (others wait for a turn);
    `answer_timeout` bounds one call of the handler, past which the answer is an error.
    """

    identity_folder: str | Path
    ca: str | Path
    handler: Handler
    host: str = "0.0.0.0"
    port: int = 8443
    path: str = "/gateway/queries"
    concurrency: int = 32
    answer_timeout: float = 30.0
    log_stream: IO[str] = field(default_factory=lambda: sys.stderr)
    partner: Partner = field(init=False)
    _runner: web.AppRunner | None = field(default=None, init=False)
    _turns: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        identity = PartnerIdentity.from_folder(self.identity_folder)
        self.partner = Partner(
            identity, self.ca, "", self.handler, answer_timeout=self.answer_timeout, log_stream=self.log_stream
        )
        self._turns = asyncio.Semaphore(max(1, self.concurrency))

    def app(self) -> web.Application:
        """The web application alone (for a program that runs its own server)."""
        app = web.Application(client_max_size=MAX_QUERY_BYTES)
        app.router.add_post(self.path, self._on_query)
        return app

    async def _on_query(self, request: web.Request) -> web.Response:
        if request.content_type != CONTENT_TYPE:
            return web.Response(status=415, text=f"a query is {CONTENT_TYPE}\n")
        body = await request.read()
        async with self._turns:
            payload = await self.partner.answer(body)
        self.partner.answered += 1
        # A refused query (not signed by the gateway, unreadable) is answered 400 with the signed error.
        status = 400 if payload.get("queryId") is None else 200
        return web.Response(status=status, body=self.partner.sign(payload), content_type=CONTENT_TYPE)

    async def start(self) -> None:
        """Starts listening."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        tls = server_tls(self.identity_folder, self.ca)
        await web.TCPSite(self._runner, self.host, self.port, ssl_context=tls).start()
        self.port = int(self._runner.addresses[0][1])  # the port taken, when 0 asked for any
        self.partner.log("started", url=f"https://{self.host}:{self.port}{self.path}", concurrency=self.concurrency)

    async def stop(self, grace: float = 10.0) -> None:
        """Takes no new query, lets those in hand be answered (at most `grace` seconds), then closes."""
        if self._runner is not None:
            await self._runner.shutdown()
            await asyncio.wait_for(self._runner.cleanup(), grace)
            self._runner = None
        self.partner.log("stopped", answered=self.partner.answered)

    async def serve(self) -> None:
        """Runs until SIGINT or SIGTERM, then stops gracefully."""
        await until_signalled(self.start, self.stop)
