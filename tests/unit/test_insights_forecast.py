"""Load forecasts: the daily series read from hourly counts in local days, the forecast's intervals
and holidays, its accuracy against what happened, and `gateway insights forecast` on a store."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import config as config_module
from gateway.insights.forecast import (
    RAMADAN_DEFAULT,
    accuracy,
    daily_series,
    forecast,
    from_first_count,
    holiday,
    ramadan,
    ramadan_factor,
)
from gateway.insights.misuse import LOCAL
from gateway.store import open_store


def weekly(rng: random.Random, days: int, first: dt.date, level: float = 60.0) -> list[float]:
    """An Algerian week of counts around `level`: Friday off, Saturday light."""
    out = []
    for i in range(days):
        weekday = (first + dt.timedelta(days=i)).weekday()
        factor = 0.0 if weekday == 4 else 0.3 if weekday == 5 else 1.0
        out.append(float(max(0, round(rng.gauss(level * factor, (level * factor) ** 0.5)))) if factor else 0.0)
    return out


def test_hours_are_counted_in_local_days() -> None:
    """23:30 UTC belongs to the next local day (UTC+1); counts of one day and series add up."""
    first = dt.date(2026, 12, 4)
    hourly = [("2026-12-02T23", "16", "birth-certificate", 5), ("2026-12-03T10", "16", "birth-certificate", 7)]
    series = daily_series(hourly, first, 3)
    assert series == {("16", "birth-certificate"): [0.0, 0.0, 12.0]}


def test_a_forecast_follows_the_week_and_its_intervals_hold_the_mean() -> None:
    """Fitted on ten weeks, Fridays are forecast near zero and workdays near the level; intervals nest."""
    rng = random.Random(3)
    first = dt.date(2026, 12, 6)  # a Sunday
    history = weekly(rng, 70, first - dt.timedelta(days=70))
    made = forecast("16", "birth-certificate", history, first)
    assert made.method == "ets" and len(made.mean) == 14
    friday = next(i for i, d in enumerate(made.days()) if d.weekday() == 4)
    sunday = 0
    assert made.mean[friday] < 10 and 45 < made.mean[sunday] < 75
    for i in range(14):
        assert made.low95[i] <= made.low80[i] <= made.mean[i] <= made.high80[i] <= made.high95[i]


def test_a_fixed_holiday_is_forecast_at_zero_and_short_series_go_seasonal_naive() -> None:
    """1 November is forecast at zero; a series of two weeks is forecast as its last week again."""
    rng = random.Random(4)
    first = dt.date(2026, 10, 25)
    made = forecast("31", "family-record", weekly(rng, 70, first - dt.timedelta(days=70)), first)
    assert made.mean[made.days().index(dt.date(2026, 11, 1))] == 0.0
    short = weekly(rng, 14, first - dt.timedelta(days=14))
    naive = forecast("31", "family-record", short, first)
    assert naive.method == "seasonal-naive" and list(naive.mean[:7]) == short[-7:]


def test_accuracy_compares_with_the_seasonal_naive_forecast() -> None:
    """A forecast equal to what happened has no error, and every actual value within its intervals."""
    rng = random.Random(5)
    first = dt.date(2026, 12, 6)
    made = forecast("16", "birth-certificate", weekly(rng, 70, first - dt.timedelta(days=70)), first)
    fared = accuracy([made], {("16", "birth-certificate"): list(made.mean)})
    assert (fared["relative_mae"], fared["coverage_80"], fared["coverage_95"]) == (0.0, 1.0, 1.0)


def test_the_command_forecasts_the_store_s_series_and_says_how_the_last_forecast_fared(tmp_path: Path) -> None:
    """`gateway insights forecast --json` on a store with 70 days of counts: 14 days for the series, and the
    forecast made 14 days ago compared over 14 days."""
    config = config_module.load()
    store = open_store(config, tmp_path)
    asyncio.run(store.open())
    asyncio.run(store.close())
    today = dt.datetime.now(LOCAL).date()
    counts = weekly(random.Random(6), 70, today - dt.timedelta(days=70))
    db = sqlite3.connect(tmp_path / config.settings.store_path)
    with db:
        for i, n in enumerate(counts):
            if n:
                noon = dt.datetime.combine(today - dt.timedelta(days=70 - i), dt.time(12), LOCAL).astimezone(dt.UTC)
                db.execute(
                    "INSERT INTO kpi VALUES (?, 'dz.interieur.etat-civil', 'birth-certificate', 'CNAS-16-001', '16', "
                    "'issued', '', 1, 3, ?)",
                    (noon.strftime("%Y-%m-%dT%H:%M"), int(n)),
                )
    db.close()
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "insights", "forecast", "--home", str(tmp_path), "--json", "--history", "70"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [series] = report["forecasts"]
    assert (series["wilaya"], series["document_type"], len(series["mean"])) == ("16", "birth-certificate", 14)
    assert report["made_14_days_ago"]["days_compared"] == 14
    assert report["made_14_days_ago"]["relative_mae"] is not None


def test_series_start_at_their_first_request_and_days_without_any_count_as_zero() -> None:
    """Leading days without requests are dropped and empty series left out; a forecast series absent from what
    happened counts as zero requests, not as a series skipped."""
    assert from_first_count({("16", "a"): [0, 0, 3, 0, 4], ("31", "b"): [0, 0]}) == {("16", "a"): [3.0, 0.0, 4.0]}
    rng = random.Random(7)
    first = dt.date(2026, 12, 6)
    made = forecast("16", "birth-certificate", weekly(rng, 70, first - dt.timedelta(days=70)), first)
    fared = accuracy([made], {("31", "family-record"): [0.0] * 14})
    assert fared["days_compared"] == 14 and fared["coverage_95"] is not None and fared["coverage_95"] < 1


def test_a_series_of_a_few_days_is_forecast_from_what_there_is() -> None:
    """Three days of history give a seasonal-naive forecast that repeats them; none gives zeros."""
    short = forecast("16", "death-record", [2.0, 4.0, 3.0], dt.date(2026, 12, 6))
    assert short.method == "seasonal-naive" and list(short.mean[:6]) == [2.0, 4.0, 3.0, 2.0, 4.0, 3.0]
    assert set(forecast("16", "death-record", [], dt.date(2026, 12, 6)).mean) == {0.0}


def fasting(history: list[float], first: dt.date, factor: float) -> list[float]:
    """`history` (whose first value is `first`'s) with its days of Ramadan at `factor` of their load."""
    return [round(v * factor) if ramadan(first + dt.timedelta(days=i)) else v for i, v in enumerate(history)]


def test_the_lunar_holidays_are_known_on_their_umm_al_qura_dates() -> None:
    """Mawlid 1448 (25 August 2026), Eid al-Fitr 1448 (9 and 10 March 2027) and Eid al-Adha 1448 (16 and 17 May
    2027) are holidays; the days around them and the last day of Ramadan (8 March 2027) are not."""
    days = [dt.date(2026, 8, 25), dt.date(2027, 3, 9), dt.date(2027, 3, 10), dt.date(2027, 5, 16), dt.date(2027, 5, 17)]
    assert all(holiday(day) for day in days)
    assert not any(holiday(day) for day in (dt.date(2026, 8, 26), dt.date(2027, 3, 8), dt.date(2027, 3, 11)))
    assert ramadan(dt.date(2027, 2, 8)) and ramadan(dt.date(2027, 3, 8))
    assert not ramadan(dt.date(2027, 2, 7)) and not ramadan(dt.date(2027, 3, 9))


def test_a_date_out_of_the_lunar_calendar_s_range_has_only_its_fixed_holidays() -> None:
    """Out of the Umm al-Qura range (1924–2077), no day is a lunar holiday or in Ramadan, nothing raises, the
    holidays fixed by date are still known, and a forecast there is made."""
    for day in (dt.date(1, 6, 2), dt.date(1900, 3, 1), dt.date(2100, 3, 9), dt.date.max):
        assert not holiday(day) and not ramadan(day)
    assert holiday(dt.date(2100, 11, 1)) and holiday(dt.date(1900, 1, 1))
    first = dt.date(2100, 3, 7)
    made = forecast("16", "birth-certificate", weekly(random.Random(8), 70, first - dt.timedelta(days=70)), first)
    assert made.method == "ets" and max(made.mean) > 0


def test_a_series_with_ramadan_in_its_history_forecasts_the_rest_of_it_by_the_factor_it_learned() -> None:
    """Three weeks into Ramadan 1448 of a series at 0.6 of its load (200 on a Sunday), the factor learned is about
    0.6, the Sunday after Ramadan is forecast back at the usual load and the last Sunday of Ramadan at about 0.6
    of it, and both days of Eid al-Fitr at zero."""
    rng = random.Random(9)
    first = dt.date(2027, 3, 1)
    start = first - dt.timedelta(days=120)
    history = fasting(weekly(rng, 120, start, level=200.0), start, 0.6)
    assert abs(ramadan_factor(history, start) - 0.6) < 0.05
    made = forecast("16", "birth-certificate", history, first)
    mean = dict(zip(made.days(), made.mean, strict=True))
    assert 170 < mean[dt.date(2027, 3, 14)] < 230
    assert abs(mean[dt.date(2027, 3, 7)] / mean[dt.date(2027, 3, 14)] - 0.6) < 0.1
    assert mean[dt.date(2027, 3, 9)] == mean[dt.date(2027, 3, 10)] == 0.0 < mean[dt.date(2027, 3, 11)]
    sunday = made.days().index(dt.date(2027, 3, 7))
    assert made.low95[sunday] <= made.low80[sunday] <= made.mean[sunday] <= made.high80[sunday] <= made.high95[sunday]


def test_a_series_without_ramadan_in_its_history_forecasts_it_by_the_default_factor() -> None:
    """A week before Ramadan 1448, a series knows nothing of it: its first Monday is forecast at the default
    factor of the Monday before."""
    rng = random.Random(10)
    first = dt.date(2027, 2, 1)  # a Monday, Ramadan from Monday 8 February
    history = weekly(rng, 120, first - dt.timedelta(days=120), level=200.0)
    assert ramadan_factor(history, first - dt.timedelta(days=120)) == RAMADAN_DEFAULT
    made = forecast("16", "family-record", history, first)
    assert made.mean[7] / made.mean[0] == pytest.approx(RAMADAN_DEFAULT, abs=0.05)


def test_a_forecast_over_eid_al_adha_forecasts_zero_on_its_two_days() -> None:
    """16 and 17 May 2027 (Eid al-Adha 1448, a Sunday and a Monday) are forecast at zero, their intervals too,
    and the working days around them are not."""
    first = dt.date(2027, 5, 10)
    made = forecast("31", "family-record", weekly(random.Random(11), 70, first - dt.timedelta(days=70)), first)
    days = made.days()
    for eid in (dt.date(2027, 5, 16), dt.date(2027, 5, 17)):
        i = days.index(eid)
        assert made.mean[i] == made.high95[i] == 0.0
    assert made.mean[days.index(dt.date(2027, 5, 18))] > 30 and made.mean[days.index(dt.date(2027, 5, 11))] > 30
