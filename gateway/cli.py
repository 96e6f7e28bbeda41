"""The `gateway` command (PROTOCOL §8): `up`, `sandbox examples`, `report`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import structlog
from aiohttp import web

from gateway import config as config_module
from gateway import event_loop, logs, report, sandboxes
from gateway.signing.pki import ensure_development_pki

log = structlog.get_logger("gateway.cli")

def _home(value: str) -> Path:
    return Path(value).resolve()


def _stop_signal() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _terminate(children: list[subprocess.Popen[bytes]], wait: float) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            child.kill()


async def _run_worker(home: Path, reuse_port: bool) -> int:
    """One gateway worker in this process: bus intake and web server, until SIGINT or SIGTERM."""
    from gateway.runtime import Gateway
    from gateway.web import make_app

    config = config_module.load()
    gateway = Gateway(config, home)
    runner: web.AppRunner | None = None
    stop = _stop_signal()
    try:
        await gateway.start()
        runner = web.AppRunner(make_app(gateway), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, config.settings.http_host, config.settings.http_port, reuse_port=reuse_port)
        await site.start()
        log.info("http_listening", host=config.settings.http_host, port=config.settings.http_port)
        await stop.wait()
        log.info("stopping")
    finally:
        if runner is not None:
            await runner.cleanup()
        await gateway.stop()
    return 0


async def _supervise(home: Path, workers: int) -> int:
    """`workers` worker processes sharing the web port; one that dies is started again."""
    command = [sys.executable, "-m", "gateway", "up", "--home", str(home), "--no-sandboxes", "--reuse-port"]
    children = [subprocess.Popen(command) for _ in range(workers)]
    stop = _stop_signal()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        for i, child in enumerate(children):
            if child.poll() is not None and not stop.is_set():
                log.error("worker_died", pid=child.pid, returncode=child.returncode)
                children[i] = subprocess.Popen(command)
    log.info("stopping", workers=len(children))
    _terminate(children, config_module.load().settings.shutdown_grace_seconds + 10)
    return 0


async def _run_up(home: Path, with_sandboxes: bool, workers: int, reuse_port: bool) -> int:
    config = config_module.load()
    ensure_development_pki(home / "pki", config.participants)
    children: list[subprocess.Popen[bytes]] = []
    if with_sandboxes:
        children = [subprocess.Popen(command) for command in sandboxes.commands(home, config)]
    try:
        if workers > 1:
            return await _supervise(home, workers)
        return await _run_worker(home, reuse_port)
    finally:
        _terminate(children, 10)


def cmd_up(args: argparse.Namespace) -> int:
    logs.configure(os.environ.get("GATEWAY_LOG_LEVEL", "INFO"), for_good=True)
    return event_loop.run(_run_up(_home(args.home), not args.no_sandboxes, args.workers, args.reuse_port))


async def _audit_verify(home: Path) -> int:
    from gateway import audit
    from gateway.runtime import open_store

    store = open_store(config_module.load(), home)
    await store.open()
    try:
        chain, head = await store.audit_chain()
    finally:
        await store.close()
    verdict = audit.verify(chain, head)
    if verdict.ok:
        print(f"audit journal intact: {verdict.entries} entries, head {verdict.head}")
        return 0
    print(f"audit journal BROKEN at entry {verdict.broken_at}: {verdict.reason} "
          f"({verdict.entries - 1} entries before it verify)")
    return 1


def cmd_audit_verify(args: argparse.Namespace) -> int:
    return asyncio.run(_audit_verify(_home(args.home)))


async def _audit_subject(home: Path, identifier: str, as_json: bool) -> int:
    from gateway.audit import access_report
    from gateway.logs import subject_ref
    from gateway.runtime import log_key, open_store

    store = open_store(config_module.load(), home)
    await store.open()
    try:
        entries = await store.audit_by_subject(subject_ref(log_key(home), identifier.strip()))
    finally:
        await store.close()
    rows = access_report(entries)
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{len(rows)} request(s) about this person")
        for r in rows:
            print(f"{r['at']}  {r['requester']} ({r['agency']}) asked {r['provider']} for {r['documentType']}, "
                  f"purpose {r['purpose']}: {r['status']}")
    return 0


def cmd_audit_subject(args: argparse.Namespace) -> int:
    return asyncio.run(_audit_subject(_home(args.home), args.identifier, args.json))


async def _operator_add(home: Path, name: str, password: str) -> int:
    from gateway.operators import NAME, hash_password
    from gateway.runtime import open_store
    from gateway.store import AuditEntry

    if not NAME.match(name):
        print("an operator name is 2 to 40 characters: lowercase letters, digits, '.', '_' or '-'", file=sys.stderr)
        return 2
    if len(password) < 12:
        print("the password must have at least 12 characters", file=sys.stderr)
        return 2
    hashed = await asyncio.to_thread(hash_password, password)
    store = open_store(config_module.load(), home)
    await store.open()
    try:
        created = await store.put_operator(name, hashed)
        await store.record(AuditEntry(dt.datetime.now(dt.UTC), str(uuid.uuid4()), "operator", name, None, None,
                                      None, None, None, "operator_added" if created else "password_reset", None,
                                      "", "", None), None)
    finally:
        await store.close()
    print(f"operator {name}: {'created' if created else 'password reset'}")
    return 0


def cmd_operator_add(args: argparse.Namespace) -> int:
    if not args.password_stdin:
        print("pass the password on standard input with --password-stdin", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    return asyncio.run(_operator_add(_home(args.home), args.name, password))


async def _report(home: Path, period: report.Period, out: Path) -> int:
    from gateway.runtime import open_store

    store = open_store(config_module.load(), home)
    await store.open()
    try:
        built = await report.build(store, period)
    finally:
        await store.close()
    for path in report.write(built, out):
        print(path)
    overall = built.total()
    sla = f"{report.percent(overall)} % answered within SLA" if overall.sla_bound else "no SLA-bound request"
    print(f"report {period.label}: {overall.volume} requests, {sla}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    for kind in ("month", "week", "day"):
        if getattr(args, kind) is not None and kind != args.period:
            args.parser.error(f"argument --{kind}: needs --period {kind}")  # exits 2, as argparse does
    period = getattr(args, args.period) or report.last_complete(args.period, dt.datetime.now(dt.UTC))
    home = _home(args.home)
    out = _home(args.out) if args.out else home / "reports" / period.label
    return asyncio.run(_report(home, period, out))


def _period_value(parse: Callable[[str], report.Period]) -> Callable[[str], report.Period]:
    """An argparse type for --month, --week or --day: a bad value is a usage error (exit 2)."""
    def check(value: str) -> report.Period:
        try:
            return parse(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return check


def cmd_sandbox_examples(args: argparse.Namespace) -> int:
    examples = sandboxes.examples(_home(args.home))
    if args.json:
        print(json.dumps(examples, indent=2))
    else:
        for doc_type, ids in examples.items():
            print(f"{doc_type}: found {', '.join(ids['found'])}; missing {', '.join(ids['missing'])}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="gateway", description="Inter-administration document exchange gateway.")
    sub = top.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the gateway, the sandbox administrations and the web server")
    up.add_argument("--home", default="var", help="state folder: database and development PKI (default ./var)")
    up.add_argument("--no-sandboxes", action="store_true", help="do not start the sandbox administrations")
    up.add_argument("--workers", type=int, default=1,
                    help="gateway worker processes on this host, sharing the web port (default 1)")
    up.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    up.set_defaults(func=cmd_up)
    sandbox = sub.add_parser("sandbox", help="the sandbox partner administrations")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    examples = sandbox_sub.add_parser("examples", help="subject ids to try, found and missing, per document type")
    examples.add_argument("--home", default="var")
    examples.add_argument("--json", action="store_true")
    examples.set_defaults(func=cmd_sandbox_examples)
    operator = sub.add_parser("operator", help="operator accounts of the dashboard")
    operator_sub = operator.add_subparsers(dest="operator_command", required=True)
    add = operator_sub.add_parser("add", help="create an operator account, or reset its password")
    add.add_argument("name")
    add.add_argument("--home", default="var")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_operator_add)
    audit_parser = sub.add_parser("audit", help="the audit journal")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain; names the first broken entry")
    verify.add_argument("--home", default="var")
    verify.set_defaults(func=cmd_audit_verify)
    subject = audit_sub.add_parser("subject", help="who obtained which document about a person (NIN, NIF or RC)")
    subject.add_argument("identifier")
    subject.add_argument("--home", default="var")
    subject.add_argument("--json", action="store_true")
    subject.set_defaults(func=cmd_audit_subject)
    periodic = sub.add_parser("report", help="periodic report per agency, wilaya and provider (CSV and HTML)")
    periodic.add_argument("--home", default="var")
    periodic.add_argument("--period", choices=report.PERIODS, default="month",
                          help="a UTC calendar month (default), ISO week or day; by default the last complete one")
    periodic.add_argument("--month", type=_period_value(report.month), metavar="YYYY-MM")
    periodic.add_argument("--week", type=_period_value(report.week), metavar="YYYY-Www")
    periodic.add_argument("--day", type=_period_value(report.day), metavar="YYYY-MM-DD")
    periodic.add_argument("--out", help="output folder (default HOME/reports/<period>/)")
    periodic.set_defaults(func=cmd_report, parser=periodic)
    bench = sub.add_parser("bench", help="benchmark: bare aio-pika echo against the full gateway path",
                           add_help=False)
    bench.set_defaults(func=None)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from gateway import bench

        return bench.main(argv[1:])
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
