"""One run of the benchmark: the echo, then rounds of the two-hop relay and the gateway's full
path side by side, then the full path at a paced rate (see `benchmarks/__init__.py`)."""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import uuid
from pathlib import Path
from typing import Any

from lxml import etree

from benchmarks import roles
from benchmarks.measures import CpuMeter, Phase, drive, rss_mb
from benchmarks.mix import catalogue, signed_requests
from benchmarks.processes import delete_queues, free_port, report_dead, spawn, stop, wait_consumer, wait_ports
from gateway import config as config_module
from gateway.protocol import NS_TAG
from gateway.runtime import sandboxes
from gateway.signing.pki import ensure_development_pki
from gateway.signing.seal import verify_xml_seal
from gateway.signing.trust import TrustStore
from gateway.transports import brokers

SETTLE_SECONDS = 3.0
#: The benchmark's name for the CPU of each sandbox administration, by its module.
_SANDBOX_ROLES = {
    "gateway_sandbox.civil_registry": "civil registry",
    "gateway_sandbox.tax_directorate": "tax directorate",
    "gateway_sandbox.commercial_register": "commercial register",
}


async def run(
    requests: int,
    in_flight: int,
    url: str,
    rate: float,
    seconds: float = 10.0,
    workers: int = 1,
    rounds: int = 5,
    types: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Echo once, then `rounds` rounds of relay-then-full-path (each full path run next to its own
    relay run, so that the machine's drift weighs on both alike), then the paced run."""
    run_id = uuid.uuid4().hex[:8]
    config = config_module.load()
    database = config.settings.store_backend == "postgresql"  # then its CPU counts as the workers' store's
    types = tuple(sorted(types or catalogue()))
    payload = b"x" * 2500  # about the size of a signed request
    echo_queue = f"bench.{run_id}.echo"
    echo = spawn("-m", "benchmarks", "echo-server", "--queue", echo_queue, "--amqp-url", url)
    try:
        await wait_consumer(url, echo_queue)
        meter = CpuMeter({"echo": [echo.pid]})
        echo_result, _ = await drive(
            url,
            echo_queue,
            [(str(uuid.uuid4()), payload) for _ in range(requests)],
            in_flight,
            "application/octet-stream",
            "echo",
        )
        echo_cpu = meter.per_request(echo_result.answered)
    finally:
        stop(echo)
        await delete_queues(url, [echo_queue])

    relay_in, relay_partner = f"bench.{run_id}.relay", f"bench.{run_id}.relay-partner"
    relay, full = Phase(), Phase()
    answers: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        home = Path(tmp)
        ensure_development_pki(home / "pki", config.participants)
        bodies = signed_requests(home, requests * rounds, types=types)
        paced = signed_requests(home, max(1, int(rate * seconds)), types=types)
        ports = (free_port(), free_port())
        baseline = [spawn("-m", "benchmarks", "echo-server", "--queue", relay_partner, "--amqp-url", url)]
        baseline.append(
            spawn(
                "-m",
                "benchmarks",
                "relay-server",
                "--queue",
                relay_in,
                "--partner-queue",
                relay_partner,
                "--amqp-url",
                url,
            )
        )
        logs = home / "logs"
        logs.mkdir()
        commands = [
            [
                "-m",
                "gateway_sandbox.civil_registry",
                "--home",
                str(home),
                "--amqp-url",
                url,
                "--queue",
                f"bench.{run_id}.partner",
                "--queue-type",
                config.settings.queue_type,
            ]
        ]
        commands += [
            c[1:]
            for c in sandboxes.commands(home, roles.bench_config(run_id, ports))
            if "gateway_sandbox.civil_registry" not in c
        ]
        partners = {c[1]: spawn(*c, log=logs / f"{c[1]}.log") for c in commands}  # by module
        gateway_workers = [
            spawn(
                "-m",
                "benchmarks",
                "gateway-worker",
                "--home",
                str(home),
                "--run",
                run_id,
                "--ports",
                f"{ports[0]},{ports[1]}",
            )
            for _ in range(workers)
        ]
        queues = [
            relay_in,
            relay_partner,
            *(f"bench.{run_id}.{q}" for q in ("requests", "requests.probe", "dead", "partner", "lane.bulk")),
        ]
        try:
            await wait_consumer(url, relay_partner)
            await wait_consumer(url, relay_in)
            await wait_consumer(url, f"bench.{run_id}.partner")
            await wait_ports(ports)
            await wait_consumer(url, f"bench.{run_id}.requests", count=workers, consumers=gateway_workers)
            full_roles = {"gateway": [w.pid for w in gateway_workers]} | {
                _SANDBOX_ROLES.get(m, m): [p.pid] for m, p in partners.items()
            }
            for n in range(rounds):
                meter = CpuMeter({"relay": [baseline[1].pid], "partner echo": [baseline[0].pid]})
                result, _ = await drive(
                    url,
                    relay_in,
                    [(str(uuid.uuid4()), payload) for _ in range(requests)],
                    in_flight,
                    "application/octet-stream",
                    "two-hop relay",
                )
                relay.add(result, meter.per_request(result.answered))
                meter = CpuMeter(full_roles, database=database)
                result, got = await drive(
                    url,
                    f"bench.{run_id}.requests",
                    bodies[n * requests : (n + 1) * requests],
                    in_flight,
                    "application/xml",
                    "full path",
                )
                full.add(result, meter.per_request(result.answered))
                answers.update(got)
            rss = max(rss_mb(w.pid) for w in gateway_workers)
            await asyncio.sleep(SETTLE_SECONDS)  # the latency is a steady-state measure, not the burst's tail
            # At a paced rate each message wakes its processes alone: the CPU per request is higher
            # than at saturation, and it is what decides the latency on a slower machine.
            meter = CpuMeter(full_roles, database=database)
            paced_result, paced_answers = await drive(
                url,
                f"bench.{run_id}.requests",
                paced,
                in_flight,
                "application/xml",
                f"full path at {rate:g}/s",
                rate=rate,
            )
            paced_cpu = meter.per_request(paced_result.answered)
            rss = max(rss, *(rss_mb(w.pid) for w in gateway_workers))
        finally:
            report_dead(partners, logs)
            for process in (*gateway_workers, *partners.values(), *baseline):
                stop(process)
            await delete_queues(url, queues)
        trust = TrustStore.from_pem_file(home / "pki" / "ca.pem")
        bad_seals = 0
        statuses: dict[str, int] = {}
        for body in [*answers.values(), *paced_answers.values()]:
            try:
                seal = verify_xml_seal(etree.fromstring(body), trust)
                status = seal.xml.findtext(f"{NS_TAG}Status") if seal.xml is not None else "?"
                statuses[status or "?"] = statuses.get(status or "?", 0) + 1
            except Exception:
                bad_seals += 1
    ratios = [f.rate / r.rate for r, f in zip(relay.results, full.results, strict=True) if r.rate]
    return {
        "echo": echo_result.summary() | {"cpu_ms_per_request": echo_cpu},
        "relay": relay.summary() | {"request_bytes": len(payload), "answer_bytes": len(payload)},
        "full_path": full.summary()
        | {
            "bad_seals": bad_seals,
            "statuses": statuses,
            "gateway_rss_mb": round(rss, 1),
            "request_bytes": round(statistics.mean(len(b) for _, b in bodies)),
            "answer_bytes": round(statistics.mean(len(b) for b in answers.values())) if answers else 0,
        },
        "full_path_paced": paced_result.summary() | {"offered_per_second": rate, "cpu_ms_per_request": paced_cpu},
        "ratio_full_to_echo": round(full.median().rate / echo_result.rate, 3) if echo_result.rate else None,
        "ratio_full_to_relay_by_round": [round(r, 3) for r in ratios],
        "ratio_full_to_relay": round(statistics.median(ratios), 3) if ratios else None,
        "requests": requests,
        "rounds": rounds,
        "document_types": sorted(types),
        "in_flight": in_flight,
        "cpus": os.cpu_count(),
        "gateway_workers": workers,
        "store": config.settings.store_backend,
        "queue_type": config.settings.queue_type,
        "brokers": len(brokers.broker_urls(url)),
    }
