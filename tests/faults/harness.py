"""Real processes for the fault tests: gateway workers started as `python -m gateway up`,
the sandbox civil registry as its own program, a client that keeps every copy of every
answer, and a small TCP proxy whose connections can be cut. Everything runs on queues and
in folders named for one test, removed afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import aio_pika.abc
import aiohttp

from benchmarks.mix import civil_types, signed_requests
from gateway.signing.pki import ensure_development_pki
from gateway.transports import brokers

ROOT = Path(__file__).resolve().parents[2]
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """The home, configuration and queues of one fault test, and its processes."""

    root: Path
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    amqp_url: str = AMQP_URL
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    registry: subprocess.Popen[bytes] | None = None
    ports: list[int] = field(default_factory=list)
    store_env: dict[str, str] = field(default_factory=dict)  # GATEWAY_STORE and GATEWAY_STORE_DSN, if not SQLite

    def __post_init__(self) -> None:
        self.home = self.root / "home"
        self.config = self.root / "config"
        ensure_development_pki(self.home / "pki")
        shutil.copytree(ROOT / "config", self.config)
        gateway_toml = self.config / "gateway.toml"
        text = gateway_toml.read_text()
        text = text.replace('request_queue = "gateway.requests"', f'request_queue = "{self.requests}"')
        text = text.replace('dead_queue = "gateway.dead"', f'dead_queue = "{self.dead}"')
        text = text.replace('bulk_queue = "gateway.lane.bulk"', f'bulk_queue = "{self.bulk}"')
        gateway_toml.write_text(text)
        (self.config / "providers.toml").write_text(
            f'[providers."dz.interieur.etat-civil"]\nadapter = "bus"\nqueue = "{self.partner}"\n'
        )

    @property
    def requests(self) -> str:
        return f"fault.{self.run}.requests"

    @property
    def dead(self) -> str:
        return f"fault.{self.run}.dead"

    @property
    def bulk(self) -> str:
        return f"fault.{self.run}.lane.bulk"

    @property
    def partner(self) -> str:
        return f"fault.{self.run}.partner"

    @property
    def registry_log(self) -> Path:
        return self.root / "registry.log"

    def start_worker(self, amqp_url: str | None = None, workers: int | None = 1) -> subprocess.Popen[bytes]:
        """`gateway up` with `workers` worker processes (None: its default, one per CPU)."""
        port = free_port()
        self.ports.append(port)
        env = {
            **os.environ,
            "GATEWAY_CONFIG": str(self.config),
            "GATEWAY_HTTP_PORT": str(port),
            "AMQP_URL": amqp_url or self.amqp_url,
            "GATEWAY_LOG_LEVEL": "INFO",
            **self.store_env,
        }
        log = (self.root / f"worker-{len(self.workers)}.log").open("wb")
        count = ["--workers", str(workers)] if workers is not None else []
        worker = subprocess.Popen(
            [sys.executable, "-m", "gateway", "up", "--home", str(self.home), "--no-sandboxes", *count],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        self.workers.append(worker)
        return worker

    async def wait_ready(self, index: int = -1, timeout: float = 60.0) -> None:
        """Until worker `index` answers 200 on /readyz (its consumer is then registered)."""
        url = f"http://127.0.0.1:{self.ports[index]}/readyz"
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"worker on port {self.ports[index]} not ready after {timeout} s")

    @property
    def queue_type(self) -> str:
        """The workers' queue_type, as the test's gateway.toml says."""
        return str(tomllib.loads((self.config / "gateway.toml").read_text())["amqp"]["queue_type"])

    def queue_types(self) -> dict[str, str]:
        """The type of each of this test's queues on the broker, as rabbitmqctl lists them."""
        listed = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "name", "type", "--no-table-headers"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        rows = [line.split() for line in listed.splitlines()]
        replies = tuple(f":{worker.pid}:" for worker in self.workers)  # gateway.replies.<provider>.<host>:<pid>:…
        return {
            row[0]: row[1]
            for row in rows
            if len(row) == 2 and (f".{self.run}." in row[0] or any(mark in row[0] for mark in replies))
        }

    def start_registry(self) -> subprocess.Popen[bytes]:
        self.registry = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway_sandbox.civil_registry",
                "--home",
                str(self.home),
                "--amqp-url",
                self.amqp_url,
                "--queue",
                self.partner,
                "--queue-type",
                self.queue_type,
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.registry_log.open("ab"),
        )
        return self.registry

    def provider_queries(self) -> Counter[str]:
        """How many distinct queries the registry received, per request id.

        A query the broker delivers to the registry a second time (after a broker restart,
        before the registry's ack landed) carries the same queryId: it is one query."""
        seen: set[tuple[str, str]] = set()
        if self.registry_log.exists():
            for line in self.registry_log.read_text().splitlines():
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if record.get("event") == "query":
                        seen.add((record.get("request_id"), record.get("query_id")))
        return Counter(request_id for request_id, _ in seen)

    def worker_events(self, event: str) -> int:
        """How many log lines of all workers name `event`."""
        return sum(log.read_text().count(f'"event": "{event}"') for log in self.root.glob("worker-*.log"))

    def requests_to_send(self, n: int, priority: str | None = None) -> list[tuple[str, bytes]]:
        return signed_requests(self.home, n, priority, civil_types())  # this cluster runs the civil registry only

    async def wait_consumers(self, queue: str, count: int = 1, timeout: float = 60.0) -> None:
        connection = await brokers.connect(self.amqp_url)
        async with connection:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                channel = await connection.channel()
                try:  # passive: the workers declare their queues, classic or quorum
                    declared = await channel.declare_queue(queue, passive=True)
                    if (declared.declaration_result.consumer_count or 0) >= count:
                        return
                except aio_pika.exceptions.ChannelClosed:
                    pass
                finally:
                    if not channel.is_closed:
                        await channel.close()
                await asyncio.sleep(0.2)
        raise TimeoutError(f"fewer than {count} consumers on {queue} after {timeout} s")

    def stop(self) -> None:
        for process in [*self.workers, *([self.registry] if self.registry else [])]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.workers, *([self.registry] if self.registry else [])]:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()

    async def delete_queues(self) -> None:
        connection = await brokers.connect(self.amqp_url)
        async with connection:
            channel = await connection.channel()
            for name in (
                self.requests,
                self.dead,
                self.bulk,
                self.partner,
                f"{self.requests}.probe",
                *self._reply_queues(),
            ):
                with contextlib.suppress(Exception):
                    await channel.queue_delete(name)

    def _reply_queues(self) -> list[str]:
        """The reply queues of this test's workers (those of killed workers outlive them)."""
        if shutil.which("rabbitmqctl") is None:
            return []  # the broker deletes them ten minutes after their last use
        listed = subprocess.run(
            ["rabbitmqctl", "list_queues", "-q", "name"], capture_output=True, text=True, timeout=60
        ).stdout.split()
        pids = {f":{worker.pid}:" for worker in self.workers}
        return [name for name in listed if name.startswith("gateway.replies.") and any(p in name for p in pids)]


@dataclass
class Collector:
    """A client that publishes requests with confirms and keeps every copy of every answer."""

    amqp_url: str  # one broker, or a cluster's nodes separated by commas
    queue_arguments: dict[str, str] | None = None  # of its reply queue: {"x-queue-type": "quorum"} on a cluster
    copies: dict[str, list[bytes]] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)
    answered_at: dict[str, float] = field(default_factory=dict)
    dead: dict[str, str] = field(default_factory=dict)
    resent: set[str] = field(default_factory=set)  # request ids sent again because a publish was not confirmed
    connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def open(self) -> None:
        self.connection = await brokers.connect(self.amqp_url, reconnect_interval=0.5)
        self.channel = await self.connection.channel(publisher_confirms=True)
        self.reply = await self.channel.declare_queue(
            f"fault.client.{uuid.uuid4().hex[:8]}", durable=True, arguments=self.queue_arguments
        )
        await self.reply.consume(self._on_reply)  # acked once kept: a reply in flight at a broker stop survives

    async def _on_reply(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.copies.setdefault(message.correlation_id or "", []).append(message.body)
        self.answered_at.setdefault(message.correlation_id or "", time.monotonic())
        with contextlib.suppress(Exception):
            await message.ack()

    async def send(self, queue: str, requests: list[tuple[str, bytes]], per_second: float | None = None) -> None:
        await self._ensure_queue(queue)  # so that nothing sent before a worker starts is lost
        for rid, body in requests:
            self.sent_at.setdefault(rid, time.monotonic())
            message = aio_pika.Message(
                body,
                message_id=rid,
                correlation_id=rid,
                reply_to=self.reply.name,
                content_type="application/xml",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            while True:  # a publish not confirmed (its broker went) is sent again, the same bytes
                try:
                    await asyncio.wait_for(self.channel.default_exchange.publish(message, routing_key=queue), 10)
                    break
                except (aio_pika.exceptions.AMQPError, ConnectionError, TimeoutError, RuntimeError):
                    self.resent.add(rid)
                    await asyncio.sleep(0.5)
            if per_second:
                await asyncio.sleep(1 / per_second)

    async def _ensure_queue(self, queue: str) -> None:
        """Declares `queue` when it does not exist yet, leaving an existing one (maybe quorum) as it is."""
        assert self.connection is not None
        probe = await self.connection.channel()
        try:
            await probe.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            await self.channel.declare_queue(queue, durable=True)
        finally:
            if not probe.is_closed:
                await probe.close()

    async def collect_dead(self, queue: str) -> None:
        channel = await self.connection.channel()  # type: ignore[union-attr]
        try:
            dead = await channel.declare_queue(queue, passive=True)
            while (message := await dead.get(no_ack=True, fail=False)) is not None:
                self.dead[message.message_id or ""] = str((message.headers or {}).get("x-dead-reason"))
        except aio_pika.exceptions.ChannelClosed:
            return  # no worker has declared it yet
        finally:
            if not channel.is_closed:
                await channel.close()

    async def wait_for(self, ids: set[str], dead_queue: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.collect_dead(dead_queue)
            if ids <= set(self.copies) | set(self.dead):
                await asyncio.sleep(1.0)  # let late duplicates arrive
                return
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.reply.delete(if_unused=False, if_empty=False)
            await self.connection.close()


class CuttableProxy:
    """A TCP proxy to the broker whose connections can all be cut at once."""

    def __init__(self, target_port: int = 5672) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, port: int = 0) -> None:
        """Listens on `port` (0: any free one), to stand again where a stopped proxy stood."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> int:
        """Closes every open connection; returns how many were cut."""
        cut = len(self._writers)
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()
        return cut

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
