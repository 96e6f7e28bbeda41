"""SQLite store of the commercial register (CNRC) sandbox: synthetic registered traders."""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, Self

from gateway_sandbox import companies

KINDS = ("commercial-register-extract",)

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE registre (
    numero_rc TEXT PRIMARY KEY,
    denomination TEXT NOT NULL,
    forme_juridique TEXT NOT NULL,
    nif TEXT NOT NULL UNIQUE,
    siege_social TEXT NOT NULL,
    date_immatriculation TEXT NOT NULL,
    statut TEXT NOT NULL CHECK (statut IN ('ACTIVE', 'RADIEE'))
) WITHOUT ROWID;
CREATE TABLE activite (
    numero_rc TEXT NOT NULL REFERENCES registre(numero_rc),
    rang INTEGER NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (numero_rc, rang)
) WITHOUT ROWID;
"""


def build(
    path: str | os.PathLike[str], seed: int = companies.DEFAULT_SEED, count: int = companies.DEFAULT_COUNT
) -> int:
    """Write the register database at `path` atomically and return the number of entries."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    registered = [c for c in companies.generate(count=count, seed=seed) if c.rc is not None]
    entries = [
        (
            c.rc,
            c.name,
            c.legal_form,
            c.nif,
            c.full_address,
            c.registration_date.isoformat(),
            "RADIEE" if c.struck_off else "ACTIVE",
        )
        for c in registered
    ]
    activities = [(c.rc, rank, code) for c in registered for rank, code in enumerate(c.activity_codes)]
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        db = sqlite3.connect(tmp_name)
        try:
            db.executescript(_SCHEMA)
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)", [("seed", str(seed)), ("count", str(count)), ("schema", "1")]
            )
            db.executemany("INSERT INTO registre VALUES (?, ?, ?, ?, ?, ?, ?)", entries)
            db.executemany("INSERT INTO activite VALUES (?, ?, ?)", activities)
            db.commit()
        finally:
            db.close()
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return len(entries)


class RegisterRecords:
    """Read-only access to a register database written by `build`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open the database at `path` read-only."""
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self) -> int:
        """Return the number of register entries."""
        return int(self._db.execute("SELECT count(*) FROM registre").fetchone()[0])

    def extract(self, rc: str) -> dict[str, Any] | None:
        """Return the register extract of RC number `rc` (native field names), or None."""
        row = self._db.execute("SELECT * FROM registre WHERE numero_rc = ?", (rc,)).fetchone()
        if row is None:
            return None
        codes = [r[0] for r in self._db.execute("SELECT code FROM activite WHERE numero_rc = ? ORDER BY rang", (rc,))]
        return {
            "NumeroRC": row["numero_rc"],
            "Denomination": row["denomination"],
            "FormeJuridique": row["forme_juridique"],
            "NIF": row["nif"],
            "SiegeSocial": row["siege_social"],
            "CodesActivite": codes,
            "DateImmatriculation": row["date_immatriculation"],
            "Statut": row["statut"],
        }

    def examples(self, n: int = 3, kind: str = KINDS[0]) -> dict[str, list[str]]:
        """Return `n` RC numbers present (alternately active and struck off) and `n` absent.

        `kind` may be given by keyword for symmetry with the other sandboxes; the only
        kind is "commercial-register-extract".
        """
        if not isinstance(n, int):
            raise TypeError("n must be an int; pass the kind by keyword")
        if kind not in KINDS:
            raise ValueError(f"unknown document kind {kind!r}; expected one of {KINDS}")
        per_state = {
            state: [
                r[0]
                for r in self._db.execute(
                    "SELECT numero_rc FROM registre WHERE statut = ? ORDER BY numero_rc LIMIT ?", (state, n)
                )
            ]
            for state in ("ACTIVE", "RADIEE")
        }
        found = [per_state["ACTIVE" if i % 2 == 0 else "RADIEE"][i // 2] for i in range(n)]
        rng = random.Random(f"missing-{kind}")
        missing: list[str] = []
        while len(missing) < n:
            digits = "".join(rng.choice("0123456789") for _ in range(7))
            year = rng.randint(1990, 2024) % 100
            candidate = f"{rng.randint(1, 58):02d}/00-{digits}{rng.choice('AB')}{year:02d}"
            exists = self._db.execute("SELECT 1 FROM registre WHERE numero_rc = ?", (candidate,)).fetchone()
            if candidate not in missing and exists is None:
                missing.append(candidate)
        return {"found": found, "missing": missing}
