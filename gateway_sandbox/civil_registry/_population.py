"""Generation of the sandbox civil registry's synthetic population, in memory.

:class:`Population` grows family trees from one seeded ``random.Random``: founders marry,
their children are born after the wedding, sons marry in turn (often a daughter of another
family of the registry), until exactly the requested number of people exists. Then some
single adults move out and about 8% of people are marked deceased. Nothing here reads the
clock or the global ``random``, so the same count and seed give the same people.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta

from gateway_sandbox.reference import (
    FAMILY_NAMES,
    FEMALE_FIRST_NAMES,
    MALE_FIRST_NAMES,
    STREET_NAMES,
    WILAYAS,
    NamePair,
)

__all__ = ["REFERENCE_DATE", "Family", "Person", "Population", "nin_with_key"]

REFERENCE_DATE = date(2026, 11, 1)
"""The registry's "today": no birth, marriage or death is recorded after it."""

_FIRST_BIRTH = date(1930, 1, 1)
_LAST_BIRTH = date(2025, 12, 31)
_LAST_WEDDING = date(2025, 6, 30)
_DAY = timedelta(days=1)

Home = tuple[str, int, int, date]
"""A residence: address, wilaya index, commune index, since."""


def _years(count: float) -> timedelta:
    """Return ``count`` (possibly fractional) years as a timedelta."""
    return timedelta(days=round(count * 365.2425))


def nin_with_key(body: str) -> str:
    """Append a two-digit mod-97 control key to a 16-digit NIN body.

    The body is: sex (1 male, 2 female), birth year (4 digits), birth wilaya code (2),
    birth commune index (2), then a 7-digit sequence; the key makes 18 digits.
    """
    return f"{body}{97 - int(body) % 97:02d}"


def _death_chance(age: float) -> float:
    """Return the chance that a person of ``age`` on the reference date is deceased."""
    for threshold, chance in ((85, 0.65), (75, 0.37), (65, 0.14), (50, 0.045), (30, 0.013)):
        if age >= threshold:
            return chance
    return 0.007


@dataclass(slots=True, eq=False)
class Person:
    """A person being generated (wilaya and commune are indexes into ``WILAYAS``)."""

    nin: str
    sex: str
    first: NamePair
    last: NamePair
    birth: date
    wilaya: int
    commune: int
    father: str | None  # NIN, when the father is in the registry
    mother: str | None
    father_name: str
    mother_name: str
    record: str  # birth record number
    origin: int | None  # id of the family the person was born into
    last_event: date  # latest birth, wedding or child's birth: death must come after
    home: Home | None = None
    married: bool = False
    death: tuple[date, int, int, str] | None = None  # date, wilaya, commune, record number

    @property
    def name(self) -> str:
        """The full Latin name, "First Last"."""
        return f"{self.first[0]} {self.last[0]}"


@dataclass(slots=True, eq=False)
class Family:
    """A married couple (or a husband and two wives) with their children."""

    id: int
    head: Person
    wilaya: int
    commune: int
    address: str
    spouses: list[tuple[Person, date]] = field(default_factory=list)
    children: list[Person] = field(default_factory=list)


class Population:
    """Generates families tree by tree from one seeded ``random.Random``."""

    def __init__(self, people: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.limit = people
        self.persons: list[Person] = []
        self.families: list[Family] = []
        self._counters: dict[str, int] = {}
        self._brides: dict[int, list[Person]] = {}
        self._grooms: deque[Person] = deque()

    def generate(self) -> None:
        """Create exactly ``limit`` persons, their families, residences and deaths."""
        founders = 0
        while len(self.persons) < self.limit:
            if self._grooms:
                groom = self._grooms.popleft()
                if self.rng.random() < 0.85:
                    self._marry(groom)
            else:
                self._found(founders)
                founders += 1
        self._settle()
        self._bury()

    def _full(self) -> bool:
        """Whether the requested number of persons exists."""
        return len(self.persons) >= self.limit

    def _date(self, low: date, high: date) -> date:
        """Return a random date in ``low..high`` inclusive."""
        return date.fromordinal(self.rng.randint(low.toordinal(), high.toordinal()))

    def _next(self, key: str, step: int) -> int:
        """Advance the counter ``key`` by a random step in 1..step and return it."""
        value = self._counters.get(key, 0) + self.rng.randint(1, step)
        self._counters[key] = value
        return value

    def _address(self) -> str:
        """Return a random street address such as "12 rue Didouche Mourad"."""
        return f"{self.rng.randint(1, 150)} {self.rng.choice(STREET_NAMES)}"

    def _commune(self, wilaya: int) -> int:
        """Return a random commune index of ``wilaya``."""
        return self.rng.randrange(len(WILAYAS[wilaya].communes))

    def _person(
        self,
        sex: str,
        birth: date,
        last: NamePair,
        wilaya: int,
        commune: int,
        parents: tuple[Person, Person] | None,
        origin: int | None,
    ) -> Person:
        """Create a person with a fresh NIN and birth record number, and register them."""
        rng = self.rng
        first = rng.choice(MALE_FIRST_NAMES if sex == "M" else FEMALE_FIRST_NAMES)
        code = WILAYAS[wilaya].code
        sequence = self._next(f"nin/{sex}/{birth.year}/{code}/{commune}", 37)
        body = f"{1 if sex == 'M' else 2}{birth.year:04d}{code}{commune + 1:02d}{sequence:07d}"
        nin = nin_with_key(body)
        record = f"{birth.year}/{code}/{self._next(f'birth/{birth.year}/{code}', 9):06d}"
        if parents is None:
            father_name = f"{rng.choice(MALE_FIRST_NAMES)[0]} {last[0]}"
            mother_name = f"{rng.choice(FEMALE_FIRST_NAMES)[0]} {rng.choice(FAMILY_NAMES)[0]}"
            father_nin = mother_nin = None
        else:
            father_name, mother_name = parents[0].name, parents[1].name
            father_nin, mother_nin = parents[0].nin, parents[1].nin
        person = Person(
            nin,
            sex,
            first,
            last,
            birth,
            wilaya,
            commune,
            father_nin,
            mother_nin,
            father_name,
            mother_name,
            record,
            origin,
            birth,
        )
        self.persons.append(person)
        return person

    def _found(self, index: int) -> None:
        """Start a new family tree from a husband with no parents in the registry."""
        wilaya = index if index < len(WILAYAS) else self.rng.randrange(len(WILAYAS))
        birth = self._date(_FIRST_BIRTH, date(1972, 12, 31))
        head = self._person("M", birth, self.rng.choice(FAMILY_NAMES), wilaya, self._commune(wilaya), None, None)
        self._marry(head)

    def _marry(self, groom: Person) -> None:
        """Marry ``groom`` (if his wedding date falls in range) and give the couple children."""
        rng = self.rng
        wedding = groom.birth + _years(rng.uniform(22, 36))
        if wedding > _LAST_WEDDING or self._full():
            return
        wilaya = groom.wilaya
        if groom.origin is not None and rng.random() < 0.2:
            wilaya = rng.randrange(len(WILAYAS))
        family = Family(len(self.families) + 1, groom, wilaya, self._commune(wilaya), self._address())
        bride = self._bride(groom, wedding, family, 30)
        if bride is None:
            return
        self.families.append(family)
        self._wed(family, groom, wedding)
        self._wed(family, bride, wedding)
        second = wedding + _years(rng.uniform(3, 15))
        if rng.random() < 0.03 and second <= _LAST_WEDDING:
            other = self._bride(groom, second, family, 35)
            if other is not None:
                self._wed(family, other, second)
        self._children(family)

    def _bride(self, groom: Person, wedding: date, family: Family, oldest: int) -> Person | None:
        """Find an unmarried woman of the registry for ``groom``, or create one."""
        rng = self.rng
        if rng.random() < 0.5:
            years = list(range(groom.birth.year - 1, groom.birth.year + 12))
            rng.shuffle(years)
            for year in years:
                pool = self._brides.get(year, [])
                for position, woman in enumerate(pool):
                    adult = woman.birth + _years(18) <= wedding
                    if adult and woman.origin != groom.origin:
                        return pool.pop(position)
        if self._full():
            return None
        low = max(_FIRST_BIRTH, wedding - _years(oldest), groom.birth - _years(3))
        birth = self._date(low, wedding - _years(18))
        wilaya = family.wilaya if rng.random() < 0.7 else rng.randrange(len(WILAYAS))
        return self._person("F", birth, rng.choice(FAMILY_NAMES), wilaya, self._commune(wilaya), None, None)

    def _wed(self, family: Family, person: Person, wedding: date) -> None:
        """Record ``person`` as head or spouse of ``family``, living at its address."""
        if person is not family.head:
            family.spouses.append((person, wedding))
        person.married = True
        person.home = (family.address, family.wilaya, family.commune, wedding)
        person.last_event = max(person.last_event, wedding)

    def _children(self, family: Family) -> None:
        """Give ``family`` 0 to 6 children, born after the wedding to a wife under 45."""
        rng = self.rng
        count = rng.choices(range(7), weights=(8, 12, 20, 22, 18, 12, 8))[0]
        born = family.spouses[0][1] + timedelta(days=rng.randint(280, 900))
        for _ in range(count):
            if born > _LAST_BIRTH or self._full():
                return
            mothers = [wife for wife, wed in family.spouses if wed < born and wife.birth + _years(45) > born]
            if not mothers:
                return
            mother = rng.choice(mothers)
            sex = rng.choice(("M", "F"))
            commune = family.commune if rng.random() < 0.9 else self._commune(family.wilaya)
            child = self._person(sex, born, family.head.last, family.wilaya, commune, (family.head, mother), family.id)
            child.home = (family.address, family.wilaya, family.commune, born)
            family.children.append(child)
            for parent in (family.head, mother):
                parent.last_event = max(parent.last_event, born)
            if sex == "F":
                self._brides.setdefault(born.year, []).append(child)
            elif born + _years(22) <= _LAST_WEDDING:
                self._grooms.append(child)
            born += timedelta(days=rng.randint(420, 1500))

    def _settle(self) -> None:
        """Give a home to the homeless, and one of their own to some single adults."""
        rng = self.rng
        for person in self.persons:
            adult = person.birth + _years(18)
            if person.home is None:
                since = adult if adult < REFERENCE_DATE else person.birth
                person.home = (self._address(), person.wilaya, person.commune, since)
                continue
            grown = not person.married and person.birth + _years(27) < REFERENCE_DATE
            if grown and rng.random() < 0.35:
                wilaya = person.home[1]
                latest = min(REFERENCE_DATE - _DAY, person.birth + _years(40))
                since = self._date(person.birth + _years(25), latest)
                person.home = (self._address(), wilaya, self._commune(wilaya), since)

    def _bury(self) -> None:
        """Mark about 8% of people deceased, each after the last event of their life."""
        rng = self.rng
        for person in self.persons:
            age = (REFERENCE_DATE - person.birth).days / 365.2425
            if rng.random() >= _death_chance(age):
                continue
            low, high = person.last_event + _DAY, REFERENCE_DATE - _DAY
            if low > high:
                continue
            when = self._date(low, high)
            wilaya = person.home[1] if person.home else person.wilaya
            code = WILAYAS[wilaya].code
            number = f"{when.year}/{code}/{self._next(f'death/{when.year}/{code}', 9):06d}"
            person.death = (when, wilaya, self._commune(wilaya), number)
