"""SLA early warning: for each provider and for the request queue, an estimate of the time left
before the share of answers given within their deadline drops under its target (95 %).

- **Providers.** From the per-minute KPI counts of the last 30 minutes: each minute's SLA
  share (answers within their type's deadline among those that have one), and a straight
  line fitted through them by least squares. A share under the target over the last five
  minutes is a breach now; a falling line is followed to where it crosses the target.
- **The request queue, the bulk lane and the partners' queues.** From a queue's depth,
  sampled every 5 s over the last 10 minutes, and the rate at which its requests are
  answered (the last five minutes' counts: all of them for the request queue and the bulk
  lane, the partner's own for its queue): the wait of a request joining the queue is about
  depth ÷ rate. A bulk request is taken after the others, so the request queue's depth is
  added to the bulk lane's. When that wait already exceeds
  the shortest deadline concerned (of the catalogue, or of the partner's types) it is a
  breach now; when the depth grows, the line of its growth is followed to where the wait
  would exceed it.

An estimate is given only when the breach is foreseen within the next two hours and the line
is fitted on at least five points; otherwise there is no warning. It is a straight line:
it says when the present trend would break the SLA, not that it will.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.records import KpiCount

TARGET = 0.95
LOOK_BACK = dt.timedelta(minutes=30)
HORIZON_SECONDS = 2 * 3600
QUEUE_SAMPLES = 120  # 10 minutes of samples every 5 s
LEAST_POINTS = 5
LEAST_ANSWERS = 3  # SLA-bound answers in a minute for its share to count


@dataclass(frozen=True)
class Outlook:
    """A foreseen SLA breach: of what, in how long (0: now), and why in words."""

    subject: str  # a provider's code, or a queue's name
    kind: str  # "provider" or "queue"
    eta_seconds: float
    reason: str


def line(points: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """The least-squares line (slope, intercept) through (x, y) points; None with too few or one x."""
    if len(points) < LEAST_POINTS:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope, mean_y - slope * mean_x


def provider_outlooks(grid: Iterable[tuple[str, KpiCount]], now: dt.datetime, target: float = TARGET) -> list[Outlook]:
    """Foreseen breaches per provider, from (minute `YYYY-MM-DDTHH:MM`, count keyed by provider) rows."""
    within: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    bound: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    for minute, count in grid:
        if count.key and count.within_sla is not None:
            bound[count.key][minute] += count.count
            within[count.key][minute] += count.count if count.within_sla else 0
    out = []
    for provider, minutes in sorted(bound.items()):
        points = []
        for minute, answers in sorted(minutes.items()):
            if answers >= LEAST_ANSWERS:
                at = dt.datetime.strptime(minute, "%Y-%m-%dT%H:%M").replace(tzinfo=dt.UTC)
                points.append(((at - now).total_seconds(), within[provider][minute] / answers))
        recent = [share for x, share in points if x >= -300]
        if len(recent) >= 2 and statistics.fmean(recent) < target:
            share = statistics.fmean(recent)
            out.append(
                Outlook(provider, "provider", 0.0, f"{share:.0%} of answers within their deadline over the last 5 min")
            )
            continue
        fitted = line(points)
        if fitted is None or fitted[0] >= 0:
            continue
        slope, intercept = fitted
        eta = (target - intercept) / slope
        if 0 <= eta <= HORIZON_SECONDS:
            per_hour = -slope * 3600
            out.append(
                Outlook(
                    provider,
                    "provider",
                    round(eta),
                    f"the share within deadline falls {per_hour:.0%} an hour; it would cross {target:.0%} "
                    f"in {eta / 60:.0f} min",
                )
            )
    return out


def answered_per_second(grid: Iterable[tuple[str, KpiCount]], now: dt.datetime, provider: str | None = None) -> float:
    """Answers per second over the last five minutes, of one provider or of all."""
    recent = (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    return sum(c.count for minute, c in grid if minute >= recent and (provider is None or c.key == provider)) / 300


def queue_outlook(
    queue: str,
    samples: Sequence[tuple[float, int]],
    answered_per_second: float,
    deadline_seconds: float,
    now: float,
    ahead: int = 0,
) -> Outlook | None:
    """A foreseen breach for `queue`, from (monotonic time, depth) samples, the answering rate and the
    shortest deadline; None when none is foreseen. `ahead`: requests served before this queue's
    (the bulk lane waits behind the request queue)."""
    if not samples:
        return None
    depth = samples[-1][1] + ahead
    if depth and answered_per_second <= 0:
        return Outlook(queue, "queue", 0.0, f"{depth} requests waiting and none answered in the last 5 min")
    if answered_per_second <= 0:
        return None
    wait = depth / answered_per_second
    if wait > deadline_seconds:
        return Outlook(
            queue, "queue", 0.0, f"{depth} waiting at {answered_per_second:.1f}/s: about {wait:.0f} s before an answer"
        )
    fitted = line([(t - now, float(d)) for t, d in samples])
    if fitted is None or fitted[0] <= 0:
        return None
    growth = fitted[0]
    eta = (deadline_seconds * answered_per_second - depth) / growth
    if 0 <= eta <= HORIZON_SECONDS:
        return Outlook(
            queue,
            "queue",
            round(eta),
            f"{depth} waiting and growing {growth * 60:.0f} a minute at {answered_per_second:.1f} answers/s; the wait "
            f"would pass {deadline_seconds:g} s in {eta / 60:.0f} min",
        )
    return None


class QueueSamples:
    """The last 10 minutes of each queue's depth."""

    def __init__(self) -> None:
        self._samples: defaultdict[str, deque[tuple[float, int]]] = defaultdict(lambda: deque(maxlen=QUEUE_SAMPLES))

    def add(self, queue: str, at: float, depth: int) -> None:
        self._samples[queue].append((at, depth))

    def of(self, queue: str) -> list[tuple[float, int]]:
        return list(self._samples.get(queue, ()))
