"""Misuse alerts from journal entries: an agent is judged against its agency's agents and its own
history, each kind at most once a day, with the reason in words."""

from __future__ import annotations

import datetime as dt
import random

from gateway.insights.misuse import LOCAL, Access, Alert, MisuseWatch
from gateway.records import AuditEntry
from tests.factories import audit_entry

DAY0 = dt.date(2026, 11, 1)  # a Sunday


def working_days(count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = DAY0
    while len(days) < count:
        if day.weekday() not in (4, 5):  # Friday, Saturday
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def ordinary_day(rng: random.Random, day: dt.date, agents: list[str], agency: str = "CNAS-16-001") -> list[Access]:
    """Each agent: 20 files of two documents each, spread over office hours; one lookup in 30 finds nobody."""
    out = []
    for agent in agents:
        for _ in range(20):
            at = dt.datetime.combine(day, dt.time(8), LOCAL) + dt.timedelta(minutes=rng.uniform(0, 480))
            person = f"p{rng.randrange(10**9)}"
            for i, doc_type in enumerate(("birth-certificate", "family-record")):
                status = "not-found" if rng.random() < 0.03 else "issued"
                out.append(
                    Access(at + dt.timedelta(seconds=i), agency, agent, doc_type, "family-allowance", status, person)
                )
    return sorted(out, key=lambda a: a.at)


def test_bulk_lookups_alert_names_the_agent_within_minutes_and_no_one_else() -> None:
    """After 25 ordinary days, an agent who obtains 300 citizens' documents in 40 minutes is alerted within 5."""
    rng = random.Random(7)
    agents = [f"AG{i}" for i in range(6)]
    watch = MisuseWatch()
    days = working_days(26)
    for day in days[:-1]:
        assert list(watch.read(ordinary_day(rng, day, agents))) == []
    start = dt.datetime.combine(days[-1], dt.time(10), LOCAL)
    burst = [
        Access(start + dt.timedelta(seconds=8 * i), "CNAS-16-001", "AG3", "birth-certificate", "family-allowance",
               "issued", f"x{i}")
        for i in range(300)
    ]  # fmt: skip
    alerts = list(watch.read(sorted(ordinary_day(rng, days[-1], agents) + burst, key=lambda a: a.at)))
    assert [(a.agent, a.kind) for a in alerts] == [("AG3", "bulk_lookups")]
    assert alerts[0].raised_at - start <= dt.timedelta(minutes=5)
    assert "distinct citizens in 30 min" in alerts[0].reason
    assert alerts[0].explorer.startswith("/requests?agent=AG3&since=")


def test_a_new_agent_is_judged_against_its_agency_from_its_first_day() -> None:
    """An agent seen for the first time, probing identifiers at random, is alerted on that day."""
    rng = random.Random(8)
    agents = [f"AG{i}" for i in range(5)]
    watch = MisuseWatch()
    days = working_days(25)
    for day in days[:-1]:
        list(watch.read(ordinary_day(rng, day, agents)))
    start = dt.datetime.combine(days[-1], dt.time(11), LOCAL)
    probes = [
        Access(start + dt.timedelta(minutes=i), "CNAS-16-001", "NEW", "birth-certificate", "family-allowance",
               "not-found", f"n{i}")
        for i in range(12)
    ]  # fmt: skip
    alerts = list(watch.read(sorted(ordinary_day(rng, days[-1], agents) + probes, key=lambda a: a.at)))
    assert [(a.agent, a.kind) for a in alerts] == [("NEW", "probing")]
    assert "found nobody" in alerts[0].reason


def test_night_work_and_an_unused_purpose_are_each_alerted_once() -> None:
    """Lookups at 02:00 and for a purpose the agency never uses give one alert of each kind, not one per lookup."""
    rng = random.Random(9)
    agents = [f"AG{i}" for i in range(5)]
    watch = MisuseWatch()
    days = working_days(25)
    for day in days[:-1]:
        list(watch.read(ordinary_day(rng, day, agents)))
    night = dt.datetime.combine(days[-1], dt.time(2), LOCAL)
    odd = [
        Access(night + dt.timedelta(minutes=5 * i), "CNAS-16-001", "AG1", "tax-status-certificate",
               "contribution-recovery", "issued", f"e{i}")
        for i in range(10)
    ]  # fmt: skip
    alerts = list(watch.read(sorted(ordinary_day(rng, days[-1], agents) + odd, key=lambda a: a.at)))
    assert sorted((a.agent, a.kind) for a in alerts) == [("AG1", "off_hours"), ("AG1", "unusual_purpose")]


def test_only_agents_lookups_are_read() -> None:
    """Journal entries without an agent, or that are refusals or operator actions, are not lookups."""
    assert Access.of(audit_entry(agent="AG1", subject_ref="r1")) is not None
    assert Access.of(audit_entry(agent=None, subject_ref="r1")) is None
    assert Access.of(audit_entry(agent="AG1", status="refused", subject_ref="r1")) is None
    assert Access.of(AuditEntry.operator_action("nadia", "request_lookup")) is None


def _day_with(rng: random.Random, agents: list[str], extra: list[Access]) -> tuple[MisuseWatch, list[Alert]]:
    """A watch that has read 24 ordinary days, and the alerts of a 25th with `extra` lookups added."""
    watch = MisuseWatch()
    days = working_days(25)
    for day in days[:-1]:
        list(watch.read(ordinary_day(rng, day, agents)))
    return watch, list(watch.read(sorted(ordinary_day(rng, days[-1], agents) + extra, key=lambda a: a.at)))


def test_identifiers_that_find_nobody_over_the_whole_day_are_not_probing() -> None:
    """Six identifiers that found nobody, one an hour, stay under five in any 30 minutes: no alert."""
    start = dt.datetime.combine(working_days(25)[-1], dt.time(9), LOCAL)
    scattered = [
        Access(start + dt.timedelta(hours=i), "CNAS-16-001", "AG2", "birth-certificate", "family-allowance",
               "not-found", f"t{i}")
        for i in range(6)
    ]  # fmt: skip
    _, alerts = _day_with(random.Random(10), [f"AG{i}" for i in range(5)], scattered)
    assert alerts == []


def test_five_identifiers_that_find_nobody_in_a_quarter_hour_are_probing_from_the_first() -> None:
    """Five unknown identifiers three minutes apart alert at the fifth, with the evidence starting at the first."""
    start = dt.datetime.combine(working_days(25)[-1], dt.time(9, 30), LOCAL)
    probes = [
        Access(start + dt.timedelta(minutes=3 * i), "CNAS-16-001", "AG2", "birth-certificate", "family-allowance",
               "not-found", f"q{i}")
        for i in range(5)
    ]  # fmt: skip
    _, alerts = _day_with(random.Random(11), [f"AG{i}" for i in range(5)], probes)
    assert [(a.agent, a.kind) for a in alerts] == [("AG2", "probing")]
    assert alerts[0].raised_at == start + dt.timedelta(minutes=12)
    assert alerts[0].since == start
    assert alerts[0].reason.startswith("5 identifiers that found nobody in 30 min")


def test_one_citizen_looked_up_four_times_in_a_day_is_alerted_at_the_fourth() -> None:
    """The same citizen's birth certificate obtained four times in a morning alerts once, at the fourth lookup."""
    start = dt.datetime.combine(working_days(25)[-1], dt.time(9), LOCAL)
    again = [
        Access(start + dt.timedelta(minutes=40 * i), "CNAS-16-001", "AG4", "birth-certificate", "family-allowance",
               "issued", "same-person")
        for i in range(6)
    ]  # fmt: skip
    _, alerts = _day_with(random.Random(12), [f"AG{i}" for i in range(5)], again)
    assert [(a.agent, a.kind) for a in alerts] == [("AG4", "repeated_subject")]
    assert alerts[0].raised_at == start + dt.timedelta(minutes=120)
