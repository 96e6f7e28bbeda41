"""Signed checkpoints of the audit journal's head, kept outside the database.

The hash chain shows an altered entry, but someone with write access to the database can cut
entries off its end together with the head row, or rewrite an entry and recompute every hash
after it: the chain then verifies. A checkpoint closes that door. At a fixed interval (when
the journal grew) and at shutdown, each worker seals `(entries, head hash, time)` with the
seal key, as a compact JWS, and appends it to a file of the day under `HOME/checkpoints/`.
Copies leave the machine: `GET /v1/audit/checkpoints` publishes them (no personal data), and
each periodic report carries the last checkpoint of every day of its period.

`check` holds a journal to the checkpoints it is given: every checkpoint must be a seal of the
gateway, and the journal's first `entries` entries must still end in the `head` it signed.
Entries removed from the end, a rewritten history and a forged checkpoint are each reported
with the checkpoint and the entries concerned.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import GatewayError
from gateway.protocol import instant, parse_instant
from gateway.signing import jws
from gateway.signing.trust import TrustStore
from gateway.store.chain import ChainedEntry

KIND = "journal-checkpoint"
FOLDER = "checkpoints"


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint says: the journal held `entries` entries, the last one hashing to `head`, at `at`."""

    journal: str
    entries: int
    head: str
    at: dt.datetime

    def payload(self) -> bytes:
        return json.dumps(
            {"kind": KIND, "journal": self.journal, "entries": self.entries, "head": self.head, "at": instant(self.at)},
            separators=(",", ":"),
        ).encode()

    def name(self) -> str:
        """How a report names this checkpoint."""
        return f"the checkpoint of {instant(self.at)} ({self.entries} entries, head {self.head[:16]}…)"


class BadCheckpoint(ValueError):
    """A checkpoint that is not a seal of the gateway over a checkpoint's fields."""


def read(token: str, trust: TrustStore, sealer: str) -> Checkpoint:
    """The checkpoint a token carries, once its seal verified and names `sealer`; else BadCheckpoint."""
    try:
        message = jws.parse(token.encode("ascii"))
        signer = jws.JWSVerifier(trust).verify(message)
    except (GatewayError, UnicodeEncodeError) as exc:
        detail = exc.detail if isinstance(exc, GatewayError) else "not ASCII"
        raise BadCheckpoint(f"its seal does not verify ({detail})") from None
    if signer.participant != sealer:
        raise BadCheckpoint(f"it is sealed by {signer.participant}, not {sealer}")
    fields = message.content
    try:
        if fields["kind"] != KIND or not isinstance(fields["entries"], int) or not isinstance(fields["head"], str):
            raise ValueError("not a journal checkpoint")
        return Checkpoint(str(fields["journal"]), fields["entries"], fields["head"], parse_instant(fields["at"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadCheckpoint(f"its content is not a checkpoint's ({exc})") from None


# ---------------------------------------------------------------------- the folder
def day_file(home: Path, at: dt.datetime) -> Path:
    return home / FOLDER / f"{at.astimezone(dt.UTC):%Y-%m-%d}.jsonl"


def append(home: Path, at: dt.datetime, token: bytes) -> None:
    """Appends one sealed checkpoint to the file of its day, whole, and makes it durable. Workers append
    to the same file: each line is written under an exclusive lock in one write."""
    path = day_file(home, at)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, token + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def days(home: Path) -> list[str]:
    """The days (`YYYY-MM-DD`) that have checkpoints, in order."""
    folder = home / FOLDER
    return sorted(p.stem for p in folder.glob("*.jsonl")) if folder.is_dir() else []


def tokens_of_day(home: Path, day: str) -> list[str]:
    path = home / FOLDER / f"{day}.jsonl"
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text("ascii", errors="replace").splitlines() if line.strip()]


def last_of_each_day(home: Path, since: dt.datetime, until: dt.datetime) -> list[str]:
    """The last checkpoint of each day in [since, until), in order: what a periodic report carries."""
    first, last = f"{since.astimezone(dt.UTC):%Y-%m-%d}", f"{until.astimezone(dt.UTC):%Y-%m-%d}"
    out = []
    for day in days(home):
        if first <= day < last or (day == last and until.astimezone(dt.UTC).time() != dt.time(0)):
            tokens = tokens_of_day(home, day)
            if tokens:
                out.append(tokens[-1])
    return out


def all_tokens(home: Path) -> list[str]:
    return [token for day in days(home) for token in tokens_of_day(home, day)]


def tokens_from_text(text: str) -> list[str]:
    """Checkpoints from an auditor's copy: one compact JWS per line, or the JSON that
    `GET /v1/audit/checkpoints` answers."""
    stripped = text.strip()
    if stripped.startswith("{"):
        document = json.loads(stripped)
        return [str(t) for t in document.get("checkpoints", [])]
    return [line.strip() for line in stripped.splitlines() if line.strip()]


# ---------------------------------------------------------------------- holding a journal to them
@dataclass(frozen=True)
class Finding:
    """One way the journal and a checkpoint disagree, in words an auditor can act on."""

    checkpoint: str
    problem: str

    def __str__(self) -> str:
        return f"{self.checkpoint}: {self.problem}"


def check(
    chain: Sequence[ChainedEntry], tokens: Iterable[str], trust: TrustStore, sealer: str
) -> tuple[int, list[Finding]]:
    """(checkpoints that hold, findings). The journal's chain is taken as read from the store; its own
    consistency is `journal.verify`'s. Checkpoints are checked in the order of their entry counts, so
    that a rewritten stretch is named between the last checkpoint that holds and the first that fails."""
    findings: list[Finding] = []
    readable: list[tuple[Checkpoint, int]] = []
    for line, token in enumerate(tokens, 1):
        try:
            readable.append((read(token, trust, sealer), line))
        except BadCheckpoint as exc:
            findings.append(Finding(f"checkpoint #{line}", f"forged or damaged: {exc}"))
    holding, last_good = 0, 0
    for checkpoint, _ in sorted(readable, key=lambda item: (item[0].entries, item[0].at)):
        if checkpoint.entries > len(chain):
            findings.append(
                Finding(
                    checkpoint.name(),
                    (
                        f"the journal holds only {len(chain)} entries: entries {len(chain) + 1} to "
                        f"{checkpoint.entries} were removed from its end"
                    ),
                )
            )
        elif checkpoint.entries == 0 or chain[checkpoint.entries - 1].entry_hash == checkpoint.head:
            holding += 1
            last_good = max(last_good, checkpoint.entries)
        else:
            first, last = chain[last_good].seq if last_good < len(chain) else None, chain[checkpoint.entries - 1].seq
            findings.append(
                Finding(
                    checkpoint.name(),
                    (
                        f"the journal's first {checkpoint.entries} entries no longer end in the head it sealed: the "
                        f"history was rewritten, at one of the entries {first} to {last} (the {last_good + 1}th to the "
                        f"{checkpoint.entries}th)"
                    ),
                )
            )
    return holding, findings
