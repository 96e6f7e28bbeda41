"""Key performance indicators: what the dashboard and the periodic report show.

Each answered request adds one to a per-minute count in the store, keyed by provider,
document type, agency, wilaya, status, problem code, SLA verdict and latency bucket, in the
transaction that journals it. The counts are shared by every worker and carry no personal
data, so they are kept far longer than the remembered responses. Percentiles come from the
latency buckets, as with a Prometheus histogram: a percentile is reported as the upper
bound of the bucket it falls in ("at most").
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.protocol import Status
from gateway.records import KpiCount

#: Upper bounds of the latency buckets, in milliseconds; the last bucket is unbounded.
BUCKET_BOUNDS_MS = (
    1,
    2,
    3,
    4,
    5,
    6,
    8,
    10,
    12,
    15,
    20,
    25,
    30,
    40,
    50,
    60,
    80,
    100,
    120,
    150,
    200,
    250,
    300,
    400,
    500,
    600,
    800,
    1000,
    1200,
    1500,
    2000,
    2500,
    3000,
    4000,
    5000,
    6000,
    8000,
    10000,
    12000,
    15000,
    20000,
    30000,
    60000,
)
_WILAYA = re.compile(r"^[A-Z][A-Z0-9]{1,15}-([0-9]{2})-")


def bucket_of(ms: float) -> int:
    """The index of the latency bucket that holds `ms`."""
    return bisect.bisect_left(BUCKET_BOUNDS_MS, ms)


def bucket_bound(index: int) -> float:
    """The upper bound of a bucket in milliseconds (infinity for the last)."""
    return float(BUCKET_BOUNDS_MS[index]) if index < len(BUCKET_BOUNDS_MS) else float("inf")


def wilaya_of(agency: str | None) -> str | None:
    """The wilaya code of a requesting office (`CNAS-16-001` → `16`), docs/protocol.md §2."""
    match = _WILAYA.match(agency or "")
    return match.group(1) if match else None


def minute_of(at: dt.datetime) -> str:
    """The UTC minute a count belongs to, as the store keys it (`2026-11-29T06:41`)."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


@dataclass
class Summary:
    """The KPIs of one key (a provider, a type, an agency, a wilaya or a time slot) over a period."""

    key: str
    volume: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    #: The problems of refusals (the request was at fault) and of failures (the gateway or a
    #: provider was), apart.
    refusal_causes: Counter[str] = field(default_factory=Counter)
    failure_causes: Counter[str] = field(default_factory=Counter)
    within_sla: int = 0
    sla_bound: int = 0
    buckets: Counter[int] = field(default_factory=Counter)

    def add(self, row: KpiCount) -> None:
        self.volume += row.count
        self.statuses[row.status] += row.count
        if row.problem:
            self.problems[row.problem] += row.count
            if row.status == "refused":
                self.refusal_causes[row.problem] += row.count
            elif row.status == "failed":
                self.failure_causes[row.problem] += row.count
        if row.within_sla is not None:
            self.sla_bound += row.count
            self.within_sla += row.count if row.within_sla else 0
        self.buckets[row.bucket] += row.count

    def percentile(self, q: float) -> float | None:
        """The upper bound, in ms, of the bucket holding the q-th quantile; None without data."""
        if self.volume == 0:
            return None
        rank, seen = q * self.volume, 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return bucket_bound(index)
        return bucket_bound(max(self.buckets))

    @property
    def sla_percent(self) -> float | None:
        """The share of SLA-bound requests answered within their type's deadline, in percent."""
        return 100.0 * self.within_sla / self.sla_bound if self.sla_bound else None


def summarise(rows: Iterable[KpiCount]) -> dict[str, Summary]:
    """Folds store counts into one Summary per key, sorted by key (no key counts as `—`)."""
    summaries: dict[str, Summary] = {}
    for row in rows:
        key = row.key or "—"
        summaries.setdefault(key, Summary(key)).add(row)
    return dict(sorted(summaries.items()))


def total(summaries: Iterable[Summary], key: str = "*") -> Summary:
    """One Summary adding up several."""
    out = Summary(key)
    for summary in summaries:
        out.volume += summary.volume
        out.statuses.update(summary.statuses)
        out.problems.update(summary.problems)
        out.refusal_causes.update(summary.refusal_causes)
        out.failure_causes.update(summary.failure_causes)
        out.within_sla += summary.within_sla
        out.sla_bound += summary.sla_bound
        out.buckets.update(summary.buckets)
    return out


def within_sla(status: str, total_ms: float, sla_seconds: float | None) -> bool | None:
    """The SLA verdict of one answer: an issued or not-found answer within the deadline meets
    it; a failed one (provider down, timed out, deadline passed) misses it; a refusal is the
    requester's doing and is not SLA-bound, nor is a request of no known type."""
    if sla_seconds is None or status == Status.REFUSED:
        return None
    return status in (Status.ISSUED, Status.NOT_FOUND) and total_ms <= sla_seconds * 1000
