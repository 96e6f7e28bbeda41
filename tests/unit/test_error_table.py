"""The one table of problem codes (gateway/errors.py) matches docs/protocol.md §5: every code
exists, refusals map to the 4xx statuses the protocol lists, failures to 502/503/504, and only
failures and rate_limited are retryable."""

from __future__ import annotations

from gateway.errors import BY_CODE

PROTOCOL_CODES = {
    "too_large",
    "malformed",
    "unsupported_media_type",
    "signature_invalid",
    "certificate_untrusted",
    "certificate_expired",
    "certificate_revoked",
    "requester_mismatch",
    "schema_invalid",
    "stale_request",
    "unknown_document_type",
    "access_denied",
    "purpose_not_allowed",
    "rate_limited",
    "duplicate_conflict",
    "deadline_exceeded",
    "provider_unavailable",
    "provider_timeout",
    "provider_error",
    "internal_error",
}


def test_every_protocol_code_is_in_the_table() -> None:
    """Each problem code the protocol names has exactly one class, and the table adds none."""
    assert set(BY_CODE) == PROTOCOL_CODES


def test_status_http_and_retryable_follow_the_protocol() -> None:
    """Refused → 400/401/403/409/413/415/422/429; failed → 502/503/504; retryable only for failures and quota."""
    for code, error in BY_CODE.items():
        if error.status == "refused":
            assert error.http_status in {400, 401, 403, 409, 413, 415, 422, 429}, code
            assert error.retryable is (code == "rate_limited"), code
        else:
            assert error.status == "failed" and error.http_status in {502, 503, 504}, code
            assert error.retryable is True, code


def test_refinements_do_not_replace_their_parent_in_the_table() -> None:
    """provider_error and provider_unavailable name the base classes, not their retry refinements."""
    from gateway.errors import ProviderError, ProviderUnavailable

    assert BY_CODE["provider_error"] is ProviderError and BY_CODE["provider_unavailable"] is ProviderUnavailable
