"""One exception tree with stable problem codes (docs/protocol.md §5).

Every failure that reaches a client is a `GatewayError`. Each class carries a stable
`code`, whether it is `retryable`, the response `status` it produces (`refused` or
`failed`) and its HTTP status. Third-party errors are translated into these at the edge
of the module that calls the library, and never leak further.
"""

from __future__ import annotations

from typing import ClassVar

from gateway.protocol import Status


class GatewayError(Exception):
    """Base of every error that becomes a sealed refusal or failure."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[Status] = Status.FAILED
    http_status: ClassVar[int] = 503
    retryable: ClassVar[bool] = True

    def __init__(self, detail: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code
        self.retry_after = retry_after


class Refused(GatewayError):
    """The request is at fault: answered `refused`, not retryable unless stated."""

    status = Status.REFUSED
    retryable = False
    http_status = 400


class Failed(GatewayError):
    """The gateway or a provider is at fault: answered `failed`, retryable."""

    status = Status.FAILED
    retryable = True


# ---------------------------------------------------------------- check 1: size and form
class TooLarge(Refused):
    code = "too_large"
    http_status = 413


class Malformed(Refused):
    code = "malformed"
    http_status = 400


class UnsupportedMediaType(Refused):
    code = "unsupported_media_type"
    http_status = 415


# ---------------------------------------------------------------- check 2: signature
class SignatureInvalid(Refused):
    code = "signature_invalid"
    http_status = 401


class CertificateUntrusted(Refused):
    code = "certificate_untrusted"
    http_status = 401


class CertificateExpired(Refused):
    code = "certificate_expired"
    http_status = 401


class CertificateRevoked(Refused):
    code = "certificate_revoked"
    http_status = 401


# ---------------------------------------------------------------- checks 3 to 8
class RequesterMismatch(Refused):
    code = "requester_mismatch"
    http_status = 403


class SchemaInvalid(Refused):
    code = "schema_invalid"
    http_status = 422


class StaleRequest(Refused):
    code = "stale_request"
    http_status = 422


class UnknownDocumentType(Refused):
    code = "unknown_document_type"
    http_status = 422


class AccessDenied(Refused):
    code = "access_denied"
    http_status = 403


class PurposeNotAllowed(Refused):
    code = "purpose_not_allowed"
    http_status = 403


class RateLimited(Refused):
    code = "rate_limited"
    http_status = 429
    retryable = True


class DuplicateConflict(Refused):
    code = "duplicate_conflict"
    http_status = 409


# ---------------------------------------------------------------- failures
class DeadlineExceeded(Failed):
    code = "deadline_exceeded"
    http_status = 504


class ProviderUnavailable(Failed):
    code = "provider_unavailable"
    http_status = 503


class BrokerLinkDown(ProviderUnavailable):
    """The gateway's own link to the broker is down, so a provider on the bus cannot be asked.

    Its problem code stays `provider_unavailable`, but it says nothing about the provider's
    health: circuit breakers do not count it.
    """


class ProviderTimeout(Failed):
    code = "provider_timeout"
    http_status = 504


class ProviderError(Failed):
    code = "provider_error"
    http_status = 502


class TransientProviderError(ProviderError):
    """The provider failed in a way worth retrying: HTTP 502/503/504, or a connection cut mid-answer.

    Its problem code stays `provider_error`.
    """


class InternalError(Failed):
    code = "internal_error"
    http_status = 503


def _all_subclasses(cls: type[GatewayError]) -> list[type[GatewayError]]:
    out: list[type[GatewayError]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


#: The one table: problem code -> error class (and so HTTP status and retryability). A
#: refinement that keeps its parent's code (TransientProviderError, BrokerLinkDown) does not
#: replace the parent here.
BY_CODE: dict[str, type[GatewayError]] = {}
for _cls in _all_subclasses(GatewayError):
    if _cls not in (Refused, Failed):
        BY_CODE.setdefault(_cls.code, _cls)
