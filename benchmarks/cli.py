"""`gateway bench`, and `python -m benchmarks ROLE` for the processes a run starts.

`gateway bench` is added to the gateway's command line through the `gateway.commands` entry
point of this package: the gateway itself never imports the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks import mix, roles
from benchmarks.processes import NotReady
from benchmarks.run import run
from gateway import config as config_module
from gateway import logs
from gateway.config import ConfigError
from gateway.runtime import event_loop
from gateway.store.opening import StoreUnavailable

#: What the project holds itself to, as (name, the run's value, the target, whether it is met).
TARGETS = "targets"
#: The full path's least share of the relay's rate, by store: PostgreSQL pays a network round trip
#: per store call, where SQLite's are calls into the same process.
RATIO_TARGETS = {"sqlite": 0.50, "postgresql": 0.45}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=2000, help="requests per relay and full path run")
    parser.add_argument("--rounds", type=int, default=5, help="relay-then-full-path rounds; the median ratio counts")
    parser.add_argument("--in-flight", type=int, default=100, help="requests outstanding at once (default 100)")
    parser.add_argument("--rate", type=float, default=100.0, help="offered load for the latency run (per second)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument(
        "--workers",
        type=int,
        default=config_module.default_workers(),
        help="gateway worker processes for the full path (default: as gateway up, one per CPU)",
    )
    parser.add_argument(
        "--types",
        default="",
        help="comma-separated document types of the full path (default: "
        "all of the catalogue), e.g. to cost one provider's path alone",
    )
    parser.add_argument(
        "--amqp-url",
        default=None,
        help="the broker, or several, comma-separated (default: the configuration's AMQP_URL)",
    )


def register(subparsers: Any) -> None:
    """Adds `gateway bench` to the gateway's command line."""
    bench = subparsers.add_parser(
        "bench",
        help="benchmark: the bare messaging baselines against the gateway's full path, in one run",
        description="In one run on one broker: a bare echo, then rounds of a bare two-hop relay and of the "
        "gateway's full path side by side, then the full path at a paced rate for its latency and "
        "memory. Prints a JSON report on standard output and a summary on standard error.",
    )
    _options(bench)
    bench.set_defaults(func=command, parser=bench)


def command(args: argparse.Namespace) -> int:
    """Runs the benchmark and prints its report; exit 1 when an answer was lost, duplicated or badly sealed."""
    catalogue = mix.catalogue()
    types = tuple(t for t in args.types.split(",") if t)
    if unknown := sorted(set(types) - set(catalogue)):
        known = ", ".join(sorted(catalogue))
        args.parser.error(f"--types: unknown document types {', '.join(unknown)}; known: {known}")
    if args.amqp_url:
        os.environ["AMQP_URL"] = args.amqp_url  # for the gateway workers and sandboxes it starts too
    url = config_module.load().settings.amqp_url
    try:
        report = asyncio.run(
            run(args.requests, args.in_flight, url, args.rate, args.seconds, args.workers, max(1, args.rounds), types)
        )
    except NotReady as exc:
        print(f"gateway bench: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    _summary(report, args.rate)
    f, p = report["full_path"], report["full_path_paced"]
    return 0 if f["lost"] + p["lost"] == 0 and f["bad_seals"] == 0 and f["duplicates"] + p["duplicates"] == 0 else 1


def _summary(report: dict[str, Any], rate: float) -> None:
    e, r, f, p = report["echo"], report["relay"], report["full_path"], report["full_path_paced"]
    lines = [
        f"\necho       {e['per_second']:8.1f}/s  p99 {e['p99_ms']} ms",
        f"relay      {r['per_second']:8.1f}/s  p99 {r['p99_ms']} ms",
        f"full path  {f['per_second']:8.1f}/s  p99 {f['p99_ms']} ms  lost {f['lost']}  duplicates "
        f"{f['duplicates']}  bad seals {f['bad_seals']}  RSS {f['gateway_rss_mb']} MB",
        f"message bytes (request/answer): relay {r['request_bytes']}/{r['answer_bytes']}  full path "
        f"{f['request_bytes']}/{f['answer_bytes']}",
        f"at {rate:g}/s offered: p50 {p['p50_ms']} ms  p99 {p['p99_ms']} ms  lost {p['lost']}",
    ]
    for name, phase in (("echo", e), ("relay", r), ("full path", f), (f"full path at {rate:g}/s", p)):
        cpu = "  ".join(f"{role} {ms:.2f}" for role, ms in phase["cpu_ms_per_request"].items())
        lines.append(f"CPU ms per request, {name}: {cpu}")
    lines.append(
        "rounds (relay/full per second): "
        + "  ".join(f"{a}/{b}" for a, b in zip(r["rounds_per_second"], f["rounds_per_second"], strict=True))
    )
    lines.append(
        f"ratio full/echo {report['ratio_full_to_echo']}  full/relay by round "
        f"{report['ratio_full_to_relay_by_round']}, median {report['ratio_full_to_relay']}"
    )
    least = RATIO_TARGETS.get(report.get("store", ""), 0.5)
    targets = (
        (
            f"full/relay on {report.get('store', 'the store')}",
            report["ratio_full_to_relay"],
            f">= {least:.2f}",
            (report["ratio_full_to_relay"] or 0) >= least,
        ),
        (f"p99 at {rate:g}/s", f"{p['p99_ms']} ms", "<= 50 ms", p["p99_ms"] <= 50),
        ("gateway RSS", f"{f['gateway_rss_mb']} MB", "<= 200 MB", f["gateway_rss_mb"] <= 200),
    )
    lines.append(
        f"{TARGETS}: "
        + "; ".join(f"{name} {value} ({target}: {'met' if ok else 'NOT met'})" for name, value, target, ok in targets)
    )
    print("\n".join(lines), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks [ROLE]`: a whole run (`run`, as `gateway bench`), or one of the processes
    that a run starts: the echo server, the relay, a gateway worker on the run's queues."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument(
        "role", nargs="?", default="run", choices=["run", "echo-server", "relay-server", "gateway-worker"]
    )
    _options(parser)
    parser.add_argument("--queue", default="", help="(echo-server, relay-server) the queue to consume")
    parser.add_argument("--partner-queue", default="", help="(relay-server) the partner echo's queue")
    parser.add_argument("--home", type=Path, default=None, help="(gateway-worker) the run's home folder")
    parser.add_argument("--run", default="", help="(gateway-worker) the run's id, which names its queues")
    parser.add_argument("--ports", default="0,0", help="(gateway-worker) the dgi and cnrc sandbox ports")
    args = parser.parse_args(argv)
    url = args.amqp_url or config_module.load().settings.amqp_url
    if args.role == "echo-server":
        event_loop.run(roles.echo_server(url, args.queue))  # the gateway's loop, for a fair baseline
    elif args.role == "relay-server":
        event_loop.run(roles.relay_server(url, args.queue, args.partner_queue))
    elif args.role == "gateway-worker":
        logs.configure("WARNING", for_good=True)
        dgi, cnrc = (int(p) for p in args.ports.split(","))
        try:
            event_loop.run(roles.gateway_worker(args.home, args.run, (dgi, cnrc)))
        except (StoreUnavailable, ConfigError, ConnectionError) as exc:
            print(f"gateway bench: a gateway worker cannot start: {exc}", file=sys.stderr)
            return 3
    else:
        args.parser = parser
        return command(args)
    return 0
