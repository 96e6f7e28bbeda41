"""The benchmark: in one run, on one broker, two messaging baselines and the gateway's full path.

    gateway bench [--requests N] [--rounds K] [--in-flight C] [--rate R] [--seconds S] [--workers W]

- echo: a client and an echo server (separate processes) exchanging persistent messages
  with publisher confirms; the messaging floor of one round trip.
- relay: client -> relay -> partner echo -> relay -> client, three processes: the messaging
  that every gateway request needs, and the ceiling for the gateway's shape of work.
- full path: pre-signed XML requests, spread over the seven document types and several
  agencies, sent to gateway worker processes, which verify, validate, admit, query the
  sandbox administrations (each its own process: the civil registry over the bus, the tax
  directorate over REST with mutual TLS, the commercial register over SOAP), seal and reply.
  Every sealed response is verified afterwards; lost and duplicated answers are counted.

The relay and the full path run in K rounds, each full path run right after a relay run on
processes that stay up, and the ratio reported is the median of the K per-round ratios: this
machine's speed drifts by tens of percent within a minute, and a ratio of two runs taken far
apart would measure the drift. The baselines run on the gateway's event loop (uvloop), so
that the ratio compares the gateway's own work, not two event loops.

Then, after a pause of a few seconds (the store's checkpoint of the burst), the same path
  at R requests per second offered, for S seconds, for the latency (p50, p99) and the
  gateway's memory.

Each phase runs on queues named for this run, deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import socket
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

from gateway import bench_roles, event_loop, sandboxes
from gateway import config as config_module
from gateway.signing.pki import cert_pem, ensure_development_pki
from gateway.signing.seal import verify_xml_seal
from gateway.signing.trust import TrustStore

NS = "urn:dz:exchange:v1"
_CATALOGUE = config_module.load().catalogue
#: Each document type with a purpose that allows it, and the kind of its subject (NIN, NIF, RC).
PURPOSES = {t.name: next(iter(t.purposes)) for t in _CATALOGUE.values()}
SUBJECT = {t.name: t.subject for t in _CATALOGUE.values()}
AGENCIES = ("CNAS-16-001", "CNAS-16-002", "CNAS-31-001", "CNAS-25-001", "CNAS-09-003", "CNAS-19-001",
            "CNAS-23-002", "CNAS-30-001")


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
def subjects(home: Path, n: int = 50) -> dict[str, list[str]]:
    """Subject ids the sandboxes hold, per document type (their databases are built if missing)."""
    from gateway_sandbox.civil_registry.records import Registry
    from gateway_sandbox.commercial_register.records import RegisterRecords
    from gateway_sandbox.tax_directorate.records import TaxRecords

    sandboxes.examples(home)  # builds the three databases
    folder = home / "sandbox"
    with Registry(folder / sandboxes.CIVIL_DB) as registry:
        out = {t: registry.examples(t, n)["found"] for t in CIVIL_TYPES}
    with TaxRecords(folder / sandboxes.TAX_DB) as taxpayers:
        out |= {t: taxpayers.examples(t, n)["found"] for t in ("tax-status-certificate", "tax-registration")}
    with RegisterRecords(folder / sandboxes.REGISTER_DB) as register:
        out["commercial-register-extract"] = register.examples(n)["found"]
    return out


SETTLE_SECONDS = 3.0
#: The benchmark's name for the CPU of each sandbox administration, by its module.
_SANDBOX_ROLES = {"gateway_sandbox.civil_registry": "civil registry",
                  "gateway_sandbox.tax_directorate": "tax directorate",
                  "gateway_sandbox.commercial_register": "commercial register"}
CIVIL_TYPES = tuple(t.name for t in _CATALOGUE.values() if t.provider == "dz.interieur.etat-civil")


def signed_requests(home: Path, n: int, priority: str | None = None,
                    types: tuple[str, ...] = tuple(PURPOSES)) -> list[tuple[str, bytes]]:
    """`n` requests signed by dz.cnas, the `types` (by default all seven) and several agencies in turn."""
    found = subjects(home)
    folder = home / "pki" / "dz.cnas"
    key = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    cert = cert_pem(x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())).decode()
    signer = XMLSigner(method=methods.enveloped, signature_algorithm="ecdsa-sha256", digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    types = tuple(sorted(types))
    out = []
    for i in range(n):
        doc_type = types[i % len(types)]
        rid = str(uuid.uuid4())
        subject = found[doc_type][(i // len(types)) % len(found[doc_type])]
        kind = SUBJECT[doc_type]
        root = etree.fromstring(
            f'<DocumentRequest xmlns="{NS}"><RequestId>{rid}</RequestId><Requester>dz.cnas</Requester>'
            f"<Agency>{AGENCIES[i % len(AGENCIES)]}</Agency><DocumentType>{doc_type}</DocumentType>"
            f"<Purpose>{PURPOSES[doc_type]}</Purpose>{f'<Priority>{priority}</Priority>' if priority else ''}"
            f"<IssuedAt>{issued}</IssuedAt>"
            f"<Subject><{kind}>{subject}</{kind}></Subject></DocumentRequest>".encode())
        out.append((rid, etree.tostring(signer.sign(root, key=key, cert=[cert], always_add_key_value=False))))
    return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_ports(ports: tuple[int, ...], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no sandbox listening on port {port} after {timeout} s") from None
                await asyncio.sleep(0.2)


def _spawn(*args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """A Python process of the benchmark; its standard error goes to `log` when given (the
    sandboxes write a line per request: thousands of lines on a terminal, whose drawing
    would take its share of the CPU being measured)."""
    if log is None:
        return subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL)
    with open(log, "ab") as err:
        return subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=err)


def _report_dead(processes: dict[str, subprocess.Popen[bytes]], logs: Path) -> None:
    """For each sandbox (by module) that stopped on its own, the end of its log, on standard error."""
    for module, process in processes.items():
        if process.poll() is not None:
            log = logs / f"{module}.log"
            tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
            print(f"{module} stopped with code {process.returncode}; its log ends:", *tail, sep="\n", file=sys.stderr)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


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

    def __init__(self, roles: dict[str, list[int]]) -> None:
        self._roles = {**roles, "broker": _pids_named("beam.smp")}
        if config_module.load().settings.store_backend == "postgresql":  # the workers' store: its CPU counts
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


def _rss_mb(pid: int) -> float:
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


async def run(requests: int, in_flight: int, url: str, rate: float, seconds: float = 10.0,
              workers: int = 1, rounds: int = 5, types: tuple[str, ...] = tuple(PURPOSES)) -> dict[str, Any]:
    """Echo once, then `rounds` rounds of relay-then-full-path (each full path run next to its own
    relay run, so that the machine's drift weighs on both alike), then the paced run."""
    run_id = uuid.uuid4().hex[:8]
    payload = b"x" * 2500  # about the size of a signed request
    echo_queue = f"bench.{run_id}.echo"
    echo = _spawn("-m", "gateway.bench", "echo-server", "--queue", echo_queue, "--amqp-url", url)
    try:
        await _wait_consumer(url, echo_queue)
        meter = CpuMeter({"echo": [echo.pid]})
        echo_result, _ = await _drive(url, echo_queue, [(str(uuid.uuid4()), payload) for _ in range(requests)],
                                      in_flight, "application/octet-stream", "echo")
        echo_cpu = meter.per_request(echo_result.answered)
    finally:
        _stop(echo)
        await _delete_queues(url, [echo_queue])

    relay_in, relay_partner = f"bench.{run_id}.relay", f"bench.{run_id}.relay-partner"
    relay, full = Phase(), Phase()
    answers: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        home = Path(tmp)
        ensure_development_pki(home / "pki", config_module.load().participants)
        bodies = signed_requests(home, requests * rounds, types=types)
        paced = signed_requests(home, max(1, int(rate * seconds)), types=types)
        ports = (_free_port(), _free_port())
        baseline = [_spawn("-m", "gateway.bench", "echo-server", "--queue", relay_partner, "--amqp-url", url)]
        baseline.append(_spawn("-m", "gateway.bench", "relay-server", "--queue", relay_in, "--partner-queue",
                               relay_partner, "--amqp-url", url))
        logs = home / "logs"
        logs.mkdir()
        commands = [["-m", "gateway_sandbox.civil_registry", "--home", str(home), "--amqp-url", url,
                     "--queue", f"bench.{run_id}.partner"]]
        commands += [c[1:] for c in sandboxes.commands(home, bench_roles.bench_config(run_id, ports))
                     if "gateway_sandbox.civil_registry" not in c]
        partners = {c[1]: _spawn(*c, log=logs / f"{c[1]}.log") for c in commands}  # by module
        gateway_workers = [_spawn("-m", "gateway.bench", "gateway-worker", "--home", str(home), "--run", run_id,
                                  "--ports", f"{ports[0]},{ports[1]}") for _ in range(workers)]
        queues = [relay_in, relay_partner, *(f"bench.{run_id}.{q}" for q in ("requests", "dead", "partner",
                                                                             "lane.bulk"))]
        try:
            await _wait_consumer(url, relay_partner)
            await _wait_consumer(url, relay_in)
            await _wait_consumer(url, f"bench.{run_id}.partner")
            await _wait_ports(ports)
            await _wait_consumer(url, f"bench.{run_id}.requests", count=workers)
            full_roles = {"gateway": [w.pid for w in gateway_workers]} | {
                _SANDBOX_ROLES.get(m, m): [p.pid] for m, p in partners.items()}
            for n in range(rounds):
                meter = CpuMeter({"relay": [baseline[1].pid], "partner echo": [baseline[0].pid]})
                result, _ = await _drive(url, relay_in, [(str(uuid.uuid4()), payload) for _ in range(requests)],
                                         in_flight, "application/octet-stream", "two-hop relay")
                relay.add(result, meter.per_request(result.answered))
                meter = CpuMeter(full_roles)
                result, got = await _drive(url, f"bench.{run_id}.requests", bodies[n * requests:(n + 1) * requests],
                                           in_flight, "application/xml", "full path")
                full.add(result, meter.per_request(result.answered))
                answers.update(got)
            rss = max(_rss_mb(w.pid) for w in gateway_workers)
            await asyncio.sleep(SETTLE_SECONDS)  # the latency is a steady-state measure, not the burst's tail
            # At a paced rate each message wakes its processes alone: the CPU per request is higher
            # than at saturation, and it is what decides the latency on a slower machine.
            meter = CpuMeter(full_roles)
            paced_result, paced_answers = await _drive(url, f"bench.{run_id}.requests", paced, in_flight,
                                                       "application/xml", f"full path at {rate:g}/s", rate=rate)
            paced_cpu = meter.per_request(paced_result.answered)
            rss = max(rss, *(_rss_mb(w.pid) for w in gateway_workers))
        finally:
            _report_dead(partners, logs)
            for process in (*gateway_workers, *partners.values(), *baseline):
                _stop(process)
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
    ratios = [f.rate / r.rate for r, f in zip(relay.results, full.results, strict=True) if r.rate]
    return {
        "echo": echo_result.summary() | {"cpu_ms_per_request": echo_cpu},
        "relay": relay.summary() | {"request_bytes": len(payload), "answer_bytes": len(payload)},
        "full_path": full.summary() | {
            "bad_seals": bad_seals, "statuses": statuses, "gateway_rss_mb": round(rss, 1),
            "request_bytes": round(statistics.mean(len(b) for _, b in bodies)),
            "answer_bytes": round(statistics.mean(len(b) for b in answers.values())) if answers else 0},
        "full_path_paced": paced_result.summary() | {"offered_per_second": rate, "cpu_ms_per_request": paced_cpu},
        "ratio_full_to_echo": round(full.median().rate / echo_result.rate, 3) if echo_result.rate else None,
        "ratio_full_to_relay_by_round": [round(r, 3) for r in ratios],
        "ratio_full_to_relay": round(statistics.median(ratios), 3) if ratios else None,
        "requests": requests, "rounds": rounds, "document_types": sorted(types), "in_flight": in_flight,
        "cpus": os.cpu_count(), "gateway_workers": workers,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway bench")
    parser.add_argument("role", nargs="?", default="run",
                        choices=["run", "echo-server", "relay-server", "gateway-worker"])
    parser.add_argument("--partner-queue", default="")
    parser.add_argument("--rate", type=float, default=100.0, help="offered load for the latency run (per second)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes for the full path")
    parser.add_argument("--requests", type=int, default=2000, help="requests per relay and full path run")
    parser.add_argument("--types", default="", help="comma-separated document types of the full path (default: all "
                        "seven), e.g. to cost one provider's path alone")
    parser.add_argument("--rounds", type=int, default=5, help="relay-then-full-path rounds; the median ratio counts")
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--amqp-url", default=config_module.load().settings.amqp_url)
    parser.add_argument("--queue", default="")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--run", default="")
    parser.add_argument("--ports", default="0,0", help="(gateway-worker) the dgi and cnrc sandbox ports")
    args = parser.parse_args(argv)
    unknown = sorted(set(t for t in args.types.split(",") if t) - set(PURPOSES))
    if unknown:
        parser.error(f"--types: unknown document types {', '.join(unknown)}; known: {', '.join(sorted(PURPOSES))}")
    if args.role == "echo-server":
        event_loop.run(bench_roles.echo_server(args.amqp_url, args.queue))  # the gateway's loop, for a fair baseline
        return 0
    if args.role == "relay-server":
        event_loop.run(bench_roles.relay_server(args.amqp_url, args.queue, args.partner_queue))
        return 0
    if args.role == "gateway-worker":
        from gateway import logs

        logs.configure("WARNING", for_good=True)
        dgi, cnrc = (int(p) for p in args.ports.split(","))
        event_loop.run(bench_roles.gateway_worker(args.home, args.run, (dgi, cnrc)))
        return 0
    report = asyncio.run(run(args.requests, args.in_flight, args.amqp_url, args.rate, args.seconds, args.workers,
                             max(1, args.rounds), tuple(t for t in args.types.split(",") if t) or tuple(PURPOSES)))
    print(json.dumps(report, indent=2))
    e, r, f, p = report["echo"], report["relay"], report["full_path"], report["full_path_paced"]
    print(f"\necho       {e['per_second']:8.1f}/s  p99 {e['p99_ms']} ms", file=sys.stderr)
    print(f"relay      {r['per_second']:8.1f}/s  p99 {r['p99_ms']} ms", file=sys.stderr)
    print(f"full path  {f['per_second']:8.1f}/s  p99 {f['p99_ms']} ms  lost {f['lost']}  duplicates "
          f"{f['duplicates']}  bad seals {f['bad_seals']}  RSS {f['gateway_rss_mb']} MB", file=sys.stderr)
    print(f"message bytes (request/answer): relay {r['request_bytes']}/{r['answer_bytes']}  full path "
          f"{f['request_bytes']}/{f['answer_bytes']}", file=sys.stderr)
    print(f"at {args.rate:g}/s offered: p50 {p['p50_ms']} ms  p99 {p['p99_ms']} ms  lost {p['lost']}", file=sys.stderr)
    for name, phase in (("echo", e), ("relay", r), ("full path", f), (f"full path at {args.rate:g}/s", p)):
        cpu = "  ".join(f"{role} {ms:.2f}" for role, ms in phase["cpu_ms_per_request"].items())
        print(f"CPU ms per request, {name}: {cpu}", file=sys.stderr)
    print("rounds (relay/full per second): " + "  ".join(
        f"{a}/{b}" for a, b in zip(r["rounds_per_second"], f["rounds_per_second"], strict=True)), file=sys.stderr)
    print(f"ratio full/echo {report['ratio_full_to_echo']}  full/relay by round "
          f"{report['ratio_full_to_relay_by_round']}, median {report['ratio_full_to_relay']}", file=sys.stderr)
    print("bars (issue 7): " + "; ".join(
        f"{name} {value} ({bar}: {'met' if ok else 'NOT met'})" for name, value, bar, ok in (
            ("full/relay", report["ratio_full_to_relay"], ">= 0.50", (report["ratio_full_to_relay"] or 0) >= 0.5),
            (f"p99 at {args.rate:g}/s", f"{p['p99_ms']} ms", "<= 50 ms", p["p99_ms"] <= 50),
            ("gateway RSS", f"{f['gateway_rss_mb']} MB", "<= 200 MB", f["gateway_rss_mb"] <= 200))), file=sys.stderr)
    lost = f["lost"] + p["lost"]
    return 0 if lost == 0 and f["bad_seals"] == 0 and f["duplicates"] + p["duplicates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
