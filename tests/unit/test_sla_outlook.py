"""SLA early warning: a provider whose share within deadline falls, or a queue that grows faster
than it drains, is given the time left before the 95 % target is broken; steady ones are not."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.insights.sla import answered_per_second, line, provider_outlooks, queue_outlook
from gateway.records import KpiCount

NOW = dt.datetime(2026, 12, 4, 10, 30, tzinfo=dt.UTC)


def grid(provider: str, shares: list[float], answers: int = 40) -> list[tuple[str, KpiCount]]:
    """A minute per share, the last one a minute ago: `answers` SLA-bound answers, that share within deadline."""
    rows = []
    for i, share in enumerate(shares):
        minute = (NOW - dt.timedelta(minutes=len(shares) - i)).strftime("%Y-%m-%dT%H:%M")
        within = round(answers * share)
        rows.append((minute, KpiCount(provider, "issued", None, True, 3, within)))
        rows.append((minute, KpiCount(provider, "issued", None, False, 9, answers - within)))
    return rows


def test_a_line_through_points_has_their_slope() -> None:
    """Least squares through points on y = 2x + 1 gives (2, 1); too few points give none."""
    fitted = line([(float(x), 2.0 * x + 1) for x in range(6)])
    assert fitted is not None and fitted == pytest.approx((2.0, 1.0))
    assert line([(0.0, 1.0), (1.0, 2.0)]) is None


def test_a_falling_share_is_given_the_time_before_it_crosses_the_target() -> None:
    """A share falling from 100 % by a quarter point a minute (96.75 % a minute ago) crosses 95 % in 6 minutes."""
    shares = [1.0 - 0.0025 * i for i in range(14)]
    [outlook] = provider_outlooks(grid("dz.finances.dgi", shares, answers=400), NOW)
    assert outlook.subject == "dz.finances.dgi" and outlook.kind == "provider"
    assert outlook.eta_seconds == pytest.approx(6 * 60, abs=15)
    assert "would cross 95%" in outlook.reason


def test_a_share_under_the_target_is_a_breach_now_and_a_steady_one_is_none() -> None:
    """Five minutes at 80 % is a breach now; a steady 99 % foresees nothing."""
    [now] = provider_outlooks(grid("dz.commerce.cnrc", [0.99] * 10 + [0.8] * 5), NOW)
    assert now.eta_seconds == 0 and "80%" in now.reason
    assert provider_outlooks(grid("dz.interieur.etat-civil", [0.99] * 15), NOW) == []


def test_a_queue_growing_faster_than_it_drains_is_given_the_time_before_the_wait_passes_the_deadline() -> None:
    """20 waiting and 60 more a minute at 10 answers/s: the 5 s deadline's 50 waiting are reached in 30 s."""
    samples = [(1000.0 + 5 * i, 20 - 5 * (11 - i)) for i in range(12)]  # up 5 every 5 s, 20 now
    outlook = queue_outlook("gateway.requests", samples, 10.0, 5.0, now=1055.0)
    assert outlook is not None and outlook.kind == "queue"
    assert outlook.eta_seconds == pytest.approx(30, abs=1)


def test_a_queue_nobody_drains_is_a_breach_now_and_a_short_steady_one_is_none() -> None:
    """Requests waiting with none answered is a breach now; a steady, short queue foresees nothing."""
    stuck = queue_outlook("gateway.requests", [(0.0, 12), (5.0, 12)], 0.0, 5.0, now=5.0)
    assert stuck is not None and stuck.eta_seconds == 0
    steady = [(5.0 * i, 3) for i in range(12)]
    assert queue_outlook("gateway.requests", steady, 10.0, 5.0, now=55.0) is None


def test_the_answering_rate_is_of_the_last_five_minutes_for_one_provider_or_all() -> None:
    """600 answers of one provider and 300 of another in the last five minutes: 2/s, 1/s, 3/s in all; older
    minutes do not count."""
    rows = grid("dz.finances.dgi", [1.0] * 5, answers=120) + grid("dz.commerce.cnrc", [1.0] * 5, answers=60)
    rows += [
        (
            (NOW - dt.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M"),
            KpiCount("dz.finances.dgi", "issued", None, True, 3, 999),
        )
    ]
    assert answered_per_second(rows, NOW, "dz.finances.dgi") == pytest.approx(2.0)
    assert answered_per_second(rows, NOW, "dz.commerce.cnrc") == pytest.approx(1.0)
    assert answered_per_second(rows, NOW) == pytest.approx(3.0)


def test_the_bulk_lane_counts_the_requests_served_before_it() -> None:
    """Ten bulk requests behind 60 in the request queue at 10 answers/s wait 7 s: a breach of 5 s now."""
    steady = [(5.0 * i, 10) for i in range(12)]
    assert queue_outlook("gateway.lane.bulk", steady, 10.0, 5.0, now=55.0) is None
    behind = queue_outlook("gateway.lane.bulk", steady, 10.0, 5.0, now=55.0, ahead=60)
    assert behind is not None and behind.eta_seconds == 0 and "70 waiting" in behind.reason
