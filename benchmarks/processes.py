"""The benchmark's processes and queues: spawning, waiting for them to listen or consume,
reporting one that stopped, stopping them, and deleting the run's queues."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway import config as config_module
from gateway.transports import brokers


class NotReady(RuntimeError):
    """A process of the run did not get ready; the message says which, and where its reason is."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_ports(ports: tuple[int, ...], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise NotReady(f"no sandbox listening on port {port} after {timeout} s") from None
                await asyncio.sleep(0.2)


def spawn(*args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """A Python process of the benchmark; its standard error goes to `log` when given (the
    sandboxes write a line per request: thousands of lines on a terminal, whose drawing
    would take its share of the CPU being measured)."""
    if log is None:
        return subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL)
    with open(log, "ab") as err:
        return subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=err)


def report_dead(processes: dict[str, subprocess.Popen[bytes]], logs: Path) -> None:
    """For each sandbox (by module) that stopped on its own, the end of its log, on standard error."""
    for module, process in processes.items():
        if process.poll() is not None:
            log = logs / f"{module}.log"
            tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
            print(f"{module} stopped with code {process.returncode}; its log ends:", *tail, sep="\n", file=sys.stderr)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def queue_arguments() -> dict[str, Any] | None:
    """The arguments of the benchmark's durable queues: of the configuration's queue type
    (`GATEWAY_QUEUE_TYPE`), as the gateway's own."""
    return config_module.load().settings.queue_arguments


async def wait_consumer(
    url: str,
    queue: str,
    timeout: float = 60.0,
    count: int = 1,
    consumers: Sequence[subprocess.Popen[bytes]] = (),
) -> None:
    """Until `queue` has `count` consumers; fails at once when one of the `consumers` processes stops."""
    connection = await brokers.connect(url)
    async with connection:
        channel = await connection.channel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            declared = await channel.declare_queue(queue, durable=True, arguments=queue_arguments())
            if (declared.declaration_result.consumer_count or 0) >= count:
                return
            for process in consumers:
                if process.poll() is not None:
                    raise NotReady(
                        f"a process meant to consume {queue} stopped with status {process.returncode}; "
                        "its reason is printed above"
                    )
            await asyncio.sleep(0.2)
    raise NotReady(f"fewer than {count} consumers on {queue} after {timeout} s")


async def delete_queues(url: str, names: list[str]) -> None:
    connection = await brokers.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in names:
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
