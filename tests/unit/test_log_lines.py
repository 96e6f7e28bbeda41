"""Log lines from several processes that share one standard error (the workers and sandboxes of
`gateway up`, under systemd one journal stream) stay whole: each line is written at once, so
that no two processes' lines are interleaved into JSON that no collector can read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PROCESSES = 4
LINES = 3000

GATEWAY_WRITER = textwrap.dedent(
    """
    import structlog
    from gateway import logs
    logs.configure("INFO", for_good=True)
    log = structlog.get_logger("test")
    for n in range({lines}):
        log.info("line", n=n, padding="x" * 200)
    """
)

PARTNER_WRITER = textwrap.dedent(
    """
    import sys
    from types import SimpleNamespace
    from gateway_partner.service import Partner
    partner = SimpleNamespace(identity=SimpleNamespace(code="dz.test"), log_stream=sys.stderr)
    for n in range({lines}):
        Partner.log(partner, "line", n=n, padding="x" * 200)
    """
)


def lines_of(writer: str) -> list[str]:
    """What PROCESSES copies of `writer`, started at once on one shared pipe, wrote to it."""
    read, write = os.pipe()
    code = writer.format(lines=LINES)
    processes = [subprocess.Popen([sys.executable, "-c", code], stderr=write) for _ in range(PROCESSES)]
    os.close(write)
    with open(read, encoding="utf-8") as shared:
        text = shared.read()
    for process in processes:
        assert process.wait(60) == 0
    return text.splitlines()


def broken(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            out.append(line[:120])
    return out


def test_the_gateway_writes_each_log_line_whole() -> None:
    """Four processes logging 3,000 lines each through gateway.logs on one pipe: every line is one JSON object."""
    lines = lines_of(GATEWAY_WRITER)
    assert len(lines) == PROCESSES * LINES and not broken(lines)


def test_the_partner_kit_writes_each_log_line_whole() -> None:
    """The same through the partner kit's log, which the sandboxes write beside the workers."""
    lines = lines_of(PARTNER_WRITER)
    assert len(lines) == PROCESSES * LINES and not broken(lines)


def test_a_library_message_is_a_json_line_too() -> None:
    """A warning logged by a library through the standard logging module comes out as one JSON line
    with its level, its logger's name and its exception, like the gateway's own lines."""
    code = textwrap.dedent(
        """
        import logging
        from gateway import logs
        logs.configure("INFO", for_good=True)
        try:
            raise ConnectionError("broker gone")
        except ConnectionError:
            logging.getLogger("aiormq.connection").warning("Unexpected connection close", exc_info=True)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [line] = done.stderr.splitlines()
    record = json.loads(line)
    assert record["event"] == "Unexpected connection close" and record["level"] == "warning"
    assert record["logger"] == "aiormq.connection" and "ConnectionError: broker gone" in record["exception"]
