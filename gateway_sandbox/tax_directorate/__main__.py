"""Run the tax directorate (DGI) sandbox: `python -m gateway_sandbox.tax_directorate --help`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web

from gateway_sandbox import companies, event_loop
from gateway_sandbox.tax_directorate import records, server


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gateway_sandbox.tax_directorate", description="DGI sandbox: JSON REST over mutual TLS."
    )
    parser.add_argument("--db", type=Path, required=True, help="SQLite file (built if missing)")
    parser.add_argument("--seed", type=int, default=companies.DEFAULT_SEED)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--cert", type=Path, required=True, help="server certificate chain (PEM)")
    parser.add_argument("--key", type=Path, required=True, help="server private key (PEM)")
    parser.add_argument("--ca", type=Path, required=True, help="CA for client certificates (PEM)")
    parser.add_argument(
        "--allow-client",
        action="append",
        default=None,
        metavar="ORG_ID",
        help="allowed client organizationIdentifier (repeatable; default dz.exchange.gateway)",
    )
    parser.add_argument("--fault", choices=server.FAULTS, default="none")
    parser.add_argument("--delay-ms", type=int, default=0)
    return parser.parse_args(argv)


def _emit(**fields: object) -> None:
    sys.stderr.write(json.dumps(fields) + "\n")  # one write: the line stays whole beside other processes'
    sys.stderr.flush()


async def _serve(args: argparse.Namespace) -> None:
    if not args.db.exists():
        count = records.build(args.db, seed=args.seed)
        _emit(service="dgi", event="database-built", taxpayers=count)
    allowed = frozenset(args.allow_client or server.DEFAULT_ALLOWED_CLIENTS)
    with records.TaxRecords(args.db) as taxpayers:
        app = server.make_app(taxpayers, fault=args.fault, delay_ms=args.delay_ms, allowed_clients=allowed)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(
                runner, args.host, args.port, ssl_context=server.make_ssl_context(args.cert, args.key, args.ca)
            )
            await site.start()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            ports = [address[1] for address in runner.addresses]
            _emit(service="dgi", event="listening", host=args.host, ports=ports, fault=args.fault)
            await stop.wait()
            _emit(service="dgi", event="stopping")
        finally:
            await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, serve until SIGINT/SIGTERM, and return the exit status."""
    args = _parse(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    server.log.addHandler(handler)
    server.log.setLevel(logging.INFO)
    server.log.propagate = False
    event_loop.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
