"""Load forecasts: requests per wilaya and document type, per day, for the next 14 days, with
80 % and 95 % prediction intervals, so that capacity and staff are planned before a peak.

Each series is fitted with an exponential smoothing state space model (statsmodels'
`ETSModel`): additive errors, a damped additive trend, an additive weekly season (the
Algerian week: Friday off, Saturday light).

Public holidays are known in advance: those fixed by date (1 January, Yennayer on 12 January,
1 May, 5 July, 1 November) and those of the lunar calendar (Awal Muharram, Ashura, Mawlid
an-Nabawi, Eid al-Fitr's two days, Eid al-Adha's two days). In the history, a holiday counts
as the same weekday a week earlier; it is forecast at zero. The lunar dates come from the Umm
al-Qura calendar (`hijridate`, which covers 1343–1500 AH, 1924–2077): Algeria's official dates,
set by sighting the moon, can differ from them by a day, and a day outside that range has no
lunar holiday known (it is not an error).

Ramadan's shorter working hours lower the load by a factor: the ratio of a series' requests on
Ramadan's working days to the usual (median) of the same weekdays in the four weeks before,
learned from its own history when that holds at least 7 such days (bounded to 0.3–1.5);
otherwise 0.8, an assumption, not a measure. The history's Ramadan days are divided by the factor before the fit,
so that the season and level are not pulled down, and the forecast's Ramadan days (intervals
too) multiplied by it.

A series with less than four weeks of history, or too flat to fit, is forecast seasonal-naively
(the last week again), with intervals from the spread of its past week-on-week changes.
docs/foresight.md gives the choice of library, the measured accuracy against the seasonal-naive
forecast, and the limits.
"""

from __future__ import annotations

import datetime as dt
import functools
import statistics
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from hijridate import Gregorian

HORIZON = 14
HISTORY_DAYS = 120  # days of history a forecast is fitted on
MIN_HISTORY = 28
SEASON = 7
Z80, Z95 = 1.2816, 1.9600
FIXED_HOLIDAYS = ((1, 1), (1, 12), (5, 1), (7, 5), (11, 1))  # (month, day)
#: (Hijri month, day): Awal Muharram, Ashura, Mawlid an-Nabawi, Eid al-Fitr, Eid al-Adha.
LUNAR_HOLIDAYS = ((1, 1), (1, 10), (3, 12), (10, 1), (10, 2), (12, 10), (12, 11))
RAMADAN = 9  # the Hijri month
RAMADAN_DEFAULT = 0.8  # an assumption: Ramadan's load on a working day, for a series whose history has none
RAMADAN_BOUNDS = (0.3, 1.5)
MIN_RAMADAN_DAYS = 7  # working days of Ramadan in a history to learn its factor from


@functools.lru_cache(maxsize=4096)
def _hijri(day: dt.date) -> tuple[int, int] | None:
    """The Hijri (month, day) of a Gregorian date in the Umm al-Qura calendar; None out of its range."""
    try:
        hijri = Gregorian.fromdate(day).to_hijri()
    except (OverflowError, ValueError):
        return None
    return hijri.month, hijri.day


def holiday(day: dt.date) -> bool:
    """A public holiday: fixed by date, or of the lunar calendar (Umm al-Qura dates)."""
    return (day.month, day.day) in FIXED_HOLIDAYS or _hijri(day) in LUNAR_HOLIDAYS


def ramadan(day: dt.date) -> bool:
    """A day of Ramadan (Umm al-Qura dates)."""
    hijri = _hijri(day)
    return hijri is not None and hijri[0] == RAMADAN


def _working(day: dt.date) -> bool:
    return day.weekday() != 4 and not holiday(day)


def ramadan_factor(history: Sequence[float], start: dt.date) -> float:
    """Ramadan's load against the usual, from a history whose first value is `start`'s: the requests of its
    working days against the median of the same weekdays in the four weeks before that Ramadan, bounded to
    `RAMADAN_BOUNDS`; `RAMADAN_DEFAULT` when fewer than `MIN_RAMADAN_DAYS` such days (with a weekday to compare
    with) are known."""
    fasting = usual = 0.0
    compared = 0
    for i, value in enumerate(history):
        day = start + dt.timedelta(days=i)
        hijri = _hijri(day)
        if hijri is None or hijri[0] != RAMADAN or not _working(day):
            continue
        eve = i - (hijri[1] - 1)  # index of Ramadan's first day
        same = [
            history[j]
            for j in range(max(0, eve - 4 * SEASON), max(0, eve))
            if (i - j) % SEASON == 0 and _working(start + dt.timedelta(days=j))
        ]
        if same:
            fasting += value
            usual += statistics.median(same)
            compared += 1
    if compared < MIN_RAMADAN_DAYS or usual <= 0:
        return RAMADAN_DEFAULT
    low, high = RAMADAN_BOUNDS
    return min(high, max(low, fasting / usual))


@dataclass(frozen=True)
class Forecast:
    """One series' forecast: a value and two intervals per day, from `first_day` on."""

    wilaya: str
    document_type: str
    first_day: dt.date
    mean: tuple[float, ...]
    low80: tuple[float, ...]
    high80: tuple[float, ...]
    low95: tuple[float, ...]
    high95: tuple[float, ...]
    method: str  # "ets" or "seasonal-naive"
    naive: tuple[float, ...] = ()  # the seasonal-naive forecast of the same days, to compare with

    def days(self) -> list[dt.date]:
        return [self.first_day + dt.timedelta(days=i) for i in range(len(self.mean))]


def seasonal_naive(history: Sequence[float], horizon: int = HORIZON) -> list[float]:
    """The last week of `history`, repeated (what there is of it, when shorter; zeros for none)."""
    last = [float(v) for v in history[-SEASON:]] or [0.0]
    return [last[i % len(last)] for i in range(horizon)]


def _naive_intervals(history: Sequence[float], horizon: int) -> tuple[list[float], ...]:
    mean = seasonal_naive(history, horizon)
    changes = [history[i] - history[i - SEASON] for i in range(SEASON, len(history))]
    spread = statistics.pstdev(changes) if len(changes) >= 2 else max(1.0, statistics.fmean(mean[:SEASON]))
    return (
        mean,
        [max(0.0, m - Z80 * spread) for m in mean],
        [m + Z80 * spread for m in mean],
        [max(0.0, m - Z95 * spread) for m in mean],
        [m + Z95 * spread for m in mean],
    )


def _ets(history: Sequence[float], last_day: dt.date, horizon: int) -> tuple[list[float], ...]:
    import pandas as pd  # imported when a forecast is made: the workers that never make one do not load them
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    index = pd.date_range(end=pd.Timestamp(last_day), periods=len(history), freq="D")
    series = pd.Series([float(v) for v in history], index=index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes on short or flat series; the result is checked below
        fitted = ETSModel(
            series, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=SEASON
        ).fit(disp=False)
        prediction = fitted.get_prediction(start=len(series), end=len(series) + horizon - 1)
        p80, p95 = prediction.summary_frame(alpha=0.2), prediction.summary_frame(alpha=0.05)
    columns = (p80["mean"], p80["pi_lower"], p80["pi_upper"], p95["pi_lower"], p95["pi_upper"])
    out = tuple([max(0.0, float(v)) for v in column] for column in columns)
    if any(v != v or v == float("inf") for column in out for v in column):  # NaN or infinite: not usable
        raise ValueError("the fit gave no usable forecast")
    return out


def forecast(
    wilaya: str, document_type: str, history: Sequence[float], first_day: dt.date, horizon: int = HORIZON
) -> Forecast:
    """The forecast of one series whose last value is the day before `first_day`."""
    method = "ets"
    parts: tuple[list[float], ...]
    start = first_day - dt.timedelta(days=len(history))
    naive = tuple(float(v) for v in seasonal_naive(history, horizon))  # from the history as it was
    factor = ramadan_factor(history, start)
    # a past day of Ramadan: as if it had the usual load
    history = [v / factor if ramadan(start + dt.timedelta(days=i)) else float(v) for i, v in enumerate(history)]
    for i in range(SEASON, len(history)):  # a past holiday: as if it were the same weekday a week earlier
        if holiday(start + dt.timedelta(days=i)):
            history[i] = history[i - SEASON]
    try:
        if len(history) < MIN_HISTORY or max(history[-MIN_HISTORY:]) == min(history[-MIN_HISTORY:]):
            raise ValueError("too short or flat")
        parts = _ets(history, first_day - dt.timedelta(days=1), horizon)
    except (ValueError, ArithmeticError, IndexError):
        method, parts = "seasonal-naive", _naive_intervals(history, horizon)
    ahead = [first_day + dt.timedelta(days=i) for i in range(horizon)]
    scale = [0.0 if holiday(day) else factor if ramadan(day) else 1.0 for day in ahead]
    mean, low80, high80, low95, high95 = (tuple(round(v * scale[i], 2) for i, v in enumerate(part)) for part in parts)
    return Forecast(wilaya, document_type, first_day, mean, low80, high80, low95, high95, method, naive)


def daily_series(
    hourly: Iterable[tuple[str, str, str, int]], first_day: dt.date, days: int
) -> dict[tuple[str, str], list[float]]:
    """Requests per local day (Algeria, UTC+1) and (wilaya, document type), for the `days` days
    before `first_day`, from counts per UTC hour (`YYYY-MM-DDTHH`)."""
    start = first_day - dt.timedelta(days=days)
    series: dict[tuple[str, str], list[float]] = {}
    for hour, wilaya, document_type, count in hourly:
        at = dt.datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=dt.UTC) + dt.timedelta(hours=1)
        index = (at.date() - start).days
        if 0 <= index < days:
            series.setdefault((wilaya, document_type), [0.0] * days)[index] += count
    return series


def from_first_count(series: Mapping[tuple[str, str], Sequence[float]]) -> dict[tuple[str, str], list[float]]:
    """Each series from its first day with requests on (a series with none is left out): the days
    before a wilaya's first request of a type are not a load of zero to fit."""
    return {k: list(v[next(i for i, x in enumerate(v) if x) :]) for k, v in series.items() if any(v)}


#: One forecast day against what happened: actual, forecast, seasonal naive, 80 % and 95 % bounds.
Point = tuple[float, float, float, float, float, float, float]


def fared(points: Iterable[Point]) -> dict[str, float | None]:
    """How forecast days fared against what happened: their mean absolute error against the
    seasonal-naive forecast's (under 1: better), and how often the 80 % and 95 % intervals held
    the actual count."""
    errors = naive_errors = 0.0
    held80 = held95 = count = 0
    for value, mean, naive, low80, high80, low95, high95 in points:
        count += 1
        errors += abs(value - mean)
        naive_errors += abs(value - naive)
        held80 += low80 <= value <= high80
        held95 += low95 <= value <= high95
    return {
        "relative_mae": round(errors / naive_errors, 3) if naive_errors else None,
        "coverage_80": round(held80 / count, 3) if count else None,
        "coverage_95": round(held95 / count, 3) if count else None,
        "days_compared": float(count),
    }


def accuracy(made: Sequence[Forecast], actual: Mapping[tuple[str, str], Sequence[float]]) -> dict[str, float | None]:
    """`fared` for forecasts: `actual` gives each series' counts from the forecasts' first day on
    (a series absent from it had no request: zero), over as many days as it holds."""
    days = max((len(v) for v in actual.values()), default=0)
    return fared(
        (value, f.mean[i], f.naive[i], f.low80[i], f.high80[i], f.low95[i], f.high95[i])
        for f in made
        for i, value in enumerate(list(actual.get((f.wilaya, f.document_type), [0.0] * days))[: len(f.mean)])
    )


def forecast_all(
    series: Mapping[tuple[str, str], Sequence[float]], first_day: dt.date, horizon: int = HORIZON
) -> list[Forecast]:
    """A forecast per (wilaya, document type) series, each ending the day before `first_day`."""
    return [forecast(w, t, history, first_day, horizon) for (w, t), history in sorted(series.items())]
