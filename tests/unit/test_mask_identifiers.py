"""What operators read of a refusal's detail: identifiers masked, the rest kept."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.dashboard.explorer import summary
from gateway.logs import mask_identifiers
from gateway.store.search import AuditQuery


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("The value '109870123456789012' is not accepted", "The value '<identifier>' is not accepted"),
        ("NIF 000116001234567 unknown", "NIF <identifier> unknown"),
        ("RC 16/00-0123456B22 closed", "RC <identifier> closed"),
        ("IssuedAt is 900 s in the past; at most 300 s", "IssuedAt is 900 s in the past; at most 300 s"),
        ("JWS typ must be 'dz-exchange-request+jws'", "JWS typ must be 'dz-exchange-request+jws'"),
    ],
)
def test_identifiers_are_masked_and_nothing_else(text: str, masked: str) -> None:
    """Words with six or more digits in a row become <identifier>; times, counts and words stay."""
    assert mask_identifiers(text) == masked


def test_a_search_is_journaled_with_identifiers_typed_into_its_filters_masked() -> None:
    """An explorer search whose agent filter holds a NIN is journaled with the NIN masked, the rest kept."""
    query = AuditQuery(agent="109870123456789012", status="refused", since=dt.datetime(2026, 12, 4, 8, tzinfo=dt.UTC))
    assert summary(query) == "agent=<identifier> status=refused since=2026-12-04T08:00"
    assert summary(AuditQuery()) == "all"
