"""The benchmark command keeps working: one short run reports all four measures, with every
seal verified and nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_short_benchmark_reports_echo_relay_full_path_and_paced_latency() -> None:
    """`gateway bench` on 60 requests in 2 rounds: echo, relay, full path and paced run, 0 lost, 0 bad seals,
    CPU per request, and the ratio as the median of the rounds'."""
    result = subprocess.run([sys.executable, "-m", "gateway", "bench", "--requests", "60", "--rounds", "2",
                             "--in-flight", "20", "--rate", "20", "--seconds", "2"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    for part in ("echo", "relay", "full_path", "full_path_paced"):
        assert report[part]["lost"] == 0 and report[part]["per_second"] > 0
    assert report["full_path"]["bad_seals"] == 0 and report["full_path"]["statuses"] == {"issued": 160}  # all runs
    assert len(report["full_path"]["rounds_per_second"]) == len(report["ratio_full_to_relay_by_round"]) == 2
    by_round = sorted(report["ratio_full_to_relay_by_round"])
    assert by_round[0] <= report["ratio_full_to_relay"] <= by_round[1]
    assert report["full_path_paced"]["answered"] == 40
    for part in ("echo", "relay", "full_path"):
        assert report[part]["cpu_ms_per_request"]["total"] > 0


def test_the_full_path_mix_spreads_over_the_seven_types_and_several_agencies(tmp_path: Path) -> None:
    """The benchmark's requests name each of the seven document types, from more than one wilaya."""
    from lxml import etree

    from gateway import config as config_module
    from gateway.bench import NS, signed_requests
    from gateway.signing.pki import ensure_development_pki

    ensure_development_pki(tmp_path / "pki", config_module.load().participants)
    roots = [etree.fromstring(body) for _, body in signed_requests(tmp_path, 28)]
    types = {root.findtext(f"{{{NS}}}DocumentType") for root in roots}
    assert types == set(config_module.load().catalogue)
    assert len({root.findtext(f"{{{NS}}}Agency")[5:7] for root in roots}) > 3
