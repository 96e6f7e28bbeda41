"""The audit journal seen from the command line: the citizen access report lists exactly the
requests about one person, and `gateway audit verify` names the first tampered entry."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from exchange import BusClient, signed_xml

from gateway.signing.pki import Issued

Examples = dict[str, dict[str, list[str]]]


def gateway_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60)


async def test_citizen_report_lists_exactly_the_requests_about_that_person(
        bus: BusClient, cnas: Issued, examples: Examples, home: Path) -> None:
    """`gateway audit subject NIN` lists the requests about that NIN, and none about anyone else."""
    person, other = examples["residence-certificate"]["found"][2], examples["birth-certificate"]["found"][2]
    asked = []
    for doc_type, purpose in (("residence-certificate", "insured-registration"),
                              ("birth-certificate", "insured-registration")):
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
        ("birth-certificate", "insured-registration", "dz.interieur.etat-civil", "dz.cnas")}
    assert person not in result.stdout


async def test_verify_names_the_first_tampered_entry(bus: BusClient, cnas: Issued, examples: Examples,
                                                     home: Path, tmp_path: Path) -> None:
    """On a copy of the journal, `gateway audit verify` passes, then fails at the entry changed by hand."""
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    await bus.call(body, message_id=rid)
    copy = tmp_path / "home"
    copy.mkdir()
    db = sqlite3.connect(home / "gateway.sqlite3")
    db.execute(f"VACUUM INTO '{copy / 'gateway.sqlite3'}'")  # a consistent copy of the live database
    db.close()
    shutil.copytree(home / "secrets", copy / "secrets")
    shutil.copytree(home / "pki", copy / "pki")
    intact = gateway_cli("audit", "verify", "--home", str(copy))
    assert intact.returncode == 0 and "intact" in intact.stdout, intact.stdout + intact.stderr
    db = sqlite3.connect(copy / "gateway.sqlite3")
    with db:
        seq = db.execute("SELECT seq FROM audit ORDER BY seq LIMIT 1 OFFSET 2").fetchone()[0]
        db.execute("UPDATE audit SET requester = 'dz.finances.dgi' WHERE seq = ?", (seq,))
    db.close()
    broken = gateway_cli("audit", "verify", "--home", str(copy))
    assert broken.returncode == 1 and f"BROKEN at entry {seq}:" in broken.stdout and "altered" in broken.stdout
