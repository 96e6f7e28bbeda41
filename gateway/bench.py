"""The benchmark: in one run, on one broker, two messaging baselines and the gateway's full path.

    gateway bench [--requests N] [--in-flight C] [--rate R] [--seconds S]

- echo: a client and an echo server (separate processes) exchanging persistent messages
  with publisher confirms; the messaging floor of one round trip.
- relay: client -> relay -> partner echo -> relay -> client, three processes: the messaging
  that every gateway request needs, and the ceiling for the gateway's shape of work.
- full path: pre-signed XML requests (the four civil-registry types) sent to a gateway
  worker process, which verifies, validates, admits, queries the sandbox civil registry
  (its own process) over the bus, seals and replies. Every sealed response is verified
  afterwards; lost and duplicated answers are counted. Then the same path at R requests per
  second offered, for S seconds, for the latency (p50, p99) and the gateway's memory.

Each phase runs on queues named for this run, deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import aio_pika.abc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import methods
from signxml.signer import XMLSigner

from gateway import bench_roles
from gateway import config as config_module
from gateway.signing.pki import cert_pem, ensure_development_pki
from gateway.signing.seal import verify_xml_seal
from gateway.signing.trust import TrustStore

NS = "urn:dz:exchange:v1"
PURPOSES = {"birth-certificate": "family-allowance", "family-record": "family-allowance",
            "death-record": "survivor-benefit", "residence-certificate": "insured-registration"}


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
            "name": self.name, "sent": self.sent, "answered": self.answered, "lost": self.sent - self.answered,
            "duplicates": self.duplicates, "seconds": round(self.seconds, 3), "per_second": round(self.rate, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        }


async def _drive(url: str, queue: str, bodies: list[tuple[str, bytes]], in_flight: int, content_type: str,
                 name: str, timeout: float = 120.0, rate: float | None = None) -> tuple[Result, dict[str, bytes]]:
    """Sends every body with at most `in_flight` outstanding (or at `rate` per second, whatever is
    outstanding); returns timings and the answers by id."""
    connection = await aio_pika.connect(url)
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
                aio_pika.Message(body, message_id=rid, correlation_id=rid, reply_to=reply.name,
                                 content_type=content_type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=queue)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done.wait(), timeout)
        seconds = time.perf_counter() - t0
        await asyncio.sleep(0.5)  # late duplicates, if any
        return Result(name, len(bodies), len(answers), duplicates, seconds, latencies), answers


async def _wait_consumer(url: str, queue: str, timeout: float = 60.0, count: int = 1) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            declared = await channel.declare_queue(queue, durable=True)
            if (declared.declaration_result.consumer_count or 0) >= count:
                return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"fewer than {count} consumers on {queue} after {timeout} s")


async def _delete_queues(url: str, names: list[str]) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in names:
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)


# ------------------------------------------------------------------ the run
def signed_requests(home: Path, n: int, priority: str | None = None) -> list[tuple[str, bytes]]:
    from gateway_sandbox.civil_registry.records import Registry, build

    db = home / "sandbox" / "civil-registry.sqlite3"
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        build(db)
    with Registry(db) as registry:
        subjects = {t: registry.examples(t, 50)["found"] for t in PURPOSES}
    folder = home / "pki" / "dz.cnas"
    key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    cert = cert_pem(x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())).decode()
    signer = XMLSigner(method=methods.enveloped, signature_algorithm="ecdsa-sha256", digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    types = sorted(PURPOSES)
    out = []
    for i in range(n):
        doc_type = types[i % len(types)]
        rid = str(uuid.uuid4())
        nin = subjects[doc_type][i % len(subjects[doc_type])]
        root = etree.fromstring(
            f'<DocumentRequest xmlns="{NS}"><RequestId>{rid}</RequestId><Requester>dz.cnas</Requester>'
            f"<Agency>CNAS-16-001</Agency><DocumentType>{doc_type}</DocumentType>"
            f"<Purpose>{PURPOSES[doc_type]}</Purpose>{f'<Priority>{priority}</Priority>' if priority else ''}"
            f"<IssuedAt>{issued}</IssuedAt>"
            f"<Subject><NIN>{nin}</NIN></Subject></DocumentRequest>".encode())
        out.append((rid, etree.tostring(signer.sign(root, key=key, cert=[cert], always_add_key_value=False))))
    return out


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def _rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def run(requests: int, in_flight: int, url: str, rate: float, seconds: float = 10.0,
              workers: int = 1) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    payload = b"x" * 2500  # about the size of a signed request
    echo_queue = f"bench.{run_id}.echo"
    echo = _spawn("-m", "gateway.bench", "echo-server", "--queue", echo_queue, "--amqp-url", url)
    try:
        await _wait_consumer(url, echo_queue)
        echo_result, _ = await _drive(url, echo_queue, [(str(uuid.uuid4()), payload) for _ in range(requests)],
                                      in_flight, "application/octet-stream", "echo")
    finally:
        _stop(echo)
        await _delete_queues(url, [echo_queue])

    relay_in, relay_partner = f"bench.{run_id}.relay", f"bench.{run_id}.relay-partner"
    partner_echo = _spawn("-m", "gateway.bench", "echo-server", "--queue", relay_partner, "--amqp-url", url)
    relay = _spawn("-m", "gateway.bench", "relay-server", "--queue", relay_in, "--partner-queue", relay_partner,
                   "--amqp-url", url)
    try:
        await _wait_consumer(url, relay_partner)
        await _wait_consumer(url, relay_in)
        relay_result, _ = await _drive(url, relay_in, [(str(uuid.uuid4()), payload) for _ in range(requests)],
                                       in_flight, "application/octet-stream", "two-hop relay")
    finally:
        _stop(relay)
        _stop(partner_echo)
        await _delete_queues(url, [relay_in, relay_partner])

    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        home = Path(tmp)
        ensure_development_pki(home / "pki", config_module.load().participants)
        bodies = signed_requests(home, requests)
        paced = signed_requests(home, max(1, int(rate * seconds)))
        partner = _spawn("-m", "gateway_sandbox.civil_registry", "--home", str(home), "--amqp-url", url,
                         "--queue", f"bench.{run_id}.partner")
        gateway_workers = [_spawn("-m", "gateway.bench", "gateway-worker", "--home", str(home), "--run", run_id)
                           for _ in range(workers)]
        queues = [f"bench.{run_id}.{q}" for q in ("requests", "dead", "partner", "lane.bulk")]
        try:
            await _wait_consumer(url, f"bench.{run_id}.partner")
            await _wait_consumer(url, f"bench.{run_id}.requests", count=workers)
            full_result, answers = await _drive(url, f"bench.{run_id}.requests", bodies, in_flight,
                                                "application/xml", "full path")
            rss = max(_rss_mb(w.pid) for w in gateway_workers)
            paced_result, paced_answers = await _drive(url, f"bench.{run_id}.requests", paced, in_flight,
                                                       "application/xml", f"full path at {rate:g}/s", rate=rate)
            rss = max(rss, *(_rss_mb(w.pid) for w in gateway_workers))
        finally:
            for w in gateway_workers:
                _stop(w)
            _stop(partner)
            await _delete_queues(url, queues)
        trust = TrustStore.from_pem_file(home / "pki" / "ca.pem")
        bad_seals = 0
        statuses: dict[str, int] = {}
        for body in [*answers.values(), *paced_answers.values()]:
            try:
                seal = verify_xml_seal(etree.fromstring(body), trust)
                status = seal.xml.findtext(f"{{{NS}}}Status") if seal.xml is not None else "?"
                statuses[status or "?"] = statuses.get(status or "?", 0) + 1
            except Exception:
                bad_seals += 1
    return {
        "echo": echo_result.summary(),
        "relay": relay_result.summary(),
        "full_path": full_result.summary() | {"bad_seals": bad_seals, "statuses": statuses,
                                              "gateway_rss_mb": round(rss, 1)},
        "full_path_paced": paced_result.summary() | {"offered_per_second": rate},
        "ratio_full_to_echo": round(full_result.rate / echo_result.rate, 3) if echo_result.rate else None,
        "ratio_full_to_relay": round(full_result.rate / relay_result.rate, 3) if relay_result.rate else None,
        "requests": requests, "in_flight": in_flight, "cpus": os.cpu_count(), "gateway_workers": workers,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway bench")
    parser.add_argument("role", nargs="?", default="run",
                        choices=["run", "echo-server", "relay-server", "gateway-worker"])
    parser.add_argument("--partner-queue", default="")
    parser.add_argument("--rate", type=float, default=100.0, help="offered load for the latency run (per second)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes for the full path")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--amqp-url", default=config_module.load().settings.amqp_url)
    parser.add_argument("--queue", default="")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--run", default="")
    args = parser.parse_args(argv)
    if args.role == "echo-server":
        asyncio.run(bench_roles.echo_server(args.amqp_url, args.queue))
        return 0
    if args.role == "relay-server":
        asyncio.run(bench_roles.relay_server(args.amqp_url, args.queue, args.partner_queue))
        return 0
    if args.role == "gateway-worker":
        from gateway import logs

        logs.configure("WARNING")
        asyncio.run(bench_roles.gateway_worker(args.home, args.run))
        return 0
    report = asyncio.run(run(args.requests, args.in_flight, args.amqp_url, args.rate, args.seconds, args.workers))
    print(json.dumps(report, indent=2))
    e, r, f, p = report["echo"], report["relay"], report["full_path"], report["full_path_paced"]
    print(f"\necho       {e['per_second']:8.1f}/s  p99 {e['p99_ms']} ms", file=sys.stderr)
    print(f"relay      {r['per_second']:8.1f}/s  p99 {r['p99_ms']} ms", file=sys.stderr)
    print(f"full path  {f['per_second']:8.1f}/s  p99 {f['p99_ms']} ms  lost {f['lost']}  duplicates "
          f"{f['duplicates']}  bad seals {f['bad_seals']}  RSS {f['gateway_rss_mb']} MB", file=sys.stderr)
    print(f"at {args.rate:g}/s offered: p50 {p['p50_ms']} ms  p99 {p['p99_ms']} ms  lost {p['lost']}", file=sys.stderr)
    print(f"ratio full/echo {report['ratio_full_to_echo']}  full/relay {report['ratio_full_to_relay']}",
          file=sys.stderr)
    lost = f["lost"] + p["lost"]
    return 0 if lost == 0 and f["bad_seals"] == 0 and f["duplicates"] + p["duplicates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
