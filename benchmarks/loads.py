"""Synthetic daily loads for the forecast benchmark: requests per wilaya and document type, by
default over 120 days from 19 July 2026 (other spans: `start`, `days`), with planted load changes
whose every case is known.

- each wilaya's size drawn around its agencies' count (`benchmarks.traffic.BIG`), each type's
  share of it fixed (birth certificates the most asked, commercial register extracts the
  least);
- the Algerian week (Friday off, Saturday light), public holidays off: those fixed by date and
  those of the lunar calendar, on their Umm al-Qura dates (`hijridate`; listed here again, not
  taken from the forecast's module, so that a mistake in either shows);
- Ramadan's shorter hours: its working days × 0.75 (Ramadan 1448: 8 February – 8 March 2027,
  Eid al-Fitr on 9 and 10 March);
- the season: a quieter August (× 0.6), September's school-allowance files (× 1.8 for birth
  certificates and family records, × 1.2 for the rest), the last days of each month × 1.3;
- planted changes: in 40 series a lasting step (× 1.3–1.8: an agency opening, a new
  procedure), in 15 a ten-day campaign (× 2);
- Poisson noise around each day's expected count.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from hijridate import Gregorian

from benchmarks.traffic import BIG, START

TYPES = {  # share of a wilaya's daily requests
    "birth-certificate": 0.30,
    "family-record": 0.25,
    "residence-certificate": 0.15,
    "tax-status-certificate": 0.10,
    "tax-registration": 0.08,
    "commercial-register-extract": 0.07,
    "death-record": 0.05,
}
SCHOOL = ("birth-certificate", "family-record")
FIXED_HOLIDAYS = {(1, 1), (1, 12), (5, 1), (7, 5), (11, 1)}  # (month, day)
LUNAR_HOLIDAYS = {(1, 1), (1, 10), (3, 12), (10, 1), (10, 2), (12, 10), (12, 11)}  # (Hijri month, day)
RAMADAN = 0.75


@dataclass(frozen=True)
class Change:
    wilaya: str
    document_type: str
    kind: str  # "step" or "campaign"
    start: dt.date
    factor: float


def _calendar(day: dt.date, document_type: str) -> float:
    hijri = Gregorian.fromdate(day).to_hijri()
    if (day.month, day.day) in FIXED_HOLIDAYS or (hijri.month, hijri.day) in LUNAR_HOLIDAYS or day.weekday() == 4:
        return 0.0
    week = 0.3 if day.weekday() == 5 else 1.0
    season = {8: 0.6, 9: 1.8 if document_type in SCHOOL else 1.2}.get(day.month, 1.0)
    fasting = RAMADAN if hijri.month == 9 else 1.0
    return week * season * fasting * (1.3 if day.day >= 26 else 1.0)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:  # normal approximation, exact enough at these sizes
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


class Loads:
    """Daily counts per (wilaya, document type), `changes` the planted ones."""

    def __init__(
        self, seed: int = 20261204, days: int = 120, steps: int = 40, campaigns: int = 15, start: dt.date = START
    ) -> None:
        rng = random.Random(seed)
        self.start, self.days = start, days
        sizes = {f"{w:02d}": BIG.get(w, 1) * rng.lognormvariate(0, 0.5) for w in range(1, 59)}
        keys = [(w, t) for w in sizes for t in TYPES]
        self.changes: list[Change] = []
        for kind, count in (("step", steps), ("campaign", campaigns)):
            for wilaya, document_type in rng.sample(keys, count):
                begins = start + dt.timedelta(days=rng.randint(30, days - 10))
                factor = rng.uniform(1.3, 1.8) if kind == "step" else 2.0
                self.changes.append(Change(wilaya, document_type, kind, begins, factor))
        by_key: dict[tuple[str, str], list[Change]] = {}
        for change in self.changes:
            by_key.setdefault((change.wilaya, change.document_type), []).append(change)
        self.series: dict[tuple[str, str], list[float]] = {}
        calendar = {
            (offset, document_type): _calendar(start + dt.timedelta(days=offset), document_type)
            for offset in range(days)
            for document_type in TYPES
        }
        for wilaya, document_type in keys:
            base = 120 * sizes[wilaya] * TYPES[document_type]
            values = []
            for offset in range(days):
                day = start + dt.timedelta(days=offset)
                factor = 1.0
                for change in by_key.get((wilaya, document_type), []):
                    if change.kind == "step" and day >= change.start:
                        factor *= change.factor
                    if change.kind == "campaign" and change.start <= day < change.start + dt.timedelta(days=10):
                        factor *= change.factor
                values.append(float(_poisson(rng, base * calendar[(offset, document_type)] * factor)))
            self.series[(wilaya, document_type)] = values
