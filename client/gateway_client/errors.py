"""What the client raises. Every answer the gateway seals comes back as a result (see
`results`); these are the cases where there is no answer a caller may rely on."""

from __future__ import annotations


class ClientError(Exception):
    """Base of everything the client raises."""


class InvalidRequest(ClientError, ValueError):
    """The request cannot be built: a malformed subject, an unknown form, a deadline in the past."""


class SealError(ClientError):
    """An answer whose seal, certificate chain or sealer does not check out against the exchange's
    CA, or that answers another request. Nothing in it may be relied on."""


class TransportError(ClientError):
    """No sealed answer arrived in time: the gateway or the broker could not be reached, or
    answered with something other than a sealed response (e.g. a proxy's error page)."""


class PrintRefused(ClientError):
    """The gateway would not print the attestation: `code` is its problem code (an attestation
    obtained by another participant, a revoked one, a request replayed …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
