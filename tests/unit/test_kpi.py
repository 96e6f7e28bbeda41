"""The KPI arithmetic: latency buckets, percentiles, SLA verdicts, wilayas."""

from __future__ import annotations

from gateway.kpi import BUCKET_BOUNDS_MS, Summary, bucket_bound, bucket_of, total, wilaya_of, within_sla
from gateway.records import KpiCount


def counts(*pairs: tuple[float, int]) -> Summary:
    summary = Summary("x")
    for ms, n in pairs:
        summary.add(KpiCount("x", "issued", None, True, bucket_of(ms), n))
    return summary


def test_a_bucket_holds_values_up_to_its_bound() -> None:
    """5 ms is in the bucket bounded by 5; 5.01 in the next; beyond the last bound is unbounded."""
    assert bucket_bound(bucket_of(5)) == 5
    assert bucket_bound(bucket_of(5.01)) == 6
    assert bucket_bound(bucket_of(BUCKET_BOUNDS_MS[-1] + 1)) == float("inf")


def test_percentiles_are_the_bound_of_the_bucket_they_fall_in() -> None:
    """With 98 answers at 4 ms and 2 at 900 ms, p50 and p95 are 4 ms and p99 is 1000 ms."""
    summary = counts((4, 98), (900, 2))
    assert (summary.percentile(0.5), summary.percentile(0.95), summary.percentile(0.99)) == (4, 4, 1000)
    assert Summary("empty").percentile(0.5) is None


def test_sla_counts_failures_as_misses_and_leaves_refusals_out() -> None:
    """Late or failed answers miss the SLA; refusals and unknown types are not SLA-bound."""
    assert within_sla("issued", 4999, 5) is True
    assert within_sla("not-found", 5001, 5) is False
    assert within_sla("failed", 10, 5) is False
    assert within_sla("refused", 10, 5) is None
    assert within_sla("issued", 10, None) is None


def test_the_wilaya_is_read_from_the_agency_code() -> None:
    """CNAS-16-001 is in wilaya 16; a code outside the pattern has none."""
    assert wilaya_of("CNAS-16-001") == "16"
    assert wilaya_of("CASNOS-31-A2") == "31"
    assert wilaya_of("16-001") is None and wilaya_of(None) is None


def test_totals_add_every_count() -> None:
    """total() adds volumes, statuses and SLA counts of several summaries."""
    added = total([counts((4, 3)), counts((40, 2))])
    assert (added.volume, added.statuses["issued"], added.sla_percent) == (5, 5, 100.0)


def test_refusals_and_failures_have_their_causes_apart() -> None:
    """A refusal's problem counts as a refusal cause, a failure's as a failure cause, in totals too."""
    summary = Summary("x")
    summary.add(KpiCount("x", "refused", "signature_invalid", None, bucket_of(2), 5))
    summary.add(KpiCount("x", "failed", "provider_timeout", False, bucket_of(9000), 2))
    added = total([summary, summary])
    assert added.refusal_causes == {"signature_invalid": 10}
    assert added.failure_causes == {"provider_timeout": 4}
