"""The foresight benchmark itself: planted misuse is found, and ordinary work is left alone."""

from __future__ import annotations

from benchmarks.foresight import RAMADAN_DAYS, RAMADAN_ORIGINS, evaluate, evaluate_forecasts
from benchmarks.loads import Loads
from benchmarks.traffic import KINDS, Traffic


def test_planted_misuse_is_found_and_ordinary_days_raise_few_alerts() -> None:
    """On 50 days of synthetic traffic (seed 5), each kind's precision and recall reach 0.9, with at most one
    false alert per 10,000 agent-days."""
    report = evaluate(Traffic(seed=5, days=50, cases_per_kind=12))
    assert report["agent_days"] > 10_000
    for kind in KINDS:
        figures = report["kinds"][kind]
        assert figures["planted"] == 12
        assert figures["precision"] >= 0.9 and figures["recall"] >= 0.9, (kind, figures)
    assert report["false_per_10k_agent_days"] <= 1.0, report["false_examples"]


def test_the_traffic_is_the_same_for_the_same_seed() -> None:
    """Two generators with one seed plant the same cases and make the same lookups."""
    first, second = Traffic(seed=11, days=25, cases_per_kind=2), Traffic(seed=11, days=25, cases_per_kind=2)
    assert first.cases == second.cases
    assert list(first.accesses())[:500] == list(second.accesses())[:500]


def test_forecasts_beat_the_seasonal_naive_forecast_with_intervals_that_hold() -> None:
    """On 30 synthetic series (seed 5), the forecasts' error is under 0.9 of the seasonal-naive forecast's, and
    the 80 % and 95 % intervals hold about that share of what happened."""
    report = evaluate_forecasts(Loads(seed=5), origins=(92,), series=30)
    assert report["relative_mae"] < 0.9
    assert report["relative_mae_without_holidays"] < 0.9
    assert 0.7 <= report["coverage_80"] <= 0.95 and 0.88 <= report["coverage_95"] <= 1.0


def test_forecasts_over_ramadan_and_eid_al_fitr_beat_the_seasonal_naive_forecast() -> None:
    """On 30 synthetic series (seed 5) whose Ramadan 1448 is at 0.75 of their load, forecasts made a week before
    it, in its middle and on its last day (over Eid al-Fitr) have an error under 0.9 of the seasonal-naive
    forecast's, on Eid's days and without them."""
    report = evaluate_forecasts(Loads(seed=5, days=RAMADAN_DAYS), origins=RAMADAN_ORIGINS, series=30)
    assert report["origins"] == ["2027-02-01", "2027-02-22", "2027-03-08"]
    assert report["relative_mae"] < 0.9 and report["relative_mae_without_holidays"] < 0.9
