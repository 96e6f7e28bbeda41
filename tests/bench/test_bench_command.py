"""The benchmark command keeps working: one short run reports all four measures, with every
seal verified and nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_short_benchmark_reports_echo_relay_full_path_and_paced_latency() -> None:
    """`gateway bench` on 60 requests: echo, relay, full path and paced run, 0 lost, 0 bad seals."""
    result = subprocess.run([sys.executable, "-m", "gateway", "bench", "--requests", "60", "--in-flight", "20",
                             "--rate", "20", "--seconds", "2"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    for part in ("echo", "relay", "full_path", "full_path_paced"):
        assert report[part]["lost"] == 0 and report[part]["per_second"] > 0
    assert report["full_path"]["bad_seals"] == 0 and report["full_path"]["statuses"] == {"issued": 100}  # both runs
    assert report["full_path_paced"]["answered"] == 40
