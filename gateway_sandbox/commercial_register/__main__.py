"""Run the commercial register (CNRC) sandbox: `python -m gateway_sandbox.commercial_register`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from gateway_sandbox import companies, event_loop
from gateway_sandbox.commercial_register import records, server

_PEM_END = b"-----END CERTIFICATE-----"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gateway_sandbox.commercial_register", description="CNRC sandbox: SOAP 1.1 with signed extracts."
    )
    parser.add_argument("--db", type=Path, required=True, help="SQLite file (built if missing)")
    parser.add_argument("--seed", type=int, default=companies.DEFAULT_SEED)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--cert", type=Path, required=True, help="signing certificate, optionally followed by its chain (PEM)"
    )
    parser.add_argument("--key", type=Path, required=True, help="ECDSA signing key (PEM)")
    parser.add_argument("--fault", choices=server.FAULTS, default="none")
    parser.add_argument("--delay-ms", type=int, default=0)
    return parser.parse_args(argv)


def _emit(**fields: object) -> None:
    sys.stderr.write(json.dumps(fields) + "\n")  # one write: the line stays whole beside other processes'
    sys.stderr.flush()


def split_pem_chain(data: bytes) -> list[bytes]:
    """Split a PEM bundle into one PEM block per certificate, in file order."""
    return [
        block.strip() + b"\n" + _PEM_END + b"\n"
        for block in data.split(_PEM_END)
        if b"-----BEGIN CERTIFICATE-----" in block
    ]


def load_signer(cert: Path, key: Path) -> tuple[ec.EllipticCurvePrivateKey, list[bytes]]:
    """Load the ECDSA signing key and the PEM certificate chain once, at startup."""
    private_key = load_pem_private_key(key.read_bytes(), password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise SystemExit("--key must be an ECDSA private key")
    chain = split_pem_chain(cert.read_bytes())
    if not chain:
        raise SystemExit("--cert holds no PEM certificate")
    return private_key, chain


async def _serve(args: argparse.Namespace) -> None:
    signer_key, chain = load_signer(args.cert, args.key)
    if not args.db.exists():
        count = records.build(args.db, seed=args.seed)
        _emit(service="cnrc", event="database-built", entries=count)
    with records.RegisterRecords(args.db) as register:
        app = server.make_app(register, signer_key, chain, fault=args.fault, delay_ms=args.delay_ms)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, args.host, args.port)
            await site.start()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            ports = [address[1] for address in runner.addresses]
            _emit(service="cnrc", event="listening", host=args.host, ports=ports, fault=args.fault)
            await stop.wait()
            _emit(service="cnrc", event="stopping")
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
