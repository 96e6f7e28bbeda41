"""What the benchmark measures: answers and their latencies (the client that drives a phase),
the CPU time of each process per answered request, and memory."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import statistics
import time
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.abc

from gateway.transports import brokers


@dataclasses.dataclass
class Result:
    name: str
    sent: int
    answered: int
    duplicates: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies) or [0.0]
        return {
            "name": self.name,
            "sent": self.sent,
            "answered": self.answered,
            "lost": self.sent - self.answered,
            "duplicates": self.duplicates,
            "seconds": round(self.seconds, 3),
            "per_second": round(self.rate, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        }


async def drive(
    url: str,
    queue: str,
    bodies: list[tuple[str, bytes]],
    in_flight: int,
    content_type: str,
    name: str,
    timeout: float = 120.0,
    rate: float | None = None,
) -> tuple[Result, dict[str, bytes]]:
    """Sends every body with at most `in_flight` outstanding (or at `rate` per second, whatever is
    outstanding); returns timings and the answers by id."""
    connection = await brokers.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        reply = await channel.declare_queue("", exclusive=True, auto_delete=True)
        answers: dict[str, bytes] = {}
        started: dict[str, float] = {}
        latencies: list[float] = []
        duplicates = 0
        slots = asyncio.Semaphore(in_flight)
        done = asyncio.Event()

        async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal duplicates
            cid = message.correlation_id or ""
            if cid in answers:
                duplicates += 1
                return
            answers[cid] = message.body
            latencies.append(time.perf_counter() - started[cid])
            slots.release()
            if len(answers) == len(bodies):
                done.set()

        await reply.consume(on_reply, no_ack=True)
        t0 = time.perf_counter()
        for i, (rid, body) in enumerate(bodies):
            if rate:
                await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            else:
                await slots.acquire()
            started[rid] = time.perf_counter()
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body,
                    message_id=rid,
                    correlation_id=rid,
                    reply_to=reply.name,
                    content_type=content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=queue,
            )
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done.wait(), timeout)
        seconds = time.perf_counter() - t0
        await asyncio.sleep(0.5)  # late duplicates, if any
        return Result(name, len(bodies), len(answers), duplicates, seconds, latencies), answers


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (0 when it is gone or not readable)."""
    with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _machine_cpu_seconds() -> float:
    """CPU time all cores of this machine have spent working since boot: user, nice, system, irq, softirq."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in f.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _pids_named(command: str) -> list[int]:
    """The processes of this machine running `command` (the broker's `beam.smp`, `postgres`)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == command:
                    pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU milliseconds per answered request, by role, over one phase of the benchmark."""

    def __init__(self, roles: dict[str, list[int]], *, database: bool = False) -> None:
        """`database`: the workers' store is PostgreSQL on this machine, whose CPU counts too."""
        self._roles = {**roles, "broker": _pids_named("beam.smp")}
        if database:
            self._roles["database"] = _pids_named("postgres")
        self._start = self._read()
        self._client = time.process_time()
        self._machine = _machine_cpu_seconds()

    def _read(self) -> dict[str, float]:
        return {role: sum(_cpu_seconds(pid) for pid in pids) for role, pids in self._roles.items()}

    def per_request(self, answered: int) -> dict[str, float]:
        end, n = self._read(), max(answered, 1)
        out = {role: round(1000 * (end[role] - self._start[role]) / n, 3) for role in end}
        out["client"] = round(1000 * (time.process_time() - self._client) / n, 3)
        out["total"] = round(sum(out.values()), 3)
        # Everything the machine's cores did meanwhile, the kernel's own threads (writing dirty
        # pages back, interrupts) and any other process included: not part of the total.
        out["machine"] = round(1000 * (_machine_cpu_seconds() - self._machine) / n, 3)
        return out


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclasses.dataclass
class Phase:
    """One measure over the rounds: its runs, and its CPU per answered request over all of them."""

    results: list[Result] = dataclasses.field(default_factory=list)
    cpu: list[tuple[int, dict[str, float]]] = dataclasses.field(default_factory=list)

    def add(self, result: Result, cpu: dict[str, float]) -> None:
        self.results.append(result)
        self.cpu.append((result.answered, cpu))

    def median(self) -> Result:
        """The run of median rate (the lower middle one for an even count)."""
        return sorted(self.results, key=lambda r: r.rate)[(len(self.results) - 1) // 2]

    def summary(self) -> dict[str, Any]:
        answered = sum(n for n, _ in self.cpu) or 1
        roles = {role for _, cpu in self.cpu for role in cpu}
        cpu = {role: round(sum(n * c.get(role, 0.0) for n, c in self.cpu) / answered, 3) for role in sorted(roles)}
        cpu["total"] = cpu.pop("total")
        cpu["machine"] = cpu.pop("machine")
        return self.median().summary() | {
            "lost": sum(r.sent - r.answered for r in self.results),
            "duplicates": sum(r.duplicates for r in self.results),
            "rounds_per_second": [round(r.rate, 1) for r in self.results],
            "cpu_ms_per_request": cpu,
        }
