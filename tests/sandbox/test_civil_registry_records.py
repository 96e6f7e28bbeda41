"""Tests of the sandbox civil registry's synthetic database and its lookups."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway_sandbox.civil_registry.records import DOCUMENT_TYPES, Registry, build

KEYS = {
    "birth-certificate": {
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
    },
    "family-record": {"headOfFamily", "spouses", "children"},
    "death-record": {
        "deathRecorded",
        "deathDate",
        "deathCommune",
        "deathWilaya",
        "deathRecordNumber",
    },
    "residence-certificate": {"address", "commune", "wilaya", "since"},
}
ARABIC = re.compile("[\u0600-\u06ff]")


def _digest(path: Path) -> str:
    """Return a sha256 over the SQL dump of the database at ``path``."""
    db = sqlite3.connect(path)
    try:
        return hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()
    finally:
        db.close()


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry database of the default size, built once for the module."""
    path = tmp_path_factory.mktemp("civil") / "registry.sqlite"
    build(path)
    return path


@pytest.fixture(scope="module")
def registry(db_path: Path) -> Iterator[Registry]:
    """The registry opened read-only over the module's database."""
    opened = Registry(db_path)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def raw(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection for checks that go underneath the Registry API."""
    db = sqlite3.connect(db_path)
    yield db
    db.close()


def test_holds_at_least_ten_thousand_persons(registry: Registry) -> None:
    """The default build holds at least 10,000 persons."""
    assert registry.count() >= 10_000


def test_same_seed_gives_identical_tables(db_path: Path, tmp_path: Path) -> None:
    """Two builds with the same seed and size give identical content in every table."""
    again = tmp_path / "again.sqlite"
    build(again)
    assert _digest(again) == _digest(db_path)


def test_other_seed_gives_other_people(tmp_path: Path) -> None:
    """A different seed gives a different population."""
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    build(first, people=500, seed=1)
    build(second, people=500, seed=2)
    assert _digest(first) != _digest(second)


def test_build_replaces_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    """Rebuilding replaces the file in place and leaves no temporary file beside it."""
    path = tmp_path / "registry.sqlite"
    build(path, people=300)
    build(path, people=200)
    assert [p.name for p in tmp_path.iterdir()] == ["registry.sqlite"]
    with Registry(path) as small:
        assert small.count() == 200


def test_every_wilaya_has_residents(raw: sqlite3.Connection) -> None:
    """All 58 wilayas appear among the residences."""
    codes = {row[0] for row in raw.execute("SELECT DISTINCT wilaya FROM residence")}
    assert codes == {f"{code:02d}" for code in range(1, 59)}


def test_names_are_written_in_arabic_script(raw: sqlite3.Connection) -> None:
    """Every person's Arabic first and last names are in Arabic script."""
    rows = raw.execute("SELECT first_name_ar, last_name_ar FROM person").fetchall()
    assert all(ARABIC.search(first) and ARABIC.search(last) for first, last in rows)


def test_nins_are_unique_and_eighteen_digits(raw: sqlite3.Connection) -> None:
    """Every NIN is 18 digits, unique, and starts with 1 for men and 2 for women."""
    rows = raw.execute("SELECT nin, sex FROM person").fetchall()
    assert len({nin for nin, _ in rows}) == len(rows)
    assert all(re.fullmatch(r"\d{18}", nin) for nin, _ in rows)
    assert all(nin[0] == ("1" if sex == "M" else "2") for nin, sex in rows)


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
def test_found_examples_return_exactly_the_documented_keys(registry: Registry, document_type: str) -> None:
    """Each found example NIN returns a dict with exactly the document type's keys."""
    found = registry.examples(document_type)["found"]
    assert len(found) == 3
    for nin in found:
        data = registry.lookup(document_type, nin)
        assert data is not None
        assert set(data) == KEYS[document_type]


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
def test_missing_examples_are_well_formed_and_not_found(
    registry: Registry, raw: sqlite3.Connection, document_type: str
) -> None:
    """Each missing example is an 18-digit NIN that no person holds and lookup answers None."""
    missing = registry.examples(document_type)["missing"]
    assert len(missing) == 3
    for nin in missing:
        assert re.fullmatch(r"\d{18}", nin)
        assert raw.execute("SELECT 1 FROM person WHERE nin = ?", (nin,)).fetchone() is None
        assert registry.lookup(document_type, nin) is None


def test_examples_are_deterministic(registry: Registry) -> None:
    """Asking twice for examples gives the same NINs."""
    assert registry.examples("death-record", 5) == registry.examples("death-record", 5)


def test_family_record_lists_spouses_and_children(registry: Registry) -> None:
    """A family record names the head, his spouses with marriage dates, and dated children."""
    nin = registry.examples("family-record")["found"][0]
    record = registry.lookup("family-record", nin)
    assert record is not None
    head = record["headOfFamily"]
    assert isinstance(head, dict) and set(head) == {"name", "birthDate"}
    spouses = record["spouses"]
    assert isinstance(spouses, list) and spouses
    assert all(set(s) == {"name", "birthDate", "marriageDate"} for s in spouses)
    children = record["children"]
    assert isinstance(children, list)
    assert all(set(c) == {"name", "birthDate", "sex"} for c in children)
    assert all(c["birthDate"] > spouses[0]["marriageDate"] for c in children)


def test_spouse_finds_the_same_family_record(registry: Registry, raw: sqlite3.Connection) -> None:
    """Looking up a spouse's NIN returns the family record of her husband."""
    head, spouse = raw.execute(
        "SELECT f.head_nin, s.nin FROM family f JOIN spouse s ON s.family_id = f.id ORDER BY f.id LIMIT 1"
    ).fetchone()
    assert registry.lookup("family-record", spouse) == registry.lookup("family-record", head)


def test_child_carries_the_family_name_of_the_head(registry: Registry, raw: sqlite3.Connection) -> None:
    """Every child of a family has the family name of its head, and is a person of the DB."""
    mismatched = raw.execute(
        "SELECT count(*) FROM child c JOIN family f ON f.id = c.family_id"
        " JOIN person kid ON kid.nin = c.nin JOIN person head ON head.nin = f.head_nin"
        " WHERE kid.last_name_latin != head.last_name_latin"
        " OR kid.last_name_ar != head.last_name_ar OR kid.father_nin != head.nin"
    ).fetchone()[0]
    assert mismatched == 0
    kid, head = raw.execute(
        "SELECT c.nin, f.head_nin FROM child c JOIN family f ON f.id = c.family_id LIMIT 1"
    ).fetchone()
    certificate = registry.lookup("birth-certificate", kid)
    father = registry.lookup("birth-certificate", head)
    assert certificate is not None and father is not None
    assert certificate["lastNameLatin"] == father["lastNameLatin"]
    assert certificate["fatherName"] == f"{father['firstNameLatin']} {father['lastNameLatin']}"


def test_death_dates_follow_birth_dates(raw: sqlite3.Connection) -> None:
    """Every death date is after the birth date and not after the registry's reference date."""
    rows = raw.execute("SELECT p.birth_date, d.death_date FROM death d JOIN person p ON p.nin = d.nin").fetchall()
    assert rows
    assert all(birth < death <= "2026-11-01" for birth, death in rows)


def test_about_eight_percent_are_deceased(registry: Registry, raw: sqlite3.Connection) -> None:
    """Between 5% and 12% of persons are deceased."""
    deceased = raw.execute("SELECT count(*) FROM death").fetchone()[0]
    assert 0.05 <= deceased / registry.count() <= 0.12


def test_deceased_have_no_residence_certificate(registry: Registry) -> None:
    """A deceased person has a death record but no residence certificate."""
    for nin in registry.examples("death-record")["found"]:
        death = registry.lookup("death-record", nin)
        assert death is not None and death["deathRecorded"] is True
        assert registry.lookup("residence-certificate", nin) is None


def test_malformed_nin_is_not_found(registry: Registry) -> None:
    """A NIN that is not 18 ASCII digits is simply not found."""
    for nin in ("", "12345", "1" * 19, "١" * 18, "1" * 17 + "x"):
        assert registry.lookup("birth-certificate", nin) is None


def test_unknown_document_type_raises_value_error(registry: Registry) -> None:
    """An unknown document type raises ValueError, in lookup and in examples."""
    nin = registry.examples("birth-certificate")["found"][0]
    with pytest.raises(ValueError, match="unknown document type"):
        registry.lookup("marriage-certificate", nin)
    with pytest.raises(ValueError, match="unknown document type"):
        registry.examples("marriage-certificate")


def test_registry_is_read_only(registry: Registry) -> None:
    """The registry's connection refuses writes."""
    with pytest.raises(sqlite3.OperationalError):
        registry._rows("DELETE FROM person")
