"""The audit journal seen from the command line: the citizen access report lists exactly the
requests about one person, and `gateway audit verify` names the first tampered entry."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp

from gateway.runtime.worker import Gateway
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import Issued
from gateway.signing.seal import verify_jws_seal
from tests.e2e.exchange import BusClient, now_iso, signed_xml

Examples = dict[str, dict[str, list[str]]]


def gateway_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60)


async def test_citizen_report_lists_exactly_the_requests_about_that_person(
    bus: BusClient, cnas: Issued, examples: Examples, home: Path
) -> None:
    """`gateway audit subject NIN` lists the requests about that NIN, and none about anyone else."""
    person, other = examples["residence-certificate"]["found"][2], examples["birth-certificate"]["found"][2]
    asked = []
    for doc_type, purpose in (
        ("residence-certificate", "insured-registration"),
        ("birth-certificate", "insured-registration"),
    ):
        rid, body = signed_xml(cnas, document_type=doc_type, purpose=purpose, subject={"nin": person})
        await bus.call(body, message_id=rid)
        asked.append(rid)
    rid, body = signed_xml(cnas, subject={"nin": other})
    await bus.call(body, message_id=rid)
    result = gateway_cli("audit", "subject", person, "--home", str(home), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {r["requestId"] for r in report} == set(asked)
    assert {(r["documentType"], r["purpose"], r["provider"], r["requester"]) for r in report} == {
        ("residence-certificate", "insured-registration", "dz.interieur.etat-civil", "dz.cnas"),
        ("birth-certificate", "insured-registration", "dz.interieur.etat-civil", "dz.cnas"),
    }
    assert person not in result.stdout


def copy_of(home: Path, tmp_path: Path, *, with_checkpoints: bool = True) -> Path:
    """A consistent copy of a live home: its database, keys and (unless told) its checkpoints."""
    copy = tmp_path / "home"
    copy.mkdir()
    db = sqlite3.connect(home / "gateway.sqlite3")
    db.execute(f"VACUUM INTO '{copy / 'gateway.sqlite3'}'")
    db.close()
    shutil.copytree(home / "secrets", copy / "secrets")
    shutil.copytree(home / "pki", copy / "pki")
    if with_checkpoints and (home / "checkpoints").is_dir():
        shutil.copytree(home / "checkpoints", copy / "checkpoints")
    return copy


async def test_verify_names_the_first_tampered_entry(
    bus: BusClient, cnas: Issued, examples: Examples, home: Path, tmp_path: Path, gateway: Gateway
) -> None:
    """On a copy of the journal, `gateway audit verify` passes, then fails at the entry changed by hand."""
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    await bus.call(body, message_id=rid)
    await gateway.checkpoint()
    copy = copy_of(home, tmp_path)
    intact = gateway_cli("audit", "verify", "--home", str(copy))
    assert intact.returncode == 0 and "intact" in intact.stdout, intact.stdout + intact.stderr
    db = sqlite3.connect(copy / "gateway.sqlite3")
    with db:
        seq = db.execute("SELECT seq FROM audit ORDER BY seq LIMIT 1 OFFSET 2").fetchone()[0]
        db.execute("UPDATE audit SET requester = 'dz.finances.dgi' WHERE seq = ?", (seq,))
    db.close()
    broken = gateway_cli("audit", "verify", "--home", str(copy))
    assert broken.returncode == 1 and f"BROKEN at entry {seq}:" in broken.stdout and "altered" in broken.stdout


async def _report(http: str, token: bytes) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(http + "/v1/citizen/access-report", data=token, headers={"Content-Type": "application/jose"}) as r,
    ):
        return r.status, await r.read()


def _portal_request(who: Issued, nin: str, issued_at: str | None = None) -> bytes:
    payload = {"requestId": str(uuid.uuid4()), "issuedAt": issued_at or now_iso(), "subject": {"nin": nin}}
    return JWSSigner(who.key, [who.cert]).sign(json.dumps(payload).encode())


async def test_citizen_portal_gets_a_sealed_report_about_one_person(
    http: str, bus: BusClient, cnas: Issued, identity: Callable[[str], Issued], examples: Examples, gateway: Gateway
) -> None:
    """The portal, signing with its own certificate, gets a sealed report of exactly that person's requests."""
    person = examples["family-record"]["found"][2]
    rid, body = signed_xml(cnas, document_type="family-record", subject={"nin": person})
    await bus.call(body, message_id=rid)
    status, sealed = await _report(http, _portal_request(identity("dz.portail-citoyen"), person))
    assert status == 200
    seal = verify_jws_seal(sealed, gateway.trust)
    report = json.loads(seal.payload or b"")
    assert seal.signer.participant == "dz.exchange.gateway"
    assert [(e["documentType"], e["requester"], e["purpose"]) for e in report["entries"]] == [
        ("family-record", "dz.cnas", "family-allowance")
    ]
    assert person.encode() not in sealed


async def test_only_a_citizen_portal_may_ask_for_a_report(  # type: ignore[no-untyped-def]
    http: str, cnas: Issued, identity, examples: Examples
) -> None:
    """CNAS itself is refused (access_denied); a stale or unsigned request is refused with its code."""
    person = examples["family-record"]["found"][2]
    status, answer = await _report(http, _portal_request(cnas, person))
    assert status == 403 and json.loads(answer)["error"] == "access_denied"
    status, answer = await _report(http, _portal_request(identity("dz.portail-citoyen"), person, now_iso(-900)))
    assert status == 422 and json.loads(answer)["error"] == "stale_request"
    status, answer = await _report(http, b"eyJhbGciOiJub25lIn0.e30.")
    assert status == 401 and json.loads(answer)["error"] == "signature_invalid"


async def test_checkpoints_are_published_and_catch_a_cut_journal_whose_checkpoints_were_dropped(
    http: str, bus: BusClient, cnas: Issued, examples: Examples, home: Path, tmp_path: Path, gateway: Gateway
) -> None:
    """A worker's checkpoint is published at GET /v1/audit/checkpoints; on a copy whose last three entries,
    head row and checkpoint folder were removed, `gateway audit verify --checkpoints` with the auditor's copy
    names that checkpoint and the entries removed (exit 1); the untouched copy holds (exit 0)."""
    for _ in range(3):
        rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][1]})
        await bus.call(body, message_id=rid)
    checkpoint = await gateway.checkpoint()
    assert checkpoint is not None
    async with aiohttp.ClientSession() as session, session.get(http + "/v1/audit/checkpoints") as response:
        published = await response.json()
    assert response.status == 200 and published["journal"] == "dz.exchange.gateway"
    assert published["checkpoints"] and b"family" not in json.dumps(published).encode()
    auditor = tmp_path / "auditor.json"
    auditor.write_text(json.dumps(published))
    copy = copy_of(home, tmp_path, with_checkpoints=False)
    holds = gateway_cli("audit", "verify", "--home", str(copy), "--checkpoints", str(auditor))
    assert holds.returncode == 0 and "intact" in holds.stdout, holds.stdout + holds.stderr
    db = sqlite3.connect(copy / "gateway.sqlite3")
    with db:
        kept = checkpoint.entries - 3
        cutoff = db.execute("SELECT seq FROM audit ORDER BY seq LIMIT 1 OFFSET ?", (kept,)).fetchone()[0]
        db.execute("DELETE FROM audit WHERE seq >= ?", (cutoff,))
        db.execute("DELETE FROM audit_head")
    db.close()
    cut = gateway_cli("audit", "verify", "--home", str(copy), "--checkpoints", str(auditor))
    assert cut.returncode == 1 and "audit journal intact" in cut.stdout  # the chain alone cannot tell
    assert f"{checkpoint.entries} entries, head {checkpoint.head[:16]}" in cut.stdout
    assert f"entries {kept + 1} to {checkpoint.entries} were removed from its end" in cut.stdout
