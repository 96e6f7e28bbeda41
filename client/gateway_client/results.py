"""What a request comes back as, once its seal checked out: an attestation, a sealed
not-found, a refusal or a failure. Each keeps the sealed document exactly as it arrived, the
proof to file or to show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from gateway_client.errors import SealError


def parse_instant(value: str) -> dt.datetime:
    """An instant as the protocol writes it (`2026-12-03T22:15:27Z`)."""
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True, kw_only=True)
class Answer:
    """The part every sealed answer has."""

    request_id: str
    response_id: str
    status: str
    issued_at: dt.datetime
    #: The sealed document, byte for byte as received: XML or a compact JWS.
    sealed: bytes = field(repr=False)

    @property
    def ok(self) -> bool:
        """An attestation or a sealed not-found: a real answer from the administration."""
        return self.status in ("issued", "not-found")


@dataclass(frozen=True, kw_only=True)
class Attestation(Answer):
    """`issued`: the electronic attestation that replaces the paper document. `data` holds the
    fields that the purpose releases, keyed in camelCase (in an XML answer every value is text,
    booleans aside)."""

    attestation_id: str
    document_type: str
    provider: str
    requester: str
    purpose: str
    subject: Mapping[str, str]
    obtained_at: dt.datetime
    valid_until: dt.datetime
    verification_url: str
    data: Mapping[str, Any]
    visible_seal: str | None = None  # the QR code's text, with `issued` (`Client.pdf` prints it)


@dataclass(frozen=True, kw_only=True)
class NotFound(Attestation):
    """`not-found`: the administration holds no record. Sealed, it is a certificate of absence."""


@dataclass(frozen=True, kw_only=True)
class Problem:
    """Why a request was refused or failed (docs/protocol.md, problem codes)."""

    code: str
    retryable: bool
    message_fr: str
    message_ar: str
    retry_after: int | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message_fr}"


@dataclass(frozen=True, kw_only=True)
class Refused(Answer):
    """`refused`: the gateway did not ask the administration (a check failed)."""

    problem: Problem


@dataclass(frozen=True, kw_only=True)
class Failed(Answer):
    """`failed`: the administration could not be asked in time, or answered badly."""

    problem: Problem


@dataclass(frozen=True, kw_only=True)
class AttestationStatus:
    """An attestation's state as the gateway sees it now: `valid`, `expired`, `revoked`, or `superseded` by a
    correction of the record it came from, with `superseded_by` the attestation issued since in its place
    (None until one is)."""

    attestation_id: str
    state: str
    document_type: str
    provider: str
    issued_at: dt.datetime
    valid_until: dt.datetime
    sha256: str
    superseded_by: str | None = None


Result = Union[Attestation, NotFound, Refused, Failed]  # noqa: UP007 - a runtime alias, read on Python 3.10 too


def result_of(fields: Mapping[str, Any], sealed: bytes) -> Result:
    """The typed result of an answer's sealed fields; `SealError` if they are not a response."""
    try:
        common: dict[str, Any] = {
            "request_id": str(fields["inReplyTo"]),
            "response_id": str(fields["responseId"]),
            "status": str(fields["status"]),
            "issued_at": parse_instant(str(fields["issuedAt"])),
            "sealed": sealed,
        }
        status = common["status"]
        if status in ("issued", "not-found"):
            a = fields["attestation"]
            kind = Attestation if status == "issued" else NotFound
            return kind(
                **common,
                attestation_id=str(a["attestationId"]),
                document_type=str(a["documentType"]),
                provider=str(a["provider"]),
                requester=str(a["requester"]),
                purpose=str(a["purpose"]),
                subject=dict(a["subject"]),
                obtained_at=parse_instant(str(a["obtainedAt"])),
                valid_until=parse_instant(str(a["validUntil"])),
                verification_url=str(a["verificationUrl"]),
                data=dict(a.get("data") or {}),
                visible_seal=str(a["visibleSeal"]) if a.get("visibleSeal") else None,
            )
        if status in ("refused", "failed"):
            p = fields["problem"]
            problem = Problem(
                code=str(p["code"]),
                retryable=bool(p["retryable"]),
                message_fr=str(p["message"]["fr"]),
                message_ar=str(p["message"]["ar"]),
                retry_after=int(p["retryAfter"]) if p.get("retryAfter") is not None else None,
            )
            return (Refused if status == "refused" else Failed)(**common, problem=problem)
    except (KeyError, TypeError, ValueError) as exc:
        raise SealError(f"the sealed document is not a response: {exc!r}") from None
    raise SealError(f"the sealed document has an unknown status {status!r}")
