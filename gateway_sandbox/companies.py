"""Deterministic synthetic economic actors shared by the DGI and CNRC sandboxes.

The same seed yields the same companies, so a company has the same NIF in the
tax directorate's database and in the commercial register's. Proportions are
exact quotas drawn with ``random.Random(seed)``: 30% individual taxpayers (two
thirds of them traders registered at the CNRC with an "A" number, the others
without any RC number), 20% of taxpayers in arrears, 7% of RC holders struck off.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

from gateway_sandbox.reference import (
    FAMILY_NAMES,
    FEMALE_FIRST_NAMES,
    MALE_FIRST_NAMES,
    STREET_NAMES,
    WILAYAS,
    WILAYAS_BY_CODE,
    Wilaya,
)

DEFAULT_COUNT = 6000
DEFAULT_SEED = 1999

INDIVIDUAL = "personne physique"
COMPANY_FORMS = ("SARL", "EURL", "SPA", "SNC")
_FORM_WEIGHTS = (55, 25, 12, 8)

# Activity codes grouped by sector; the first digit follows the CNRC nomenclature
# sections (1 industrial production, 2 crafts, 3 wholesale, 4 retail, 5 import, 6 services).
SECTORS: dict[str, tuple[str, ...]] = {
    "Agro": ("101101", "102203", "107104", "301102"),
    "Bâtiment": ("111201", "111203", "605101"),
    "Travaux Publics": ("111202", "111205", "605103"),
    "Transport": ("604101", "604104", "604201"),
    "Distribution": ("301201", "302101", "303104"),
    "Import-Export": ("501101", "501203", "502101"),
    "Informatique": ("607101", "607103", "405104"),
    "Pharma": ("109101", "307101", "407101"),
    "Textile": ("103101", "203102", "403101"),
    "Plast": ("112101", "112104", "308101"),
    "Métal": ("105101", "105204", "205101"),
    "Electro": ("113101", "309102", "409102"),
    "Alimentation Générale": ("401101", "401102", "402101"),
    "Services": ("608101", "609102", "610101"),
    "Immobilier": ("611101", "611102"),
    "Conseil": ("612101", "612104"),
    "Logistique": ("604301", "604302", "306101"),
    "Emballage": ("112201", "112203"),
    "Energie": ("114101", "114102", "614101"),
    "Tourisme": ("613101", "613201"),
}

_BRANDS = (
    "Atlas",
    "Tassili",
    "Hoggar",
    "Numidia",
    "Sahel",
    "Ennour",
    "El Baraka",
    "Djurdjura",
    "Aurès",
    "Mitidja",
    "Casbah",
    "Cirta",
    "Tafna",
    "Soummam",
    "Seybouse",
    "Chélif",
    "Zibans",
    "Saoura",
    "El Amel",
    "El Khir",
    "Essalem",
    "El Wiam",
    "Nedjma",
    "Tiziri",
    "Thala",
    "Yasmine",
    "Icosium",
    "Saldae",
    "Rusicade",
    "Tipasa",
    "El Feth",
    "Ennasr",
    "El Djazair",
    "Medghassen",
    "Tamda",
    "Imedghassen",
    "Azur",
    "Horizon",
    "Alpha",
    "Méditerranée",
)
_SNC_SUFFIXES = ("et Fils", "Frères", "et Cie", "et Associés")

# Wilayas with several tax centres; the others have one CDI named after the wilaya.
_CDI_AREAS = {"16": ("Centre", "Est", "Ouest"), "31": ("Est", "Ouest"), "25": ("Nord", "Sud"), "19": ("Nord", "Sud")}
_WILAYA_WEIGHTS = {"16": 12, "31": 6, "25": 5, "19": 4, "09": 4, "06": 3, "15": 3, "35": 3, "23": 3, "05": 3}

_FIRST_REGISTRATION = datetime.date(1990, 1, 1)
_LAST_REGISTRATION = datetime.date(2024, 12, 31)


@dataclass(frozen=True)
class Company:
    """One economic actor: a company or an individual taxpayer."""

    nif: str
    rc: str | None
    name: str
    name_ar: str | None
    legal_form: str
    address: str
    commune: str
    wilaya_code: str
    activity_codes: tuple[str, ...]
    registration_date: datetime.date
    tax_centre: str
    tax_up_to_date: bool
    tax_period_from: datetime.date
    tax_period_to: datetime.date
    struck_off: bool

    @property
    def is_individual(self) -> bool:
        """Whether this taxpayer is a natural person."""
        return self.legal_form == INDIVIDUAL

    @property
    def full_address(self) -> str:
        """Street address, commune and wilaya on one line."""
        wilaya = WILAYAS_BY_CODE[self.wilaya_code]
        if self.commune == wilaya.latin:
            return f"{self.address}, {self.commune}"
        return f"{self.address}, {self.commune}, {wilaya.latin}"


def _quota(rng: random.Random, population: list[int], share: float) -> set[int]:
    return set(rng.sample(population, round(len(population) * share)))


def _date_between(rng: random.Random, first: datetime.date, last: datetime.date) -> datetime.date:
    return first + datetime.timedelta(days=rng.randint(0, (last - first).days))


def _quarter_end(year: int, quarter: int) -> datetime.date:
    if quarter == 4:
        return datetime.date(year, 12, 31)
    return datetime.date(year, 3 * quarter + 1, 1) - datetime.timedelta(days=1)


def _tax_period(rng: random.Random, registered: datetime.date, up_to_date: bool) -> tuple[datetime.date, datetime.date]:
    """Period covered by the tax situation, fixed relative to 2025 (never to today)."""
    if up_to_date:
        return datetime.date(2025, 1, 1), _quarter_end(2025, rng.choice((1, 2, 3)))
    start_year = max(registered.year, 2021)
    year = rng.randint(start_year, 2024)
    quarter = rng.randint((registered.month - 1) // 3 + 1 if year == registered.year else 1, 4)
    start = datetime.date(year, 3 * quarter - 2, 1)
    end_year = rng.randint(year, 2025)
    end_quarter = rng.randint(quarter if end_year == year else 1, 2 if end_year == 2025 else 4)
    return start, _quarter_end(end_year, end_quarter)


def _unique(rng: random.Random, seen: set[str], make: str, digits: int) -> str:
    while True:
        value = make + "".join(rng.choice("0123456789") for _ in range(digits))
        if value not in seen:
            seen.add(value)
            return value


def _company_name(rng: random.Random, form: str, sector: str, wilaya: Wilaya, seen: set[str]) -> str:
    for attempt in range(50):
        family = rng.choice(FAMILY_NAMES)[0]
        if form == "SNC":
            name = f"SNC {family} {rng.choice(_SNC_SUFFIXES)}"
        elif rng.random() < 0.35:
            name = f"{form} {family} {sector}"
        else:
            name = f"{form} {rng.choice(_BRANDS)} {sector}"
        if attempt > 10:
            name = f"{name} {wilaya.latin}"
        if attempt > 20:
            name = f"{name} {attempt}"
        if name not in seen:
            seen.add(name)
            return name
    raise RuntimeError("could not draw a unique company name")


def generate(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[Company]:
    """Return `count` deterministic synthetic taxpayers drawn with `random.Random(seed)`."""
    rng = random.Random(seed)
    indices = list(range(count))
    individuals = _quota(rng, indices, 0.30)
    unregistered = set(rng.sample(sorted(individuals), round(count * 0.10)))
    in_arrears = _quota(rng, indices, 0.20)
    registered = [i for i in indices if i not in unregistered]
    struck_off = _quota(rng, registered, 0.07)
    wilaya_weights = [_WILAYA_WEIGHTS.get(w.code, 1) for w in WILAYAS]
    sector_names = sorted(SECTORS)
    seen_nifs: set[str] = set()
    seen_rcs: set[str] = set()
    seen_names: set[str] = set()
    result: list[Company] = []
    for i in indices:
        wilaya = rng.choices(WILAYAS, weights=wilaya_weights)[0]
        commune = rng.choices(wilaya.communes, weights=[3] + [1] * (len(wilaya.communes) - 1))[0].latin
        street = rng.choice(STREET_NAMES)
        number = rng.randint(1, 140)
        address = (
            f"Bt {rng.choice('ABCDEFGH')}{number % 30 + 1}, {street}"
            if street.startswith("cité")
            else f"{number}, {street}"
        )
        # Wilayas 49-58 exist since the 2019 division: nothing registered there before 2020.
        first_day = _FIRST_REGISTRATION if wilaya.code <= "48" else datetime.date(2020, 1, 1)
        registered_on = _date_between(rng, first_day, _LAST_REGISTRATION)
        sector = rng.choice(sector_names)
        pool = SECTORS[sector]
        codes = tuple(sorted(rng.sample(pool, min(len(pool), rng.choice((1, 1, 2, 2, 3))))))
        is_individual = i in individuals
        year = f"{registered_on.year % 100:02d}"
        if is_individual:
            first = rng.choice(MALE_FIRST_NAMES if rng.random() < 0.7 else FEMALE_FIRST_NAMES)
            family = rng.choice(FAMILY_NAMES)
            name, name_ar = f"{family[0].upper()} {first[0]}", f"{family[1]} {first[1]}"
            form = INDIVIDUAL
            nif = _unique(rng, seen_nifs, f"1{wilaya.code}{year}", 10)
            centre = f"CPI {commune}"
        else:
            form = rng.choices(COMPANY_FORMS, weights=_FORM_WEIGHTS)[0]
            name, name_ar = _company_name(rng, form, sector, wilaya, seen_names), None
            nif = _unique(rng, seen_nifs, f"0{wilaya.code}{year}", 10)
            areas = _CDI_AREAS.get(wilaya.code)
            centre = f"CDI {wilaya.latin}" + (f" {rng.choice(areas)}" if areas else "")
        rc: str | None = None
        if i not in unregistered:
            letter = "A" if is_individual else "B"
            rc = _unique(rng, seen_rcs, f"{wilaya.code}/00-", 7)
            rc = f"{rc}{letter}{year}"
        up_to_date = i not in in_arrears
        period_from, period_to = _tax_period(rng, registered_on, up_to_date)
        result.append(
            Company(
                nif=nif,
                rc=rc,
                name=name,
                name_ar=name_ar,
                legal_form=form,
                address=address,
                commune=commune,
                wilaya_code=wilaya.code,
                activity_codes=codes,
                registration_date=registered_on,
                tax_centre=centre,
                tax_up_to_date=up_to_date,
                tax_period_from=period_from,
                tax_period_to=period_to,
                struck_off=i in struck_off,
            )
        )
    return result
