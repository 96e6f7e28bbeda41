"""`gateway up`: the gateway, the sandbox partner administrations and the web server, in the
foreground until SIGINT or SIGTERM; with `--workers N`, N worker processes sharing the web
port, each started again if it dies.

A worker that cannot start (its store cannot be opened, no broker answers, the configuration
does not hold) logs `startup_failed` with the reason and exits with status 3. Until a worker
has once listened on the web port, that ends the command with status 3: what is wrong must be
fixed first. Later (a worker started again while the database restarts), it is started again
every 5 s while the others go on serving."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from gateway import config as config_module
from gateway import logs
from gateway.cli.common import add_home
from gateway.config import ConfigError
from gateway.runtime import event_loop, sandboxes
from gateway.runtime.worker import Gateway
from gateway.signing.pki import ensure_development_pki
from gateway.store.opening import StoreUnavailable
from gateway.web.app import make_runner

log = structlog.get_logger("gateway.cli")

CANNOT_START = 3  # the exit status of a worker that could not start, and of `gateway up` then
RESTART_PAUSE_SECONDS = 5.0  # later, the pause before a worker that could not start is started again


def register(subparsers: Any) -> None:
    up = subparsers.add_parser("up", help="run the gateway, the sandbox administrations and the web server")
    add_home(up)
    up.add_argument("--no-sandboxes", action="store_true", help="do not start the sandbox administrations")
    up.add_argument(
        "--workers",
        type=int,
        default=config_module.default_workers(),
        help=f"gateway worker processes on this host, sharing the web port (default: one per CPU, here "
        f"{config_module.default_workers()})",
    )
    up.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    up.add_argument("--started-file", type=Path, default=None, help=argparse.SUPPRESS)  # touched once listening
    up.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    if args.workers < 1:
        print(f"gateway up: --workers {args.workers}: at least 1", file=sys.stderr)
        return 2
    logs.configure(os.environ.get("GATEWAY_LOG_LEVEL", "INFO"), for_good=True)
    return event_loop.run(_run_up(args.home, not args.no_sandboxes, args.workers, args.reuse_port, args.started_file))


def _die_with_parent() -> None:
    """Run in a child before it starts: it gets SIGTERM when `gateway up` dies, even by SIGKILL (Linux
    PR_SET_PDEATHSIG), so that no worker or sandbox outlives the command that started it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, preexec_fn=_die_with_parent)


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


async def _run_worker(home: Path, reuse_port: bool, started_file: Path | None = None) -> int:
    """One gateway worker in this process: bus intake and web server, until SIGINT or SIGTERM."""
    config = config_module.load()
    gateway = Gateway(config, home)
    runner: web.AppRunner | None = None
    stop = _stop_signal()
    try:
        try:
            await gateway.start()
        except (StoreUnavailable, ConfigError, ConnectionError) as exc:
            log.error("startup_failed", reason=str(exc))
            return CANNOT_START
        runner = make_runner(gateway)
        await runner.setup()
        host, port = config.settings.http_host, config.settings.http_port
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port)
        try:
            await site.start()
        except OSError as exc:
            reason = f"cannot listen on {host}:{port}: {exc.strerror}; stop what listens there or set GATEWAY_HTTP_PORT"
            log.error("startup_failed", reason=reason)
            return CANNOT_START
        if started_file is not None:
            started_file.touch()
        log.info("http_listening", host=host, port=port)
        await stop.wait()
        log.info("stopping")
    finally:
        if runner is not None:
            await runner.cleanup()
        await gateway.stop()
    return 0


async def _supervise(home: Path, workers: int) -> int:
    """`workers` worker processes sharing the web port; one that dies is started again."""
    started = home / f".started-{os.getpid()}"  # touched by the first worker that listens
    started.unlink(missing_ok=True)
    command = [sys.executable, "-m", "gateway", "up", "--home", str(home), "--no-sandboxes", "--reuse-port",
               "--workers", "1", "--started-file", str(started)]  # fmt: skip
    children = [_start(command) for _ in range(workers)]
    restart_at: dict[int, float] = {}  # slot: when its worker, which could not start, is started again
    stop = _stop_signal()
    code = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        if stop.is_set():
            break
        now = time.monotonic()
        for i, child in enumerate(children):
            if i in restart_at:
                if now >= restart_at[i]:
                    del restart_at[i]
                    children[i] = _start(command)
            elif child.poll() == CANNOT_START:
                log.error("worker_cannot_start", pid=child.pid, reason="see its startup_failed line")
                if not started.exists():  # no worker of this command has listened yet
                    stop.set()
                    code = CANNOT_START
                    break
                restart_at[i] = now + RESTART_PAUSE_SECONDS
            elif child.returncode is not None:
                log.error("worker_died", pid=child.pid, returncode=child.returncode)
                children[i] = _start(command)
    log.info("stopping", workers=len(children))
    _terminate(children, config_module.load().settings.shutdown_grace_seconds + 10)
    started.unlink(missing_ok=True)
    return code


async def _run_up(
    home: Path, with_sandboxes: bool, workers: int, reuse_port: bool, started_file: Path | None = None
) -> int:
    config = config_module.load()
    ensure_development_pki(home / "pki", config.participants)
    children: list[subprocess.Popen[bytes]] = []
    if with_sandboxes:
        await asyncio.to_thread(sandboxes.prepare, home)
        children = [_start(command) for command in sandboxes.commands(home, config)]
    try:
        if workers > 1:
            return await _supervise(home, workers)
        return await _run_worker(home, reuse_port, started_file)
    finally:
        _terminate(children, 10)
