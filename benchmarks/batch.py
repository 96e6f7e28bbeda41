"""`gateway bench-batch`: bulk runs of `gateway request --batch` against a running gateway.

Two runs over the same rows (every type of the catalogue, subjects the sandboxes hold):

1. straight through: rows per second, and the gateway's provider queries per row;
2. killed with SIGKILL at about half, then started again with the same command: every row must
   end with exactly one result line, and the administrations must have been asked once per row.

The gateway is the one `gateway up` runs with its defaults (start it first); the provider
queries are read from its `/metrics`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.mix import catalogue, subjects
from gateway import config as config_module


def register(subparsers: Any) -> None:
    """Adds `gateway bench-batch` to the gateway's command line."""
    parser = subparsers.add_parser(
        "bench-batch",
        help="benchmark: bulk runs of `gateway request --batch`, straight and killed then resumed",
        description="Against a running gateway (`gateway up`): one bulk run straight through, then one killed "
        "with SIGKILL at about half and resumed. Prints a JSON report; exit 1 if a row has no result line or "
        "two, or if an administration was asked twice for a row.",
    )
    parser.add_argument("--rows", type=int, default=20_000, help="rows per run (default 20,000)")
    parser.add_argument("--home", type=Path, default=Path("var"), help="the gateway's state folder (default ./var)")
    parser.add_argument("--api", default="http://127.0.0.1:8080", help="the gateway's HTTP API, for its metrics")
    parser.add_argument("--in-flight", type=int, default=None, help="passed on to --batch (default: its own)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the rows and results (default: a temp)")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    try:
        urllib.request.urlopen(f"{args.api}/readyz", timeout=5).read()
    except OSError as exc:
        print(f"gateway bench-batch: no gateway answers at {args.api} ({exc}); start it with `gateway up`")
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = work / "rows.csv"
    reaching = write_rows(rows, args.home.resolve(), args.rows)
    report: dict[str, Any] = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"), "rows": args.rows}
    report["straight"] = straight(args, rows, work / "straight.csv", reaching)
    report["killed_and_resumed"] = killed_and_resumed(args, rows, work / "resumed.csv", reaching)
    print(json.dumps(report, indent=2))
    good = all(report[k]["one_line_per_row"] and report[k]["provider_queries_per_row"] == 1.0 for k in
               ("straight", "killed_and_resumed"))  # fmt: skip
    return 0 if good else 1


def write_rows(path: Path, home: Path, count: int) -> int:
    """`count` rows over every type, each with a purpose that releases it to dz.cnas; returns how many."""
    config = config_module.load()
    allowed = config.requesters["dz.cnas"].purposes
    types = catalogue()
    found = subjects(home, n=200)
    names = sorted(types)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["type", "subject", "purpose"])
        for n in range(count):
            name = names[n % len(names)]
            purpose = next(p for p in types[name].purposes if p in allowed)
            writer.writerow([name, found[name][(n // len(names)) % len(found[name])], purpose])
    return count


def provider_queries(api: str) -> int:
    """The gateway's provider queries so far (all providers), from its metrics."""
    text = urllib.request.urlopen(f"{api}/metrics", timeout=10).read().decode()
    pattern = r"^gateway_provider_duration_seconds_count\{[^}]*\} (\S+)$"
    return sum(int(float(v)) for v in re.findall(pattern, text, re.M))


def batch_command(args: argparse.Namespace, rows: Path, out: Path) -> list[str]:
    argv = [sys.executable, "-m", "gateway", "request", "--home", str(args.home), "--api", args.api]
    argv += ["--batch", str(rows), "--out", str(out), "--json"]
    if args.in_flight:
        argv += ["--in-flight", str(args.in_flight)]
    return argv


def check(out: Path, count: int) -> dict[str, Any]:
    with out.open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    per_row = Counter(int(line["row"]) for line in lines)
    return {
        "result_lines": len(lines),
        "one_line_per_row": sorted(per_row) == list(range(1, count + 1)) and set(per_row.values()) == {1},
        "outcomes": dict(Counter(line["outcome"] for line in lines)),
    }


def straight(args: argparse.Namespace, rows: Path, out: Path, reaching: int) -> dict[str, Any]:
    before = provider_queries(args.api)
    started = time.monotonic()
    done = subprocess.run(batch_command(args, rows, out), capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    queries = provider_queries(args.api) - before
    summary = json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-2000:]}
    return {
        "seconds": round(seconds, 1),
        "rows_per_second": round(args.rows / seconds, 1),
        "provider_queries": queries,
        "provider_queries_per_row": round(queries / reaching, 4),
        "sla_share": summary.get("slaShare"),
        **check(out, args.rows),
    }


def killed_and_resumed(args: argparse.Namespace, rows: Path, out: Path, reaching: int) -> dict[str, Any]:
    before = provider_queries(args.api)
    started = time.monotonic()
    process = subprocess.Popen(batch_command(args, rows, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not out.exists() or out.read_bytes().count(b"\n") < args.rows // 2:
        if process.poll() is not None:
            raise RuntimeError("the batch ended before it could be killed")
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    at_kill = out.read_bytes().count(b"\n") - 1
    resumed = subprocess.run(batch_command(args, rows, out), capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    queries = provider_queries(args.api) - before
    summary = json.loads(resumed.stdout) if resumed.returncode == 0 else {"error": resumed.stderr[-2000:]}
    return {
        "lines_at_kill": at_kill,
        "resent_from_journal": summary.get("resentFromJournal"),
        "seconds_both_parts": round(seconds, 1),
        "provider_queries": queries,
        "provider_queries_per_row": round(queries / reaching, 4),
        **check(out, args.rows),
    }
