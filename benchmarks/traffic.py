"""Synthetic journal traffic for the foresight benchmark: 90 days of lookups by the agents of
CNAS agencies in the 58 wilayas, with planted misuse whose every case is known.

What it models (docs/foresight.md says why and what it leaves out):

- agencies: one per wilaya, more in the largest (Alger 4, Oran 3, Constantine 2, Sétif 2,
  Blida 2), each with 3–8 agents and a kind of work: benefits (family allowances, survivors,
  benefit reviews, registrations) or employers (registrations, contribution recovery);
- the Algerian week: Sunday to Thursday, a little work on Saturday mornings in some
  agencies, none on Friday; public holidays off; office hours 08:00–16:30 with a few early
  or late lookups;
- the season: school-allowance files in September (× 1.8), a quieter August (× 0.6), the
  end of each month busier (× 1.3);
- work as it is: a family-allowance file looks up a birth certificate and a family record
  of one person, a not-found answer now and then (3 %), an identifier mistyped and tried
  again (1 % of files), a file looked at again later (5 %; 0.5 % twice more), a walk-in
  the agency seldom serves (0.2 % of files for the other kind of work), a file finished
  after 22:00 (0.3 % of agent-days), agents who work twice as much as their colleagues,
  agents who join during the period;
- planted misuse of five kinds (30 cases each, on random agents and working days):
  bulk lookups of unrelated people, probing identifiers at random, night work, purposes
  the agency never uses, one citizen looked up again and again.

Everything comes from one random seed, so a run can be repeated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from gateway.insights.misuse import LOCAL, Access

START = dt.date(2026, 7, 19)  # a Sunday; 90 days take in August and September
DAYS = 90
HOLIDAYS = {
    dt.date(2026, 7, 5): "Independence Day",
    dt.date(2026, 8, 26): "Mawlid (estimated)",
    dt.date(2026, 11, 1): "Revolution Day",
}
BIG = {16: 4, 31: 3, 25: 2, 19: 2, 9: 2}
BENEFITS = {  # purpose: (weight, document types asked for one file)
    "family-allowance": (0.45, ("birth-certificate", "family-record")),
    "insured-registration": (0.25, ("birth-certificate", "residence-certificate")),
    "survivor-benefit": (0.12, ("death-record", "family-record")),
    "benefit-review": (0.18, ("residence-certificate",)),
}
EMPLOYERS = {
    "employer-registration": (0.6, ("tax-registration", "commercial-register-extract")),
    "contribution-recovery": (0.4, ("tax-status-certificate",)),
}
KINDS = ("bulk_lookups", "probing", "off_hours", "unusual_purpose", "repeated_subject")


@dataclass
class Agent:
    code: str
    agency: str
    pace: float  # files per working day
    joins: dt.date


@dataclass
class Agency:
    code: str
    wilaya: int
    work: dict[str, tuple[float, tuple[str, ...]]]
    saturdays: bool
    agents: list[Agent] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    """One planted misuse: who, which day (local), what kind, from when."""

    agent: str
    day: dt.date
    kind: str
    start: dt.datetime


def agencies(rng: random.Random) -> list[Agency]:
    out = []
    for wilaya in range(1, 59):
        for n in range(BIG.get(wilaya, 1)):
            work = EMPLOYERS if n == 1 or (wilaya % 7 == 0 and n == 0 and wilaya not in BIG) else BENEFITS
            agency = Agency(f"CNAS-{wilaya:02d}-{n + 1:03d}", wilaya, work, saturdays=rng.random() < 0.3)
            for i in range(rng.randint(3, 8)):
                pace = rng.uniform(8, 16) * (2.0 if rng.random() < 0.1 else 1.0)
                joins = START + dt.timedelta(days=rng.randint(20, 70)) if rng.random() < 0.05 else START
                agency.agents.append(Agent(f"A{wilaya:02d}{n}{i:02d}", agency.code, pace, joins))
            out.append(agency)
    return out


def _season(day: dt.date) -> float:
    factor = {8: 0.6, 9: 1.8}.get(day.month, 1.0)
    return factor * (1.3 if day.day >= 26 else 1.0)


def _working(day: dt.date, agency: Agency) -> float:
    """The share of a full day's work done on `day`."""
    if day in HOLIDAYS or day.weekday() == 4:  # Friday
        return 0.0
    if day.weekday() == 5:  # Saturday
        return 0.3 if agency.saturdays else 0.0
    return 1.0


def subject(population: str, n: int) -> str:
    """A keyed-hash-like reference for the n-th person of a population."""
    return hashlib.sha256(f"{population}:{n}".encode()).hexdigest()[:20]


class Traffic:
    """The benchmark's traffic: `accesses()` in time order, `cases` the planted misuse."""

    def __init__(self, seed: int = 20261204, days: int = DAYS, cases_per_kind: int = 30) -> None:
        self.rng = random.Random(seed)
        self.days = days
        self.agencies = agencies(self.rng)
        self.cases: list[Case] = []
        self.planted: dict[Case, list[dt.datetime]] = {}  # each case's lookups, filled as they are generated
        self._plant(cases_per_kind)

    @property
    def agents(self) -> list[Agent]:
        return [a for agency in self.agencies for a in agency.agents]

    def _plant(self, per_kind: int) -> None:
        taken: set[tuple[str, dt.date]] = set()
        by_code = {a.code: a for a in self.agents}
        for kind in KINDS:
            planted = 0
            while planted < per_kind:
                agent = self.rng.choice(list(by_code.values()))
                agency = next(x for x in self.agencies if x.code == agent.agency)
                day = START + dt.timedelta(days=self.rng.randint(21, self.days - 1))
                if _working(day, agency) < 1 or day < agent.joins or (agent.code, day) in taken:
                    continue
                if kind == "off_hours":  # between midnight and 04:00, the same local day
                    start = dt.datetime.combine(day, dt.time(self.rng.randint(0, 3)), LOCAL)
                else:
                    start = dt.datetime.combine(day, dt.time(self.rng.randint(9, 14), self.rng.randint(0, 59)), LOCAL)
                taken.add((agent.code, day))
                self.cases.append(Case(agent.code, day, kind, start))
                planted += 1

    def accesses(self) -> Iterator[Access]:
        """Every lookup of the period, in time order, one day at a time."""
        cases = {(c.agent, c.day): c for c in self.cases}
        for offset in range(self.days):
            day = START + dt.timedelta(days=offset)
            today: list[Access] = []
            for agency in self.agencies:
                share = _working(day, agency) * _season(day)
                for agent in agency.agents:
                    if day < agent.joins:
                        continue
                    if share > 0:
                        today += self._work(day, agency, agent, share)
                    case = cases.get((agent.code, day))
                    if case is not None:
                        today += self._misuse(case, agency, agent)
            today.sort(key=lambda a: a.at)
            yield from today

    def _when(self, day: dt.date, share: float) -> dt.datetime:
        rng = self.rng
        if share < 0.5:  # a Saturday morning
            minutes = rng.uniform(8 * 60, 12 * 60)
        elif rng.random() < 0.02:  # early or late, now and then
            minutes = rng.choice([rng.uniform(7 * 60, 8 * 60), rng.uniform(16.5 * 60, 19 * 60)])
        else:
            minutes = min(max(rng.gauss(12 * 60, 2.2 * 60), 8 * 60), 16.5 * 60)
        return dt.datetime.combine(day, dt.time(), LOCAL) + dt.timedelta(minutes=minutes)

    def _work(self, day: dt.date, agency: Agency, agent: Agent, share: float) -> list[Access]:
        rng = self.rng
        files = max(0, round(rng.gauss(agent.pace * share, (agent.pace * share) ** 0.5)))
        other = EMPLOYERS if agency.work is BENEFITS else BENEFITS
        late = share >= 1 and rng.random() < 0.003  # now and then a file finished after 22:00
        out = []
        for n in range(files):
            work = other if rng.random() < 0.002 else agency.work  # a walk-in the agency seldom serves
            purposes, weights = list(work), [w for w, _ in work.values()]
            purpose = rng.choices(purposes, weights)[0]
            person = subject(f"w{agency.wilaya}", rng.randrange(2_000_000))
            at = self._when(day, share)
            if late and n == 0:
                at = dt.datetime.combine(day, dt.time(22, rng.randint(0, 40)), LOCAL)
            if rng.random() < 0.01:  # an identifier mistyped, tried again
                for _ in range(rng.randint(1, 2)):
                    typo = subject("typo", rng.randrange(10**12))
                    out.append(Access(at, agency.code, agent.code, work[purpose][1][0], purpose, "not-found", typo))
                    at += dt.timedelta(seconds=rng.uniform(20, 90))
            for i, doc_type in enumerate(work[purpose][1]):
                status = "not-found" if rng.random() < 0.03 else "issued"
                at_i = at + dt.timedelta(seconds=20 * i)
                out.append(Access(at_i, agency.code, agent.code, doc_type, purpose, status, person))
            again = 2 if rng.random() < 0.005 else 1 if rng.random() < 0.05 else 0  # the file looked at again
            for _ in range(again):
                out.append(
                    Access(at + dt.timedelta(minutes=rng.uniform(5, 120)), agency.code, agent.code,
                           work[purpose][1][0], purpose, "issued", person)
                )  # fmt: skip
        return out

    def _misuse(self, case: Case, agency: Agency, agent: Agent) -> list[Access]:
        rng = self.rng
        purpose = next(iter(agency.work))
        doc_type = agency.work[purpose][1][0]
        out = []
        if case.kind == "bulk_lookups":
            count, minutes = rng.randint(150, 450), rng.uniform(30, 60)
            for i in range(count):
                person = subject(f"w{rng.randint(1, 58)}", rng.randrange(2_000_000))
                at = case.start + dt.timedelta(minutes=minutes * i / count)
                out.append(Access(at, agency.code, agent.code, doc_type, purpose, "issued", person))
        elif case.kind == "probing":
            for _ in range(rng.randint(20, 60)):
                at = case.start + dt.timedelta(minutes=rng.uniform(0, 90))
                person = subject("nobody", rng.randrange(10**12))
                out.append(Access(at, agency.code, agent.code, doc_type, purpose, "not-found", person))
        elif case.kind == "off_hours":
            for _ in range(rng.randint(10, 30)):
                at = case.start + dt.timedelta(minutes=rng.uniform(0, 150))
                person = subject(f"w{agency.wilaya}", rng.randrange(2_000_000))
                out.append(Access(at, agency.code, agent.code, doc_type, purpose, "issued", person))
        elif case.kind == "unusual_purpose":
            other = EMPLOYERS if agency.work is BENEFITS else BENEFITS
            odd = rng.choice(list(other))
            for _ in range(rng.randint(8, 20)):
                at = case.start + dt.timedelta(minutes=rng.uniform(0, 180))
                person = subject(f"w{agency.wilaya}", rng.randrange(2_000_000))
                out.append(Access(at, agency.code, agent.code, other[odd][1][0], odd, "issued", person))
        else:  # repeated_subject
            person = subject(f"w{agency.wilaya}", rng.randrange(2_000_000))
            for _ in range(rng.randint(5, 9)):
                at = case.start + dt.timedelta(minutes=rng.uniform(0, 240))
                out.append(Access(at, agency.code, agent.code, doc_type, purpose, "issued", person))
        self.planted[case] = sorted(a.at for a in out)
        return out
