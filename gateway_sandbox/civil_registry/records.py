"""The sandbox civil registry's database of deterministic synthetic people.

:func:`build` writes a SQLite file of families over three or four generations, spread
over all 58 wilayas: the same ``people`` and ``seed`` always give the same content in
every table. :class:`Registry` opens such a file read-only and answers the four civil
status documents (birth certificate, family record, death record, residence
certificate) by NIN.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from gateway_sandbox.civil_registry._population import (
    REFERENCE_DATE,
    Population,
    nin_with_key,
)
from gateway_sandbox.reference import WILAYAS

__all__ = ["DOCUMENT_TYPES", "REFERENCE_DATE", "Registry", "build"]

DOCUMENT_TYPES = ("birth-certificate", "family-record", "death-record", "residence-certificate")
"""The document types that :meth:`Registry.lookup` answers."""

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE person (
    nin TEXT PRIMARY KEY CHECK (length(nin) = 18),
    first_name_latin TEXT NOT NULL, last_name_latin TEXT NOT NULL,
    first_name_ar TEXT NOT NULL, last_name_ar TEXT NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('M', 'F')),
    birth_date TEXT NOT NULL, birth_commune TEXT NOT NULL, birth_wilaya TEXT NOT NULL,
    father_nin TEXT, mother_nin TEXT, father_name TEXT NOT NULL, mother_name TEXT NOT NULL,
    birth_record_number TEXT NOT NULL UNIQUE
) WITHOUT ROWID;
CREATE TABLE residence (
    nin TEXT PRIMARY KEY REFERENCES person (nin),
    address TEXT NOT NULL, commune TEXT NOT NULL, wilaya TEXT NOT NULL, since TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE death (
    nin TEXT PRIMARY KEY REFERENCES person (nin),
    death_date TEXT NOT NULL, death_commune TEXT NOT NULL, death_wilaya TEXT NOT NULL,
    death_record_number TEXT NOT NULL UNIQUE
) WITHOUT ROWID;
CREATE TABLE family (
    id INTEGER PRIMARY KEY, head_nin TEXT NOT NULL UNIQUE REFERENCES person (nin)
);
CREATE TABLE spouse (
    family_id INTEGER NOT NULL REFERENCES family (id),
    nin TEXT NOT NULL REFERENCES person (nin), marriage_date TEXT NOT NULL,
    PRIMARY KEY (family_id, nin)
) WITHOUT ROWID;
CREATE INDEX spouse_by_nin ON spouse (nin);
CREATE TABLE child (
    family_id INTEGER NOT NULL REFERENCES family (id),
    nin TEXT NOT NULL UNIQUE REFERENCES person (nin),
    PRIMARY KEY (family_id, nin)
) WITHOUT ROWID;
"""


def _write(db: sqlite3.Connection, population: Population, seed: int) -> None:
    """Create the schema and insert the generated population."""
    db.executescript(_SCHEMA)
    meta = {
        "people": str(len(population.persons)),
        "seed": str(seed),
        "referenceDate": REFERENCE_DATE.isoformat(),
        "schema": "1",
    }
    db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
    people, homes, deaths = [], [], []
    for p in population.persons:
        birth_place = WILAYAS[p.wilaya]
        people.append(
            (
                p.nin,
                p.first[0],
                p.last[0],
                p.first[1],
                p.last[1],
                p.sex,
                p.birth.isoformat(),
                birth_place.communes[p.commune].latin,
                birth_place.code,
                p.father,
                p.mother,
                p.father_name,
                p.mother_name,
                p.record,
            )
        )
        if p.death is not None:
            when, wilaya, commune, number = p.death
            place = WILAYAS[wilaya]
            deaths.append((p.nin, when.isoformat(), place.communes[commune].latin, place.code, number))
        elif p.home is not None:
            address, wilaya, commune, since = p.home
            place = WILAYAS[wilaya]
            homes.append((p.nin, address, place.communes[commune].latin, place.code, since.isoformat()))
    db.executemany(f"INSERT INTO person VALUES ({', '.join('?' * 14)})", people)
    db.executemany("INSERT INTO residence VALUES (?, ?, ?, ?, ?)", homes)
    db.executemany("INSERT INTO death VALUES (?, ?, ?, ?, ?)", deaths)
    families = population.families
    db.executemany("INSERT INTO family VALUES (?, ?)", [(f.id, f.head.nin) for f in families])
    db.executemany(
        "INSERT INTO spouse VALUES (?, ?, ?)", [(f.id, s.nin, d.isoformat()) for f in families for s, d in f.spouses]
    )
    db.executemany("INSERT INTO child VALUES (?, ?)", [(f.id, c.nin) for f in families for c in f.children])


def build(path: Path, people: int = 12_000, seed: int = 1962) -> None:
    """Build the registry database at ``path``, atomically replacing any previous file.

    The same ``people`` and ``seed`` always give the same content in every table.
    """
    if people < 1:
        raise ValueError(f"people must be positive, got {people}")
    path = Path(path)
    population = Population(people, seed)
    population.generate()
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(temporary, 0o644)
        db = sqlite3.connect(temporary)
        try:
            db.execute("PRAGMA journal_mode = OFF")
            with db:
                _write(db, population, seed)
        finally:
            db.close()
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


_EXAMPLE_SOURCES = {
    "birth-certificate": "SELECT nin FROM person",
    "family-record": "SELECT head_nin FROM family",
    "death-record": "SELECT nin FROM death",
    "residence-certificate": "SELECT nin FROM residence",
}


class Registry:
    """Read-only access to a database written by :func:`build`; safe to share across threads."""

    def __init__(self, path: Path) -> None:
        """Open the database at ``path`` read-only."""
        self._db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._lookups: dict[str, Callable[[str], dict[str, object] | None]] = {
            "birth-certificate": self._birth,
            "family-record": self._family,
            "death-record": self._death,
            "residence-certificate": self._residence,
        }

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> Self:
        """Return the registry itself."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Close the registry."""
        self.close()

    def _rows(self, sql: str, *args: object) -> list[Any]:
        """Run one query under the connection's lock and return all its rows."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def count(self) -> int:
        """Return the number of persons in the registry."""
        return int(self._rows("SELECT count(*) FROM person")[0][0])

    def lookup(self, document_type: str, nin: str) -> dict[str, object] | None:
        """Return the data of ``document_type`` for ``nin``, or None if there is no such record.

        Raises ValueError for a document type that the registry does not issue.
        """
        answer = self._lookups.get(document_type)
        if answer is None:
            raise ValueError(f"unknown document type: {document_type!r}")
        if len(nin) != 18 or not (nin.isascii() and nin.isdigit()):
            return None
        return answer(nin)

    def examples(self, document_type: str, n: int = 3) -> dict[str, list[str]]:
        """Return sample NINs: ``found`` ones that ``lookup`` answers, ``missing`` ones it does not.

        Up to ``n`` found NINs, spread evenly over the NIN order of the document's records
        (fewer if the registry holds fewer); exactly ``n`` missing NINs, well-formed (18
        digits, valid key) but belonging to nobody in the registry.
        """
        if document_type not in self._lookups:
            raise ValueError(f"unknown document type: {document_type!r}")
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        source = _EXAMPLE_SOURCES[document_type]
        total = int(self._rows(f"SELECT count(*) FROM ({source})")[0][0])
        found: list[str] = []
        for i in range(min(n, total)):
            offset = (2 * i + 1) * total // (2 * min(n, total))
            nin = str(self._rows(f"{source} ORDER BY 1 LIMIT 1 OFFSET ?", offset)[0][0])
            if self.lookup(document_type, nin) is not None:
                found.append(nin)
        missing: list[str] = []
        i = 0
        while len(missing) < n:
            code = WILAYAS[(i * 11) % len(WILAYAS)].code
            body = f"{1 + i % 2}{1950 + (i * 7) % 70:04d}{code}01{9_000_000 + i:07d}"
            nin = nin_with_key(body)
            absent = not self._rows("SELECT 1 FROM person WHERE nin = ?", nin)
            if absent and self.lookup(document_type, nin) is None:
                missing.append(nin)
            i += 1
        return {"found": found, "missing": missing}

    def _birth(self, nin: str) -> dict[str, object] | None:
        """Answer a birth certificate."""
        rows = self._rows(
            "SELECT last_name_ar, first_name_ar, last_name_latin, first_name_latin, sex,"
            " birth_date, birth_commune, birth_wilaya, father_name, mother_name,"
            " birth_record_number FROM person WHERE nin = ?",
            nin,
        )
        keys = (
            "lastNameAr",
            "firstNameAr",
            "lastNameLatin",
            "firstNameLatin",
            "sex",
            "birthDate",
            "birthCommune",
            "birthWilaya",
            "fatherName",
            "motherName",
            "birthRecordNumber",
        )
        return dict(zip(keys, rows[0], strict=True)) if rows else None

    def _family(self, nin: str) -> dict[str, object] | None:
        """Answer the family record of which ``nin`` is the head or a spouse."""
        ids = self._rows("SELECT id FROM family WHERE head_nin = ?", nin) or self._rows(
            "SELECT family_id FROM spouse WHERE nin = ? ORDER BY family_id LIMIT 1", nin
        )
        if not ids:
            return None
        family_id = ids[0][0]
        name = "p.first_name_latin || ' ' || p.last_name_latin"
        head = self._rows(
            f"SELECT {name}, p.birth_date FROM family f JOIN person p ON p.nin = f.head_nin WHERE f.id = ?", family_id
        )[0]
        spouses = self._rows(
            f"SELECT {name}, p.birth_date, s.marriage_date FROM spouse s"
            " JOIN person p ON p.nin = s.nin WHERE s.family_id = ?"
            " ORDER BY s.marriage_date, s.nin",
            family_id,
        )
        children = self._rows(
            f"SELECT {name}, p.birth_date, p.sex FROM child c"
            " JOIN person p ON p.nin = c.nin WHERE c.family_id = ?"
            " ORDER BY p.birth_date, p.nin",
            family_id,
        )
        return {
            "headOfFamily": {"name": head[0], "birthDate": head[1]},
            "spouses": [{"name": s[0], "birthDate": s[1], "marriageDate": s[2]} for s in spouses],
            "children": [{"name": c[0], "birthDate": c[1], "sex": c[2]} for c in children],
        }

    def _death(self, nin: str) -> dict[str, object] | None:
        """Answer a death record."""
        rows = self._rows(
            "SELECT death_date, death_commune, death_wilaya, death_record_number FROM death WHERE nin = ?", nin
        )
        if not rows:
            return None
        date_, commune, wilaya, number = rows[0]
        return {
            "deathRecorded": True,
            "deathDate": date_,
            "deathCommune": commune,
            "deathWilaya": wilaya,
            "deathRecordNumber": number,
        }

    def _residence(self, nin: str) -> dict[str, object] | None:
        """Answer a residence certificate (living persons only)."""
        rows = self._rows(
            "SELECT address, commune, wilaya, since FROM residence WHERE nin = ?"
            " AND NOT EXISTS (SELECT 1 FROM death WHERE nin = ?)",
            nin,
            nin,
        )
        keys = ("address", "commune", "wilaya", "since")
        return dict(zip(keys, rows[0], strict=True)) if rows else None
