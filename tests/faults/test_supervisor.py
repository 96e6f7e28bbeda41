"""`gateway up` with its defaults on this host: one worker process per CPU, all consuming, and none
left behind when the command itself is killed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from gateway.config import default_workers
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
