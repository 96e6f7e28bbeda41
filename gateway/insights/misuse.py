"""Misuse of access to citizens' data, told from the journal alone.

Each journal entry says who asked (agency, agent), for what (document type, purpose), when,
what came of it (issued, not found …) and about whom as a keyed hash: no new personal data
is needed. `MisuseWatch` reads the entries in time order and keeps, per agent, what the agent
did today (local time, Africa/Algiers) and in the last 30 minutes, and per agency what its
agents did on their past days. An agent is judged against the agency's other agents (so a
new agent is judged from its first request) and, once it has a history, against its own:
an alert needs both to find the behaviour unusual.

The five kinds of misuse watched, each with the measure it is judged on:

- `bulk_lookups`: distinct citizens whose document was obtained in 30 minutes;
- `probing`: distinct identifiers that found nobody in 30 minutes (identifiers tried at
  random), today's most;
- `off_hours`: distinct citizens looked up at night (22:00–06:00 local), today;
- `unusual_purpose`: distinct citizens whose document was obtained for a purpose the agency
  almost never uses, today;
- `repeated_subject`: lookups of one document of one citizen, today.

A measure is unusual above median + k × (1.4826 × MAD) of the reference values (robust
statistics: one extreme day does not move them; k is 5, and 2 for repeated lookups, whose
small counts make the MAD jump from 0 to 1), with a floor under the spread and a least
count, so that quiet agencies do not alert on a handful of requests. The method, the
figures measured on synthetic traffic and their limits are in docs/foresight.md.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.records import AuditEntry

LOCAL = dt.timezone(dt.timedelta(hours=1), "Africa/Algiers")  # no daylight saving time
KINDS = ("bulk_lookups", "probing", "off_hours", "unusual_purpose", "repeated_subject")
MEASURED = ("bulk_lookups", "probing", "off_hours", "repeated_subject")  # the kinds judged on a day's measure
WINDOW = dt.timedelta(minutes=30)
HISTORY_DAYS = 28
LOOKUP_STATUSES = ("issued", "not-found")


@dataclass(frozen=True)
class Thresholds:
    """How far from the reference a measure must be, and the least counts, per kind."""

    spread: tuple[tuple[str, float], ...] = (  # how many robust standard deviations above the median
        ("bulk_lookups", 5),
        ("probing", 5),
        ("off_hours", 5),
        ("repeated_subject", 2),
    )
    least: tuple[tuple[str, float], ...] = (
        ("bulk_lookups", 12),
        ("probing", 5),
        ("off_hours", 2),
        ("unusual_purpose", 3),
        ("repeated_subject", 4),
    )
    floor: tuple[tuple[str, float], ...] = (  # the least robust standard deviation assumed
        ("bulk_lookups", 2),
        ("probing", 0.6),
        ("off_hours", 0.3),
        ("unusual_purpose", 1),
        ("repeated_subject", 0.5),
    )
    rare_purpose_share: float = 0.01  # a purpose under 1 % of the agency's requests is unusual for it
    own_history_days: int = 10  # days of an agent's own history before it counts
    peer_days: int = 20  # agent-days an agency needs before its own agents are the reference


@dataclass(frozen=True)
class Access:
    """One lookup, as misuse detection reads a journal entry."""

    at: dt.datetime
    agency: str
    agent: str
    document_type: str
    purpose: str
    status: str
    subject: str  # the keyed hash of the identifier

    @classmethod
    def of(cls, entry: AuditEntry) -> Access | None:
        """The lookup an entry records; None for entries that are not an agent's lookup."""
        if not (entry.agent and entry.agency and entry.subject_ref and entry.status in LOOKUP_STATUSES):
            return None
        return cls(
            entry.at,
            entry.agency,
            entry.agent,
            entry.document_type or "",
            entry.purpose or "",
            entry.status,
            entry.subject_ref,
        )


@dataclass(frozen=True)
class Alert:
    """An agent whose behaviour is unusual: what, since when, why in words, and the evidence."""

    agent: str
    agency: str
    kind: str
    raised_at: dt.datetime
    since: dt.datetime  # the first lookup counted in the evidence
    reason: str
    evidence: dict[str, Any]

    @property
    def explorer(self) -> str:
        """The request explorer's address for the lookups behind this alert."""
        return f"/requests?agent={self.agent}&since={self.since.astimezone(dt.UTC):%Y-%m-%dT%H:%M}"


@dataclass
class _Day:
    """What one agent did on one local day, so far."""

    day: dt.date
    volume: int = 0
    subjects: Counter[tuple[str, str]] = field(default_factory=Counter)  # by (subject, document type)
    not_found: int = 0
    night: set[str] = field(default_factory=set)  # citizens looked up at night
    purposes: Counter[str] = field(default_factory=Counter)
    purpose_subjects: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    most_in_window: int = 0
    most_not_found_in_window: int = 0
    first_at: dt.datetime | None = None
    night_since: dt.datetime | None = None
    alerted: set[str] = field(default_factory=set)

    def measures(self) -> dict[str, float]:
        return {
            "bulk_lookups": self.most_in_window,
            "probing": self.most_not_found_in_window,
            "off_hours": len(self.night),
            "repeated_subject": max(self.subjects.values(), default=0),
        }


@dataclass
class _Agent:
    agency: str
    today: _Day | None = None
    recent: deque[tuple[dt.datetime, str]] = field(default_factory=deque)  # documents obtained in 30 minutes
    in_window: Counter[str] = field(default_factory=Counter)
    missed: deque[tuple[dt.datetime, str]] = field(default_factory=deque)  # identifiers that found nobody, 30 min
    missed_in_window: Counter[str] = field(default_factory=Counter)
    history: deque[dict[str, float]] = field(default_factory=lambda: deque(maxlen=HISTORY_DAYS))
    own: dict[str, tuple[float, float]] = field(default_factory=dict)  # kind: (median, threshold) of its history


@dataclass
class _Agency:
    days: deque[tuple[dt.date, dict[str, float]]] = field(default_factory=deque)  # its agents' past days
    purposes: deque[tuple[dt.date, Counter[str]]] = field(default_factory=deque)
    references: dict[str, tuple[float, float]] = field(default_factory=dict)  # kind: (median, threshold)
    purpose_shares: dict[str, float] = field(default_factory=dict)


def _slide(window: deque[tuple[dt.datetime, str]], counts: Counter[str], after: dt.datetime) -> None:
    """Drops from a 30-minute `window` (and its `counts`) what happened at or before `after`."""
    while window and window[0][0] <= after:
        _, gone = window.popleft()
        counts[gone] -= 1
        if counts[gone] == 0:
            del counts[gone]


def robust(values: list[float], spread: float, floor: float) -> tuple[float, float]:
    """The median of `values` and the threshold above which a value is unusual."""
    if not values:
        return 0.0, float("inf")
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return median, median + spread * max(1.4826 * mad, floor)


class MisuseWatch:
    """Reads lookups in time order and says which agents behave unusually, as soon as they do."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._least = dict(self.thresholds.least)
        self._spread = dict(self.thresholds.spread)
        self._floor = dict(self.thresholds.floor)
        self._agents: dict[str, _Agent] = {}
        self._agencies: defaultdict[str, _Agency] = defaultdict(_Agency)
        self._everyone: dict[str, tuple[float, float]] = {}  # the reference of agencies without enough days
        self._day: dt.date | None = None

    def read(self, accesses: Iterable[Access]) -> Iterator[Alert]:
        """Every alert raised while reading `accesses` (in time order)."""
        for access in accesses:
            yield from self.observe(access)

    def observe(self, access: Access) -> list[Alert]:
        """Takes one lookup into account; returns the alerts it raises (each kind at most once a day per agent)."""
        local = access.at.astimezone(LOCAL)
        if self._day is not None and local.date() < self._day:
            return []  # written late, after the day it belongs to was closed
        if self._day is None or local.date() > self._day:
            self._new_day(local.date())
        agent = self._agents.get(access.agent)
        if agent is None:
            agent = self._agents[access.agent] = _Agent(access.agency)
        if agent.today is None or agent.today.day != local.date():
            self._close(agent)
            agent.today = _Day(local.date(), first_at=access.at)
        today = agent.today
        today.volume += 1
        today.subjects[(access.subject, access.document_type)] += 1
        today.purposes[access.purpose] += 1
        if local.hour >= 22 or local.hour < 6:
            today.night.add(access.subject)
            today.night_since = today.night_since or access.at
        if access.status == "issued":  # a document obtained: a citizen's data seen
            today.purpose_subjects[access.purpose].add(access.subject)
            agent.recent.append((access.at, access.subject))
            agent.in_window[access.subject] += 1
        else:
            today.not_found += 1
            agent.missed.append((access.at, access.subject))
            agent.missed_in_window[access.subject] += 1
        _slide(agent.recent, agent.in_window, access.at - WINDOW)
        _slide(agent.missed, agent.missed_in_window, access.at - WINDOW)
        today.most_in_window = max(today.most_in_window, len(agent.in_window))
        today.most_not_found_in_window = max(today.most_not_found_in_window, len(agent.missed_in_window))
        return self._judge(access, agent, today)

    # ------------------------------------------------------------------ judging
    def _judge(self, access: Access, agent: _Agent, today: _Day) -> list[Alert]:
        alerts = []
        agency = self._agencies[agent.agency]
        measures = today.measures()
        for kind in MEASURED:
            value = measures[kind]
            if kind in today.alerted or value < self._least[kind]:
                continue
            median, threshold = agency.references.get(kind) or self._everyone.get(kind, (0.0, float("inf")))
            own = agent.own.get(kind)
            if value > threshold and (own is None or value > own[1]):
                today.alerted.add(kind)
                alerts.append(self._alert(access, agent, today, kind, value, median, own))
        unusual = self._unusual_purposes(agency, today)
        if "unusual_purpose" not in today.alerted and unusual >= self._least["unusual_purpose"]:
            today.alerted.add("unusual_purpose")
            alerts.append(self._alert(access, agent, today, "unusual_purpose", unusual, 0.0, None))
        return alerts

    def _unusual_purposes(self, agency: _Agency, today: _Day) -> int:
        if not agency.purpose_shares:
            return 0
        rare = self.thresholds.rare_purpose_share
        odd = (
            s
            for p, subjects in today.purpose_subjects.items()
            if agency.purpose_shares.get(p, 0.0) < rare
            for s in subjects
        )
        return len(set(odd))

    def _alert(
        self,
        access: Access,
        agent: _Agent,
        today: _Day,
        kind: str,
        value: float,
        median: float,
        own: tuple[float, float] | None,
    ) -> Alert:
        since = today.first_at or access.at
        evidence: dict[str, Any] = {"value": value, "agency_median": median, "lookups_today": today.volume}
        if own is not None:
            evidence["own_median"] = own[0]
        times = (
            f"{value / median:.0f}× the agency median ({median:g})" if median >= 1 else "the agency's agents rarely do"
        )
        if kind == "bulk_lookups":
            since = agent.recent[0][0]
            reason = f"{value:g} distinct citizens in 30 min, {times}"
        elif kind == "probing":
            since = agent.missed[0][0]
            evidence["not_found_today"] = today.not_found
            reason = f"{value:g} identifiers that found nobody in 30 min, {times}"
        elif kind == "off_hours":
            since = today.night_since or since
            reason = f"{value:g} citizens looked up at night (22:00–06:00) today, {times}"
        elif kind == "repeated_subject":
            (subject, document_type), _ = today.subjects.most_common(1)[0]
            evidence["subject_ref"], evidence["document_type"] = subject, document_type
            reason = f"one citizen's {document_type} looked up {value:g} times today (ref {subject[:8]}…), {times}"
        else:
            agency = self._agencies[agent.agency]
            rare = self.thresholds.rare_purpose_share
            purposes = sorted(p for p in today.purposes if agency.purpose_shares.get(p, 0.0) < rare)
            evidence["purposes"] = {p: round(100 * agency.purpose_shares.get(p, 0.0), 2) for p in purposes}
            reason = (
                f"{value:g} citizens looked up today for {', '.join(purposes)}, under 1 % of this agency's "
                f"requests in {HISTORY_DAYS} days"
            )
        return Alert(access.agent, agent.agency, kind, access.at, since, reason, evidence)

    # ------------------------------------------------------------------ days
    def _close(self, agent: _Agent) -> None:
        """Files the agent's finished day with its own history and its agency's."""
        day = agent.today
        if day is None:
            return
        measures = day.measures()
        agent.history.append(measures)
        if len(agent.history) >= self.thresholds.own_history_days:  # its own reference, once a day
            agent.own = {
                kind: robust([d[kind] for d in agent.history], self._spread[kind], self._floor[kind])
                for kind in MEASURED
            }
        agency = self._agencies[agent.agency]
        agency.days.append((day.day, measures))
        agency.purposes.append((day.day, day.purposes))

    def _new_day(self, day: dt.date) -> None:
        """At the first lookup of a local day: every agent's last day filed, the references computed again."""
        self._day = day
        for agent in self._agents.values():
            if agent.today is not None and agent.today.day < day:
                self._close(agent)
                agent.today = None
        oldest = day - dt.timedelta(days=HISTORY_DAYS)
        pooled: defaultdict[str, list[float]] = defaultdict(list)
        for agency in self._agencies.values():
            while agency.days and agency.days[0][0] < oldest:
                agency.days.popleft()
            while agency.purposes and agency.purposes[0][0] < oldest:
                agency.purposes.popleft()
            agency.references = {}
            for kind in MEASURED:
                values = [m[kind] for _, m in agency.days]
                pooled[kind] += values
                if len(values) >= self.thresholds.peer_days:
                    agency.references[kind] = robust(values, self._spread[kind], self._floor[kind])
            counted: Counter[str] = Counter()
            for _, purposes in agency.purposes:
                counted.update(purposes)
            total = sum(counted.values())
            agency.purpose_shares = (
                {p: n / total for p, n in counted.items()} if len(agency.days) >= self.thresholds.peer_days else {}
            )
        self._everyone = {
            kind: robust(values, self._spread[kind], self._floor[kind]) for kind, values in pooled.items() if values
        }
