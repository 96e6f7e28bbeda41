"""A gateway that cannot start says why in one line and exits with status 3, instead of a
traceback and workers started again every second: a PostgreSQL database that does not exist,
no broker, a web port taken, a SQLite store that cannot be opened."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from gateway.store.opening import StoreUnavailable
from gateway.store.sqlite import SQLiteStore
from tests.conftest import ADMIN_DSN
from tests.faults.harness import free_port

pytestmark = pytest.mark.slow

CANNOT_START = 3


def gateway_up(home: Path, env: dict[str, str], *options: str) -> tuple[int, list[dict[str, object]]]:
    """`gateway up --no-sandboxes` with `env` added; its exit status and the JSON lines it logged."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "up", "--home", str(home), "--no-sandboxes", *options],
        env={**os.environ, "GATEWAY_HTTP_PORT": str(free_port()), "GATEWAY_LOG_LEVEL": "INFO", **env},
        capture_output=True,
        timeout=60,
    )
    lines = []
    for line in done.stdout.decode().splitlines() + done.stderr.decode().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    assert "Traceback" not in done.stderr.decode(), done.stderr.decode()[-2000:]
    return done.returncode, lines


def reasons(lines: list[dict[str, object]]) -> list[str]:
    return [str(line["reason"]) for line in lines if line.get("event") == "startup_failed"]


def test_a_missing_postgresql_database_ends_gateway_up_with_the_command_that_creates_it(tmp_path: Path) -> None:
    """With two workers and a database that does not exist: status 3, the database and createdb named, no password."""
    name = f"gateway_missing_{uuid.uuid4().hex[:8]}"
    server = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://postgres@", "postgresql://postgres:pw-not-to-log@")
    code, lines = gateway_up(
        tmp_path, {"GATEWAY_STORE": "postgresql", "GATEWAY_STORE_DSN": f"{server}/{name}"}, "--workers", "2"
    )
    assert code == CANNOT_START
    said = reasons(lines)
    assert said and all(f"database {name} does not exist" in r and "createdb" in r for r in said)
    assert not any("pw-not-to-log" in json.dumps(line) for line in lines)
    assert any(line.get("event") == "worker_cannot_start" for line in lines)
    assert not any(line.get("event") == "worker_died" for line in lines)  # not started again and again


def test_no_broker_ends_gateway_up_with_status_3(tmp_path: Path) -> None:
    """One worker and no broker on the AMQP URL: status 3 and `no broker answers`, the password masked."""
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    code, lines = gateway_up(tmp_path, {"AMQP_URL": url}, "--workers", "1")
    assert code == CANNOT_START
    assert [r for r in reasons(lines) if r.startswith("no broker answers") and "guest:guest" not in r]


async def test_a_sqlite_store_that_cannot_be_opened_names_its_file(tmp_path: Path) -> None:
    """A store path that is a folder gives StoreUnavailable naming the path, not a bare sqlite3 error."""
    path = tmp_path / "gateway.sqlite3"
    path.mkdir()
    with pytest.raises(StoreUnavailable, match=str(path)):
        await SQLiteStore(path).open()


def test_a_taken_web_port_ends_gateway_up_with_status_3(tmp_path: Path) -> None:
    """Another program listening on the web port: status 3 and `cannot listen on` that port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, lines = gateway_up(tmp_path, {"GATEWAY_HTTP_PORT": str(port)}, "--workers", "2")
    assert code == CANNOT_START
    assert [r for r in reasons(lines) if r.startswith(f"cannot listen on 127.0.0.1:{port}")]
