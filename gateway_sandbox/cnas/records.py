"""The sandbox CNAS's records: the insured persons it covers and the employers that contribute.

Synthetic and deterministic. They are drawn from the sandbox civil registry's people (so an
insured person has a birth certificate too) and the sandbox tax directorate's taxpayers (so
an employer has a tax status too). An employer is identified by its NIF, and carries its
CNAS employer number in its data.
"""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path
from types import TracebackType

SCHEMA = """
CREATE TABLE employer (
    nif TEXT PRIMARY KEY, employer_number TEXT NOT NULL UNIQUE, company_name TEXT NOT NULL,
    up_to_date INTEGER NOT NULL, last_period_paid TEXT NOT NULL, employees INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE insured (
    nin TEXT PRIMARY KEY, last_name_latin TEXT NOT NULL, first_name_latin TEXT NOT NULL,
    affiliation_number TEXT NOT NULL UNIQUE, affiliation_date TEXT NOT NULL, status TEXT NOT NULL,
    employer_nif TEXT REFERENCES employer (nif)
) WITHOUT ROWID;
"""
KINDS = ("affiliation-certificate", "contribution-status-certificate")
AFFILIATION_FIELDS = ("lastNameLatin", "firstNameLatin", "affiliationNumber", "affiliationDate", "status")
DEFAULT_SEED = 2026


def build(path: Path, civil_db: Path, tax_db: Path, seed: int = DEFAULT_SEED) -> int:
    """Writes the CNAS database at `path` atomically from the other sandboxes'; returns the insured count."""
    rng = random.Random(seed)
    with sqlite3.connect(tax_db) as tax:
        taxpayers = tax.execute("SELECT nif, raison_sociale FROM contribuable ORDER BY nif").fetchall()
    with sqlite3.connect(civil_db) as civil:
        people = civil.execute(
            "SELECT nin, last_name_latin, first_name_latin, birth_date FROM person "
            "WHERE birth_date <= '2006-12-31' AND nin NOT IN (SELECT nin FROM death) ORDER BY nin"
        ).fetchall()
    employers = []
    for i, (nif, name) in enumerate(taxpayers):
        if rng.random() < 0.6:
            periods = rng.choice(["2026-09", "2026-10", "2026-11", "2026-06", "2025-12"])
            employers.append((nif, f"{rng.randint(1, 58):02d}{i:08d}", name, int(periods >= "2026-09"), periods,
                              rng.randint(1, 400)))  # fmt: skip
    insured = []
    for n, (nin, last, first, birth) in enumerate(people):
        if rng.random() < 0.8:
            year = max(int(birth[:4]) + 19, 1985)
            status = "retired" if birth < "1962-01-01" else rng.choice(["active", "active", "active", "suspended"])
            employer = rng.choice(employers)[0] if status == "active" and employers else None
            insured.append((nin, last, first, f"{n:012d}", f"{min(year, 2026)}-{rng.randint(1, 12):02d}-01", status,
                            employer))  # fmt: skip
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    with sqlite3.connect(temporary) as db:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO employer VALUES (?, ?, ?, ?, ?, ?)", employers)
        db.executemany("INSERT INTO insured VALUES (?, ?, ?, ?, ?, ?, ?)", insured)
    os.replace(temporary, path)
    return len(insured)


class CnasRecords:
    """Read-only access to the CNAS database."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def __enter__(self) -> CnasRecords:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._db.close()

    def lookup(self, document_type: str, subject: str) -> dict[str, object] | None:
        """The data of `document_type` about `subject` (a NIN or an employer's NIF), or None."""
        if document_type == "affiliation-certificate":
            row = self._db.execute(
                "SELECT i.last_name_latin, i.first_name_latin, i.affiliation_number, i.affiliation_date, i.status, "
                "e.company_name FROM insured i LEFT JOIN employer e ON e.nif = i.employer_nif WHERE i.nin = ?",
                (subject,),
            ).fetchone()
            if row is None:
                return None
            data: dict[str, object] = dict(zip((*AFFILIATION_FIELDS, "employerName"), row, strict=True))
            return {k: v for k, v in data.items() if v is not None}
        if document_type == "contribution-status-certificate":
            row = self._db.execute(
                "SELECT company_name, employer_number, up_to_date, last_period_paid, employees FROM employer "
                "WHERE nif = ?",
                (subject,),
            ).fetchone()
            if row is None:
                return None
            return {"companyName": row[0], "employerNumber": row[1], "upToDate": bool(row[2]),
                    "lastPeriodPaid": row[3], "employees": row[4]}  # fmt: skip
        raise ValueError(f"CNAS does not issue {document_type!r}")

    def examples(self, document_type: str, n: int = 3) -> dict[str, list[str]]:
        """`n` subjects CNAS holds and `n` well-formed ones it does not, for a document type."""
        if document_type == "affiliation-certificate":
            found = [r[0] for r in self._db.execute("SELECT nin FROM insured ORDER BY nin LIMIT ?", (n,))]
            missing = [f"1195001019{i:08d}" for i in range(900, 900 + n)]
        elif document_type == "contribution-status-certificate":
            found = [r[0] for r in self._db.execute("SELECT nif FROM employer ORDER BY nif LIMIT ?", (n,))]
            missing = [f"0999999999{i:05d}" for i in range(n)]
        else:
            raise ValueError(f"CNAS does not issue {document_type!r}")
        return {"found": found, "missing": [m for m in missing if self.lookup(document_type, m) is None]}
