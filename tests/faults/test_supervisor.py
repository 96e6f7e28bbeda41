"""`gateway up` with its defaults on this host: one worker process per CPU, all consuming, and none
left behind when the command itself is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import asyncpg
import pytest

from gateway.config import default_workers
from tests.conftest import ADMIN_DSN
from tests.faults.harness import Cluster

pytestmark = pytest.mark.slow


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


async def test_the_default_runs_a_worker_per_cpu_that_dies_with_the_command(cluster: Cluster) -> None:
    """With no --workers, one worker per CPU consumes the request queue; SIGKILL of `gateway up`
    takes its workers with it instead of leaving them consuming."""
    cluster.start_registry()
    command = cluster.start_worker(workers=None)
    await cluster.wait_consumers(cluster.requests, default_workers())
    workers = children_of(command.pid)
    assert len(workers) == default_workers() >= 1
    os.kill(command.pid, signal.SIGKILL)
    command.wait()
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "workers outlived gateway up"


async def test_a_worker_that_cannot_start_again_is_retried_while_the_others_serve(
    cluster: Cluster, postgres_dsn: str
) -> None:
    """A worker killed while its database is gone cannot start again (status 3): `gateway up` goes on,
    logs worker_cannot_start, and starts it again once the database is back."""
    cluster.store_env = {"GATEWAY_STORE": "postgresql", "GATEWAY_STORE_DSN": postgres_dsn}
    cluster.start_registry()
    command = cluster.start_worker(workers=2)
    await cluster.wait_ready()
    await cluster.wait_consumers(cluster.requests, 2)
    name = postgres_dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        os.kill(children_of(command.pid)[0], signal.SIGKILL)
        log = cluster.root / "worker-0.log"
        deadline = time.monotonic() + 30
        while b"worker_cannot_start" not in log.read_bytes() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert b"worker_cannot_start" in log.read_bytes()
        assert command.poll() is None, "gateway up ended although a worker had served"
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await cluster.wait_consumers(cluster.requests, 2)
    assert command.poll() is None
