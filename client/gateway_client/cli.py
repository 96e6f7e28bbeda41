"""`gateway request`: one document, printed readably or as JSON, or a whole CSV file of them
with `--batch`. The same command is `gateway-client request` where only the client is
installed.

Exit status: 0 issued, 3 not-found, 4 refused, 5 failed, 6 no answer that can be trusted (no
answer in time, or a seal that does not check out), 7 an issued attestation whose PDF (`--pdf`)
the gateway would not print, 2 a request that cannot be built or bad options. A batch exits 0
when every row has its result line, 6 when some rows got no answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from gateway_client.batch import BatchError, run_batch
from gateway_client.client import Client
from gateway_client.errors import ClientError, InvalidRequest, PrintRefused, SealError, TransportError
from gateway_client.results import Attestation, Failed, NotFound, Refused, Result
from gateway_client.signing import Identity
from gateway_client.transports import REQUESTS_QUEUE

EXIT = {"issued": 0, "not-found": 3, "refused": 4, "failed": 5}
NO_TRUSTED_ANSWER = 6
PRINT_REFUSED = 7
BAD_REQUEST = 2
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"


def register(subparsers: Any) -> None:
    """Adds `request` to a command line's subcommands."""
    parser = subparsers.add_parser(
        "request",
        help="ask the exchange for a document (or, with --batch, for every row of a CSV file)",
        description="Signs a document request as a participant, sends it to the gateway, checks the seal of "
        "the answer against the exchange's CA and prints it. Exit status: 0 issued, 3 not-found, 4 refused, "
        "5 failed, 6 no answer that can be trusted, 7 PDF refused (--pdf), 2 bad input.",
    )
    parser.add_argument("type", nargs="?", help="document type, e.g. birth-certificate")
    parser.add_argument("--subject", help="the NIN, NIF or RC number the document is about")
    parser.add_argument("--purpose", help="the legal purpose, e.g. family-allowance")
    parser.add_argument("--as", dest="participant", default="dz.cnas", help="requesting participant (default dz.cnas)")
    parser.add_argument("--format", choices=("xml", "jws"), default="xml", help="request form (default xml)")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.add_argument(
        "--url",
        default=os.environ.get("GATEWAY_URL", DEFAULT_URL),
        help="the gateway: amqp://… for the bus, http://… for the HTTP API (default $GATEWAY_URL or the local broker)",
    )
    parser.add_argument(
        "--queue", default=REQUESTS_QUEUE, help=f"the gateway's request queue (default {REQUESTS_QUEUE})"
    )
    parser.add_argument("--home", type=Path, default=Path("var"), help="the gateway's state folder, for the PKI")
    parser.add_argument("--identity", type=Path, help="folder with key.pem and cert.pem (default HOME/pki/PARTICIPANT)")
    parser.add_argument("--ca", type=Path, help="the exchange's root CA (default HOME/pki/ca.pem)")
    parser.add_argument("--agency", default=os.environ.get("GATEWAY_AGENCY", "CNAS-16-001"), help="requesting office")
    parser.add_argument("--case", dest="case_reference", help="the file's reference, e.g. DOSSIER-2026-000123")
    parser.add_argument("--priority", choices=("urgent", "normal", "bulk"), default="normal")
    parser.add_argument(
        "--timeout", type=float, help="seconds to wait for an answer, retries included (default 30; 120 with --batch)"
    )
    parser.add_argument("--save", type=Path, help="write the sealed answer, as received, to this file")
    parser.add_argument(
        "--pdf", type=Path, metavar="FILE", help="with an issued attestation, write its printable PDF to this file"
    )
    batch = parser.add_argument_group("bulk runs")
    batch.add_argument("--batch", type=Path, metavar="ROWS.csv", help="CSV with columns type,subject,purpose")
    batch.add_argument("--out", type=Path, metavar="RESULTS.csv", help="results, one line per row (with --batch)")
    batch.add_argument("--in-flight", type=int, default=32, help="requests in flight at once (default 32)")
    batch.add_argument(
        "--api",
        default=os.environ.get("GATEWAY_API", "http://127.0.0.1:8080"),
        help="the HTTP API, read for the types' SLAs in the summary and asked for --pdf "
        "(default $GATEWAY_API or http://127.0.0.1:8080)",
    )
    parser.set_defaults(func=command, parser=parser)


def main(argv: Sequence[str] | None = None) -> int:
    """`gateway-client request …`, for a machine with only the client installed."""
    top = argparse.ArgumentParser(prog="gateway-client", description="Client of the document exchange.")
    register(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(argv)
    code: int = args.func(args)
    return code


def command(args: argparse.Namespace) -> int:
    if args.batch:
        if args.type or args.subject or args.purpose or not args.out:
            args.parser.error("--batch takes its types, subjects and purposes from the file, and needs --out")
    elif not (args.type and args.subject and args.purpose):
        args.parser.error("name a TYPE, --subject and --purpose (or --batch ROWS.csv --out RESULTS.csv)")
    try:
        identity = Identity.from_folder(args.identity or args.home / "pki" / args.participant)
        client = Client(
            args.url,
            identity,
            args.ca or args.home / "pki" / "ca.pem",
            agency=args.agency,
            form=args.format,
            priority=args.priority,
            timeout=args.timeout or (120.0 if args.batch else 30.0),
            queue=args.queue,
        )
    except (OSError, ValueError) as exc:
        print(f"gateway request: {exc}", file=sys.stderr)
        return BAD_REQUEST
    try:
        return asyncio.run(_batch(client, args) if args.batch else _one(client, args))
    except KeyboardInterrupt:
        if args.batch:
            print(f"\nstopped: run the same command again to resume; {args.out} keeps every result", file=sys.stderr)
        return 130


async def _one(client: Client, args: argparse.Namespace) -> int:
    try:
        result = await client.request(args.type, args.subject, args.purpose, case_reference=args.case_reference)
        pdf = None
        if args.pdf and isinstance(result, Attestation) and result.visible_seal:
            pdf = await client.pdf(result, site=args.api)
    except InvalidRequest as exc:
        print(f"gateway request: {exc}", file=sys.stderr)
        return BAD_REQUEST
    except PrintRefused as exc:
        print(f"gateway request: the attestation was not printed: {exc}", file=sys.stderr)
        return PRINT_REFUSED
    except (SealError, TransportError) as exc:
        kind = "the answer's seal does not check out" if isinstance(exc, SealError) else "no answer"
        print(f"gateway request: {kind}: {exc}", file=sys.stderr)
        return NO_TRUSTED_ANSWER
    finally:
        await client.close()
    if args.save:
        args.save.write_bytes(result.sealed)
    if pdf is not None:
        args.pdf.write_bytes(pdf)
        print(f"gateway request: the printable attestation is in {args.pdf}", file=sys.stderr)
    print(json.dumps(as_json(result), ensure_ascii=False, indent=2) if args.json else readable(result))
    if args.pdf and pdf is None:
        print(f"gateway request: no PDF: only an issued attestation is printed ({result.status})", file=sys.stderr)
    return EXIT[result.status]


def as_json(result: Result) -> dict[str, Any]:
    """The answer's fields, in the protocol's JSON words, with the sealed document as text."""
    out: dict[str, Any] = {
        "status": result.status,
        "requestId": result.request_id,
        "responseId": result.response_id,
        "issuedAt": _instant(result.issued_at),
    }
    if isinstance(result, Attestation):
        out["attestation"] = {
            "attestationId": result.attestation_id,
            "documentType": result.document_type,
            "provider": result.provider,
            "purpose": result.purpose,
            "subject": dict(result.subject),
            "obtainedAt": _instant(result.obtained_at),
            "validUntil": _instant(result.valid_until),
            "verificationUrl": result.verification_url,
            "data": dict(result.data),
        }
    elif isinstance(result, Refused | Failed):
        p = result.problem
        out["problem"] = {"code": p.code, "retryable": p.retryable, "message": {"fr": p.message_fr, "ar": p.message_ar}}
        if p.retry_after is not None:
            out["problem"]["retryAfter"] = p.retry_after
    out["sealed"] = result.sealed.decode("utf-8")
    return out


def readable(result: Result) -> str:
    """The answer as an agent reads it on a terminal."""
    if isinstance(result, Refused | Failed):
        p = result.problem
        return "\n".join(
            [
                f"{result.status}: {p.code}" + (f" (retry in {p.retry_after} s)" if p.retry_after else ""),
                f"  {p.message_fr}",
                f"  {p.message_ar}",
                f"request {result.request_id}",
            ]
        )
    assert isinstance(result, Attestation)
    kind = "no record: a sealed certificate of absence" if isinstance(result, NotFound) else "issued"
    subject = ", ".join(f"{k.upper()} {v}" for k, v in result.subject.items())
    lines = [
        f"{result.document_type} for {subject}, purpose {result.purpose}: {kind}",
        f"  attestation   {result.attestation_id}",
        f"  provider      {result.provider}",
        f"  obtained      {_instant(result.obtained_at)}",
        f"  valid until   {_instant(result.valid_until)}",
        f"  verify at     {result.verification_url}",
    ]
    if result.data:
        width = max(len(k) for k in result.data)
        lines.append("  data")
        lines += [f"    {key:<{width}}  {_text(value)}" for key, value in result.data.items()]
    return "\n".join(lines)


def _text(value: Any) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _instant(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


async def _batch(client: Client, args: argparse.Namespace) -> int:
    sla = await _slas(args.api)
    try:
        summary = await run_batch(
            client,
            args.batch,
            args.out,
            in_flight=args.in_flight,
            timeout=client.timeout,
            sla=sla,
        )
    except BatchError as exc:
        print(f"gateway request: {exc}", file=sys.stderr)
        return BAD_REQUEST
    except ClientError as exc:
        print(f"gateway request: {exc}", file=sys.stderr)
        return NO_TRUSTED_ANSWER
    finally:
        await client.close()
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    for line in summary.lines():
        print(line, file=sys.stderr)
    if sla is None:
        print(f"(the SLAs were not read: {args.api} did not answer)", file=sys.stderr)
    return 0 if summary.complete else NO_TRUSTED_ANSWER


async def _slas(api: str) -> dict[str, int] | None:
    """Each type's SLA in seconds, from the catalogue the gateway serves; None when it does not answer."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(api.rstrip("/") + "/v1/document-types", timeout=aiohttp.ClientTimeout(total=5)) as response,
        ):
            types = await response.json()
        return {str(t["name"]): int(t["slaSeconds"]) for t in types}
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, KeyError, TypeError):
        return None
