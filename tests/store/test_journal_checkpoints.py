"""The journal held to its sealed checkpoints, on both back ends, as an insider with write access
to the database would attack it: the last entries and the head removed, an entry rewritten with
every later hash recomputed, a checkpoint forged with another key. Each is found, and the
checkpoint and the entries concerned are named, when the auditor holds an earlier checkpoint."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import config as config_module
from gateway.audit import checkpoints, journal
from gateway.audit.checkpoints import Checkpoint
from gateway.signing.pki import ensure_development_pki, load_identity
from gateway.signing.seal import Sealer
from gateway.signing.trust import TrustStore
from gateway.store import Store
from gateway.store.chain import GENESIS, chain_hash
from gateway.store.sqlite import SQLiteStore
from tests.store.test_audit_chain import filled, tamper

GATEWAY = "dz.exchange.gateway"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("checkpoints") / "pki"
    ensure_development_pki(folder, config_module.load().participants)
    return folder


def seal(pki: Path, who: str, checkpoint: Checkpoint) -> str:
    key, chain = load_identity(pki / who)
    return Sealer(key, chain).seal_json(checkpoint.payload()).decode()


async def sealed_at(store: Store, pki: Path, *counts: int, who: str = GATEWAY) -> list[str]:
    """The auditor's copy: checkpoints of the journal's head as it stood after `counts` entries."""
    chain, _ = await store.audit_chain()
    now = dt.datetime.now(dt.UTC)
    return [seal(pki, who, Checkpoint(GATEWAY, n, chain[n - 1].entry_hash, now)) for n in counts]


async def held(store: Store, pki: Path, tokens: list[str]) -> tuple[journal.Verdict, int, list[str]]:
    chain, head = await store.audit_chain()
    holding, findings = checkpoints.check(chain, tokens, TrustStore.from_pem_file(pki / "ca.pem"), GATEWAY)
    return journal.verify(chain, head), holding, [str(f) for f in findings]


async def test_an_untouched_journal_holds_to_every_checkpoint(store: Store, pki: Path) -> None:
    """Ten entries and checkpoints after 4 and 10: the chain verifies and both checkpoints hold."""
    await filled(store, 10)
    verdict, holding, findings = await held(store, pki, await sealed_at(store, pki, 4, 10))
    assert verdict.ok and holding == 2 and findings == []


async def test_entries_cut_from_the_end_with_the_head_are_found(store: Store, pki: Path) -> None:
    """The last three entries and the head row deleted: the chain alone verifies, the checkpoint of
    ten entries names entries 8 to 10 as removed."""
    await filled(store, 10)
    copy = await sealed_at(store, pki, 10)
    await tamper(store, "DELETE FROM audit WHERE seq > 7")
    await tamper(store, "DELETE FROM audit_head")
    verdict, holding, findings = await held(store, pki, copy)
    assert verdict.ok  # what an insider hopes for: the chain alone cannot tell
    assert holding == 0 and len(findings) == 1
    assert "10 entries" in findings[0] and "entries 8 to 10 were removed from its end" in findings[0]


async def test_a_rewritten_history_is_found_between_two_checkpoints(store: Store, pki: Path) -> None:
    """Entry 3 rewritten and every later hash and the head recomputed: the chain verifies, the checkpoint
    of 2 entries holds, those of 5 and 10 fail and name entries 3 to 5 as the stretch rewritten."""
    await filled(store, 10)
    copy = await sealed_at(store, pki, 2, 5, 10)
    await tamper(store, "UPDATE audit SET requester = 'dz.finances.dgi' WHERE seq = 3")
    chain, _ = await store.audit_chain()
    previous = GENESIS
    for item in chain:  # the insider recomputes the chain from the rewritten entry on
        entry_hash = chain_hash(previous, item.entry)
        await tamper(
            store, f"UPDATE audit SET prev_hash = '{previous}', entry_hash = '{entry_hash}' WHERE seq = {item.seq}"
        )
        previous = entry_hash
    await tamper(store, f"UPDATE audit_head SET head = '{previous}'")
    verdict, holding, findings = await held(store, pki, copy)
    assert verdict.ok and holding == 1 and len(findings) == 2
    assert all("history was rewritten" in f for f in findings)
    assert "5 entries" in findings[0] and "entries 3 to 5" in findings[0]


async def test_a_checkpoint_sealed_with_another_key_is_named_as_forged(store: Store, pki: Path) -> None:
    """A checkpoint sealed by dz.cnas (a genuine exchange key, not the gateway's) is reported as forged;
    the genuine one beside it holds."""
    await filled(store, 4)
    genuine = await sealed_at(store, pki, 4)
    forged = await sealed_at(store, pki, 4, who="dz.cnas")
    _, holding, findings = await held(store, pki, genuine + forged)
    assert holding == 1 and findings == [f"checkpoint #2: forged or damaged: it is sealed by dz.cnas, not {GATEWAY}"]


async def test_a_home_whose_checkpoints_were_removed_fails_verification(tmp_path: Path) -> None:
    """`gateway audit verify` on a journal days old with no checkpoint left says they were removed (exit 1)."""
    home = tmp_path / "home"
    ensure_development_pki(home / "pki", config_module.load().participants)
    store = SQLiteStore(home / "gateway.sqlite3")
    await store.open()
    try:
        await filled(store, 3)  # entries of 2026-11-29
    finally:
        await store.close()
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "audit", "verify", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "GATEWAY_STORE"},
    )
    assert result.returncode == 1 and "audit journal intact: 3 entries" in result.stdout
    assert "no checkpoint, though the journal's first entry dates from 2026-11-29" in result.stdout


def test_a_report_carries_the_last_checkpoint_of_each_day_of_its_period(tmp_path: Path) -> None:
    """Of three days' checkpoints, a period of the first two gets the last line of each."""
    for day, lines in (("2026-11-01", ["a1", "a2"]), ("2026-11-02", ["b1"]), ("2026-11-03", ["c1", "c2"])):
        (tmp_path / checkpoints.FOLDER).mkdir(exist_ok=True)
        (tmp_path / checkpoints.FOLDER / f"{day}.jsonl").write_text("".join(f"{line}\n" for line in lines))
    since, until = dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    assert checkpoints.last_of_each_day(tmp_path, since, until) == ["a2", "b1"]
