"""`gateway request`, run as a separate process against a running gateway: one document with an exit
status per outcome, and `--batch` runs with bad rows, a kill -9 in the middle and a resume."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import signal
import sys
from pathlib import Path

import aio_pika

from gateway.runtime.worker import Gateway
from tests.e2e.exchange import AMQP_URL

Examples = dict[str, dict[str, list[str]]]


def command(home: Path, gateway: Gateway, http: str, *args: str) -> list[str]:
    """The `gateway request` command line for this session's gateway and PKI."""
    return [
        sys.executable, "-m", "gateway", "request", "--home", str(home), "--url", AMQP_URL,
        "--queue", gateway.config.settings.request_queue, "--api", http, *args,
    ]  # fmt: skip


async def run(argv: list[str]) -> tuple[int, str, str]:
    """Runs a command without blocking the loop that serves the gateway: (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def provider_queries(gateway: Gateway) -> int:
    """How many times this gateway has asked any administration, from its metrics."""
    text = gateway.metrics.render().decode()
    return sum(
        int(float(v)) for v in re.findall(r"^gateway_provider_duration_seconds_count\{[^}]*\} (\S+)$", text, re.M)
    )


async def test_one_document_per_outcome_exit_status(
    home: Path, gateway: Gateway, http: str, examples: Examples, tmp_path: Path
) -> None:
    """Issued exits 0 and prints the data, not-found 3, refused 4 with the problem code, a bad subject 2."""
    found, missing = examples["birth-certificate"]["found"][0], examples["death-record"]["missing"][0]
    saved = tmp_path / "attestation.xml"
    status, out, _ = await run(
        command(home, gateway, http, "birth-certificate", "--subject", found, "--purpose", "family-allowance",
                "--save", str(saved))
    )  # fmt: skip
    assert status == 0, out
    assert "issued" in out and "birthRecordNumber" in out
    assert saved.read_bytes().startswith(b"<?xml")
    status, out, _ = await run(
        command(home, gateway, http, "death-record", "--subject", missing, "--purpose", "benefit-review", "--json",
                "--format", "jws")
    )  # fmt: skip
    assert status == 3, out
    assert json.loads(out)["status"] == "not-found" and json.loads(out)["sealed"].startswith("eyJ")
    tax = examples["tax-registration"]["found"][0]
    status, out, _ = await run(
        command(home, gateway, http, "tax-registration", "--subject", tax, "--purpose", "family-allowance")
    )
    assert status == 4 and "refused: purpose_not_allowed" in out
    status, _, err = await run(command(home, gateway, http, "birth-certificate", "--subject", "12", "--purpose", "x"))
    assert status == 2 and "not a NIN" in err


def write_rows(path: Path, examples: Examples, count: int) -> int:
    """`count` rows over four types, found and missing subjects, plus one unknown type and one bad subject;
    returns how many rows should reach an administration."""
    kinds = [
        ("birth-certificate", "family-allowance"),
        ("death-record", "benefit-review"),
        ("tax-status-certificate", "contribution-recovery"),
        ("commercial-register-extract", "employer-registration"),
    ]
    rows = []
    for n in range(count):
        kind, purpose = kinds[n % len(kinds)]
        pool = examples[kind]["found"] + examples[kind]["missing"]
        rows.append((kind, pool[n % len(pool)], purpose))
    rows[3] = ("no-such-type", examples["birth-certificate"]["found"][0], "family-allowance")
    rows[5] = ("birth-certificate", "12AB", "family-allowance")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["type", "subject", "purpose"])
        writer.writerows(rows)
    return count - 2


def read_results(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


async def test_a_batch_writes_one_line_per_row_with_bad_rows_explained(
    home: Path, gateway: Gateway, http: str, examples: Examples, tmp_path: Path
) -> None:
    """Every row gets one result line in input order; an unknown type and a malformed subject get their
    reason and do not stop the run; the summary counts outcomes and the SLA share."""
    rows, out = tmp_path / "rows.csv", tmp_path / "results.csv"
    reaching = write_rows(rows, examples, 60)
    before = provider_queries(gateway)
    status, summary, err = await run(
        command(home, gateway, http, "--batch", str(rows), "--out", str(out), "--json", "--in-flight", "8")
    )
    assert status == 0, err
    lines = read_results(out)
    assert [int(line["row"]) for line in lines] == list(range(1, 61))
    assert lines[3]["outcome"] == "refused" and lines[3]["problem"] == "unknown_document_type"
    assert lines[5]["outcome"] == "invalid" and "not a NIN" in lines[5]["message"]
    report = json.loads(summary)
    assert report["outcomes"]["refused"] == 1 and report["outcomes"]["invalid"] == 1
    assert report["outcomes"]["issued"] + report["outcomes"]["not-found"] == reaching
    assert report["slaShare"] == 1.0
    assert "within the SLA" in err
    assert provider_queries(gateway) - before == reaching
    status, summary, _ = await run(command(home, gateway, http, "--batch", str(rows), "--out", str(out), "--json"))
    assert status == 0 and json.loads(summary)["sentThisRun"] == 0  # a finished batch asks nothing again


async def test_a_batch_killed_midway_resumes_without_asking_twice(
    home: Path, gateway: Gateway, http: str, examples: Examples, tmp_path: Path
) -> None:
    """A run killed with SIGKILL at about half, started again with the same command, ends with exactly one
    line per row, the administrations were asked once per row that reaches them, and nothing was
    dead-lettered."""
    rows, out = tmp_path / "rows.csv", tmp_path / "results.csv"
    reaching = write_rows(rows, examples, 400)
    before = provider_queries(gateway)
    dead_before = await dead_letters(gateway)
    process = await asyncio.create_subprocess_exec(
        *command(home, gateway, http, "--batch", str(rows), "--out", str(out), "--in-flight", "16"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    while not out.exists() or out.read_bytes().count(b"\n") < 200:
        assert process.returncode is None, "the batch ended before it could be killed"
        await asyncio.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    await process.wait()
    written = out.read_bytes().count(b"\n") - 1
    assert written < 400
    status, summary, err = await run(command(home, gateway, http, "--batch", str(rows), "--out", str(out), "--json"))
    assert status == 0, err
    lines = read_results(out)
    assert sorted(int(line["row"]) for line in lines) == list(range(1, 401))
    assert json.loads(summary)["complete"] is True
    assert provider_queries(gateway) - before == reaching
    assert await dead_letters(gateway) == dead_before  # answers to the killed run waited in its reply queue


async def dead_letters(gateway: Gateway) -> int:
    """How many messages wait on this session's dead-letter queue."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(gateway.config.settings.dead_queue, passive=True)
        return queue.declaration_result.message_count or 0


async def test_the_pdf_option_writes_the_printable_attestation(
    home: Path, gateway: Gateway, http: str, examples: Examples, tmp_path: Path
) -> None:
    """`--pdf FILE` over HTTP writes the printed attestation, which `gateway verify FILE --home` finds valid; for
    a not-found answer it writes nothing and says why."""
    found, missing = examples["residence-certificate"]["found"][0], examples["death-record"]["missing"][0]
    pdf = tmp_path / "attestation.pdf"
    argv = command(home, gateway, http, "residence-certificate", "--subject", found, "--purpose",
                   "insured-registration", "--url", http, "--pdf", str(pdf))  # fmt: skip
    status, _, err = await run(argv)
    assert status == 0, err
    assert pdf.read_bytes().startswith(b"%PDF-") and str(pdf) in err
    status, out, _ = await run([sys.executable, "-m", "gateway", "verify", str(pdf), "--home", str(home)])
    assert status == 0 and out.startswith("VALID")
    absent = tmp_path / "absent.pdf"
    argv = command(home, gateway, http, "death-record", "--subject", missing, "--purpose", "benefit-review",
                   "--url", http, "--pdf", str(absent))  # fmt: skip
    status, _, err = await run(argv)
    assert status == 3 and not absent.exists() and "only an issued attestation is printed" in err
