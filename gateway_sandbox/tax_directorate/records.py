"""SQLite store of the tax directorate (DGI) sandbox: synthetic taxpayers and their situation."""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, Self

from gateway_sandbox import companies

KINDS = ("tax-status-certificate", "tax-registration")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE contribuable (
    nif TEXT PRIMARY KEY,
    raison_sociale TEXT NOT NULL,
    forme_juridique TEXT NOT NULL,
    adresse TEXT NOT NULL,
    centre_impots TEXT NOT NULL,
    date_immatriculation TEXT NOT NULL,
    situation TEXT NOT NULL CHECK (situation IN ('A_JOUR', 'EN_RETARD')),
    periode_du TEXT NOT NULL,
    periode_au TEXT NOT NULL
) WITHOUT ROWID;
"""


def build(
    path: str | os.PathLike[str], seed: int = companies.DEFAULT_SEED, count: int = companies.DEFAULT_COUNT
) -> int:
    """Write the taxpayer database at `path` atomically and return the number of taxpayers."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        (
            c.nif,
            c.name,
            c.legal_form,
            c.full_address,
            c.tax_centre,
            c.registration_date.isoformat(),
            "A_JOUR" if c.tax_up_to_date else "EN_RETARD",
            c.tax_period_from.isoformat(),
            c.tax_period_to.isoformat(),
        )
        for c in companies.generate(count=count, seed=seed)
    ]
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        db = sqlite3.connect(tmp_name)
        try:
            db.executescript(_SCHEMA)
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)", [("seed", str(seed)), ("count", str(count)), ("schema", "1")]
            )
            db.executemany("INSERT INTO contribuable VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.commit()
        finally:
            db.close()
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return len(rows)


class TaxRecords:
    """Read-only access to a taxpayer database written by `build`."""

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

    def _row(self, nif: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._db.execute("SELECT * FROM contribuable WHERE nif = ?", (nif,)).fetchone()
        return row

    def count(self) -> int:
        """Return the number of taxpayers."""
        return int(self._db.execute("SELECT count(*) FROM contribuable").fetchone()[0])

    def situation(self, nif: str) -> dict[str, Any] | None:
        """Return the native tax-situation document of `nif`, or None if unknown."""
        row = self._row(nif)
        if row is None:
            return None
        return {
            "nif": row["nif"],
            "raisonSociale": row["raison_sociale"],
            "situationFiscale": row["situation"],
            "periode": {"du": row["periode_du"], "au": row["periode_au"]},
        }

    def registration(self, nif: str) -> dict[str, Any] | None:
        """Return the native registration document of `nif`, or None if unknown."""
        row = self._row(nif)
        if row is None:
            return None
        return {
            "nif": row["nif"],
            "raisonSociale": row["raison_sociale"],
            "formeJuridique": row["forme_juridique"],
            "adresse": row["adresse"],
            "centreImpots": row["centre_impots"],
            "dateImmatriculation": row["date_immatriculation"],
        }

    def examples(self, kind: str, n: int = 3) -> dict[str, list[str]]:
        """Return `n` NIFs present and `n` well-formed NIFs absent, for a document kind.

        For "tax-status-certificate" the found NIFs alternate between up-to-date
        and in-arrears taxpayers.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown document kind {kind!r}; expected one of {KINDS}")
        if kind == "tax-status-certificate":
            per_state = {
                state: [
                    r[0]
                    for r in self._db.execute(
                        "SELECT nif FROM contribuable WHERE situation = ? ORDER BY nif LIMIT ?", (state, n)
                    )
                ]
                for state in ("A_JOUR", "EN_RETARD")
            }
            found = [per_state["A_JOUR" if i % 2 == 0 else "EN_RETARD"][i // 2] for i in range(n)]
        else:
            found = [r[0] for r in self._db.execute("SELECT nif FROM contribuable ORDER BY nif LIMIT ?", (n,))]
        rng = random.Random(f"missing-{kind}")
        missing: list[str] = []
        while len(missing) < n:
            # Shaped like the generated NIFs: kind digit, wilaya, registration year, 10 digits.
            candidate = f"{rng.choice('01')}{rng.randint(1, 58):02d}{rng.randint(0, 99):02d}" + "".join(
                rng.choice("0123456789") for _ in range(10)
            )
            if candidate not in missing and self._row(candidate) is None:
                missing.append(candidate)
        return {"found": found, "missing": missing}
