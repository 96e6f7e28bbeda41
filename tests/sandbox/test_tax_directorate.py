"""Tests of the DGI sandbox: data, mutual-TLS JSON API, fault injection and the program itself."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import sqlite3
import ssl
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway_sandbox import companies
from gateway_sandbox.tax_directorate import (
    TaxRecords,
    build,
    make_app,
    make_ssl_context,
)
from tests.sandbox._pki import Leaf, Pki
from tests.sandbox.support import ROOT, Serve


def _client_context(pki: Pki, leaf: Leaf | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    if leaf is not None:
        context.load_cert_chain(str(leaf.cert), str(leaf.key))
    return context


def _server_context(pki: Pki) -> ssl.SSLContext:
    return make_ssl_context(pki.server.cert, pki.server.key, pki.ca_cert)


async def _get(port: int, path: str, context: ssl.SSLContext) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"https://127.0.0.1:{port}{path}", ssl=context) as response,
    ):
        return response.status, await response.json(content_type=None)


def _dump(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT * FROM contribuable ORDER BY nif").fetchall()


def test_generation_and_build_are_deterministic(tmp_path: Path) -> None:
    """The same seed yields the same taxpayers and byte-for-byte the same rows; another seed differs."""
    assert companies.generate(300, seed=7) == companies.generate(300, seed=7)
    assert companies.generate(300, seed=7) != companies.generate(300, seed=8)
    build(tmp_path / "a.sqlite", seed=7, count=300)
    build(tmp_path / "b.sqlite", seed=7, count=300)
    assert _dump(tmp_path / "a.sqlite") == _dump(tmp_path / "b.sqlite")
    assert not list(tmp_path.glob("*.tmp"))


def test_population_size_and_shape(tax_db: Path) -> None:
    """The default database holds at least 5,000 taxpayers with unique 15-digit NIFs and both situations."""
    with TaxRecords(tax_db) as records:
        assert records.count() >= 5000
    rows = _dump(tax_db)
    assert len({row[0] for row in rows}) == len(rows)
    assert all(re.fullmatch(r"[0-9]{15}", row[0]) for row in rows)
    arrears = sum(row[6] == "EN_RETARD" for row in rows) / len(rows)
    assert 0.15 < arrears < 0.25
    everyone = companies.generate()
    assert sum(c.rc is not None for c in everyone) >= 5000
    assert 0.25 < sum(c.is_individual for c in everyone) / len(everyone) < 0.35


def test_records_are_read_only(tax_db: Path) -> None:
    """The records connection cannot write to the database."""
    with TaxRecords(tax_db) as records, pytest.raises(sqlite3.OperationalError):
        records._db.execute("DELETE FROM contribuable")


@pytest.mark.asyncio
async def test_examples_over_mutual_tls(pki: Pki, tax_db: Path, serve: Serve) -> None:
    """Found examples answer 200 with the native fields and missing ones 404 CONTRIBUABLE_INCONNU."""
    client = _client_context(pki, pki.gateway)
    with TaxRecords(tax_db) as records:
        async with serve(make_app(records), _server_context(pki)) as port:
            certificate = records.examples("tax-status-certificate")
            states = set()
            for nif in certificate["found"]:
                status, body = await _get(port, f"/api/v1/contribuables/{nif}/situation", client)
                assert status == 200
                assert set(body) == {"nif", "raisonSociale", "situationFiscale", "periode"}
                assert body["nif"] == nif and set(body["periode"]) == {"du", "au"}
                assert body["periode"]["du"] <= body["periode"]["au"]
                states.add(body["situationFiscale"])
            assert states == {"A_JOUR", "EN_RETARD"}
            registration = records.examples("tax-registration", n=2)
            for nif in registration["found"]:
                status, body = await _get(port, f"/api/v1/contribuables/{nif}/immatriculation", client)
                assert status == 200
                assert body == records.registration(nif)
                assert set(body) == {
                    "nif",
                    "raisonSociale",
                    "formeJuridique",
                    "adresse",
                    "centreImpots",
                    "dateImmatriculation",
                }
            for nif in certificate["missing"] + registration["missing"]:
                assert re.fullmatch(r"[0-9]{15}", nif)
                status, body = await _get(port, f"/api/v1/contribuables/{nif}/situation", client)
                assert (status, body["erreur"]) == (404, "CONTRIBUABLE_INCONNU")
            status, body = await _get(port, "/api/v1/contribuables/12345/immatriculation", client)
            assert (status, body["erreur"]) == (400, "NIF_INVALIDE")
            assert await _get(port, "/api/v1/sante", client) == (200, {"etat": "ok"})


def _raw_exchange(port: int, context: ssl.SSLContext) -> bytes:
    """Open a TLS connection, send a health request and return the first bytes answered."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        context.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET /api/v1/sante HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        return tls.recv(64)


@pytest.mark.asyncio
async def test_client_without_certificate_is_refused_by_handshake(pki: Pki, tax_db: Path, serve: Serve) -> None:
    """A client presenting no certificate, or one from another CA, is cut off by TLS before any HTTP answer."""
    with TaxRecords(tax_db) as records:
        async with serve(make_app(records), _server_context(pki)) as port:
            good = await asyncio.to_thread(_raw_exchange, port, _client_context(pki, pki.gateway))
            assert good.startswith(b"HTTP/1.1 200")
            for leaf in (None, pki.untrusted):
                with pytest.raises(aiohttp.ClientConnectionError):
                    await _get(port, "/api/v1/sante", _client_context(pki, leaf))
                tls12 = _client_context(pki, leaf)
                tls12.maximum_version = ssl.TLSVersion.TLSv1_2
                with pytest.raises((ssl.SSLError, ConnectionError)):
                    await asyncio.to_thread(_raw_exchange, port, tls12)
                tls13 = _client_context(pki, leaf)
                tls13.minimum_version = ssl.TLSVersion.TLSv1_3
                try:
                    answer = await asyncio.to_thread(_raw_exchange, port, tls13)
                except (ssl.SSLError, ConnectionError):
                    answer = b""
                assert answer == b""


@pytest.mark.asyncio
async def test_other_organization_gets_403(pki: Pki, tax_db: Path, serve: Serve) -> None:
    """A valid client certificate naming another organizationIdentifier is answered 403."""
    with TaxRecords(tax_db) as records:
        nif = records.examples("tax-registration", n=1)["found"][0]
        async with serve(make_app(records), _server_context(pki)) as port:
            status, body = await _get(
                port, f"/api/v1/contribuables/{nif}/immatriculation", _client_context(pki, pki.stranger)
            )
            assert (status, body["erreur"]) == (403, "CLIENT_NON_AUTORISE")
        allowed = frozenset({"dz.other.participant"})
        async with serve(make_app(records, allowed_clients=allowed), _server_context(pki)) as port:
            status, _ = await _get(
                port, f"/api/v1/contribuables/{nif}/immatriculation", _client_context(pki, pki.stranger)
            )
            assert status == 200


@pytest.mark.asyncio
async def test_fault_modes(pki: Pki, tax_db: Path, serve: Serve) -> None:
    """slow delays a correct answer, error gives 500, malformed gives non-JSON, down-after-headers cuts the body."""
    client = _client_context(pki, pki.gateway)
    with TaxRecords(tax_db) as records:
        nif = records.examples("tax-status-certificate", n=1)["found"][0]
        url = f"/api/v1/contribuables/{nif}/situation"
        async with serve(make_app(records, fault="slow", delay_ms=300), _server_context(pki)) as port:
            started = time.monotonic()
            status, body = await _get(port, url, client)
            assert time.monotonic() - started >= 0.3
            assert (status, body["nif"]) == (200, nif)
        async with serve(make_app(records, fault="error"), _server_context(pki)) as port:
            assert await _get(port, url, client) == (
                500,
                {"erreur": "ERREUR_INTERNE", "message": "Erreur interne du service."},
            )
        async with (
            serve(make_app(records, fault="malformed"), _server_context(pki)) as port,
            aiohttp.ClientSession() as session,
            session.get(f"https://127.0.0.1:{port}{url}", ssl=client) as response,
        ):
            assert response.status == 200
            with pytest.raises(json.JSONDecodeError):
                json.loads(await response.text())
        async with serve(make_app(records, fault="down-after-headers"), _server_context(pki)) as port:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"https://127.0.0.1:{port}{url}", ssl=client) as response,
            ):
                assert response.status == 200
                with pytest.raises(aiohttp.ClientPayloadError):
                    await response.read()
            assert await _get(port, "/api/v1/sante", client) == (200, {"etat": "ok"})


@pytest.mark.asyncio
async def test_log_lines_pseudonymise_the_nif(
    pki: Pki, tax_db: Path, serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    """Each request logs one JSON line whose path carries a sha256 prefix instead of the NIF."""
    caplog.set_level(logging.INFO, logger="gateway_sandbox.tax_directorate")
    with TaxRecords(tax_db) as records:
        nif = records.examples("tax-registration", n=1)["found"][0]
        async with serve(make_app(records), _server_context(pki)) as port:
            await _get(port, f"/api/v1/contribuables/{nif}/immatriculation", _client_context(pki, pki.gateway))
    lines = [json.loads(r.getMessage()) for r in caplog.records]
    assert len(lines) == 1 and nif not in caplog.text
    assert re.fullmatch(r"/api/v1/contribuables/sha256:[0-9a-f]{12}/immatriculation", lines[0]["path"])
    assert (lines[0]["status"], lines[0]["client"]) == (200, "dz.exchange.gateway")


@pytest.mark.asyncio
async def test_program_builds_serves_and_stops_cleanly(pki: Pki, tmp_path: Path) -> None:
    """The CLI builds a missing database, serves over mTLS, logs without NIFs and exits 0 on SIGTERM."""
    db = tmp_path / "dgi.sqlite"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway_sandbox.tax_directorate",
        "--db",
        str(db),
        "--port",
        "0",
        "--cert",
        str(pki.server.cert),
        "--key",
        str(pki.server.key),
        "--ca",
        str(pki.ca_cert),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        while True:
            line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
            assert line, "server exited early: " + "".join(lines)
            lines.append(line)
            if json.loads(line).get("event") == "listening":
                port = json.loads(line)["ports"][0]
                break
        with TaxRecords(db) as records:
            nif = records.examples("tax-status-certificate", n=1)["found"][0]
        status, _ = await _get(port, f"/api/v1/contribuables/{nif}/situation", _client_context(pki, pki.gateway))
        assert status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        rest = (await asyncio.wait_for(process.stderr.read(), 30)).decode()
        assert await process.wait() == 0
    text = "".join(lines) + rest
    assert nif not in text
    events = [json.loads(line) for line in text.splitlines()]
    assert any(e.get("status") == 200 and "sha256:" in e.get("path", "") for e in events)
