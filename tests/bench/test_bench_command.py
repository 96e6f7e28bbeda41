"""The benchmark command keeps working: one short run reports all four measures, with every
seal verified and nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ADMIN_DSN


@pytest.mark.slow
def test_short_benchmark_reports_echo_relay_full_path_and_paced_latency() -> None:
    """`gateway bench` on 60 requests in 2 rounds: echo, relay, full path and paced run, 0 lost, 0 bad seals,
    CPU per request (each sandbox's apart), the ratio as the median of the rounds', and none of the
    sandboxes' request logs on the output; the paced run's CPU per request is reported too."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "bench",
            "--requests",
            "60",
            "--rounds",
            "2",
            "--in-flight",
            "20",
            "--rate",
            "20",
            "--seconds",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    for part in ("echo", "relay", "full_path", "full_path_paced"):
        assert report[part]["lost"] == 0 and report[part]["per_second"] > 0
    assert report["full_path"]["bad_seals"] == 0 and report["full_path"]["statuses"] == {"issued": 160}  # all runs
    assert len(report["full_path"]["rounds_per_second"]) == len(report["ratio_full_to_relay_by_round"]) == 2
    by_round = sorted(report["ratio_full_to_relay_by_round"])
    assert by_round[0] <= report["ratio_full_to_relay"] <= by_round[1]
    assert report["full_path_paced"]["answered"] == 40
    for part in ("echo", "relay", "full_path", "full_path_paced"):
        assert report[part]["cpu_ms_per_request"]["total"] > 0
        assert report[part]["cpu_ms_per_request"]["machine"] > 0  # all cores, kernel threads included
    for sandbox in ("civil registry", "tax directorate", "commercial register"):
        assert report["full_path"]["cpu_ms_per_request"][sandbox] > 0
    assert '"service"' not in result.stderr  # the sandboxes' JSON lines went to their log files


def test_the_full_path_mix_spreads_over_the_seven_types_and_several_agencies(tmp_path: Path) -> None:
    """The benchmark's requests name each of the seven document types CNAS asks for, from more than one wilaya."""
    from lxml import etree

    from benchmarks.mix import signed_requests
    from gateway import config as config_module
    from gateway.protocol import NS
    from gateway.signing.pki import ensure_development_pki

    ensure_development_pki(tmp_path / "pki", config_module.load().participants)
    roots = [etree.fromstring(body) for _, body in signed_requests(tmp_path, 28)]
    types = {root.findtext(f"{{{NS}}}DocumentType") for root in roots}
    assert types == set(config_module.load().requesters["dz.cnas"].document_types) and len(types) == 7
    assert len({root.findtext(f"{{{NS}}}Agency")[5:7] for root in roots}) > 3


def test_a_sandbox_that_stopped_has_the_end_of_its_log_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sandbox that exited on its own during the run is named, with its exit code and its log's last lines."""
    from benchmarks.processes import report_dead, spawn

    dead = spawn(
        "-c",
        "import sys; print('port already in use', file=sys.stderr); sys.exit(3)",
        log=tmp_path / "gateway_sandbox.tax_directorate.log",
    )
    alive = spawn("-c", "import time; time.sleep(30)", log=tmp_path / "gateway_sandbox.civil_registry.log")
    try:
        dead.wait(30)
        report_dead({"gateway_sandbox.tax_directorate": dead, "gateway_sandbox.civil_registry": alive}, tmp_path)
    finally:
        alive.kill()
        alive.wait()
    err = capsys.readouterr().err
    assert "gateway_sandbox.tax_directorate stopped with code 3" in err and "port already in use" in err
    assert "civil_registry" not in err


def test_a_gateway_worker_that_cannot_start_ends_the_benchmark_at_once_with_its_reason(tmp_path: Path) -> None:
    """A PostgreSQL database that does not exist: exit 2 within seconds, the createdb command on standard error."""
    missing = f"gateway_bench_missing_{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "bench", "--requests", "20", "--rounds", "1", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "GATEWAY_STORE": "postgresql",
            "GATEWAY_STORE_DSN": ADMIN_DSN.rsplit("/", 1)[0] + f"/{missing}",
        },
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "createdb -h " in result.stderr and f" {missing}) or name another" in result.stderr
    assert "Traceback" not in result.stderr
