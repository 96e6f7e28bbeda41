"""Stage 6, attest: the response document, minimised by purpose, rendered and sealed.

A response is built once as a plain mapping in the JSON form's camelCase, then rendered
either as XML (`DocumentResponse`, PascalCase elements) or as a JSON payload, and sealed.
The two encodings therefore carry the same fields (docs/protocol.md §6).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from gateway.adapters.base import ProviderAnswer
from gateway.errors import GatewayError
from gateway.ids import random_uuid
from gateway.protocol import NS, SUBJECT_KEYS, Kind, Status, instant
from gateway.records import AttestationRecord
from gateway.signing import canonical
from gateway.signing.seal import Sealer
from gateway.signing.visible_seal import Claims, printed_fields
from gateway.texts.problems import message

#: The element name of one item of each list field of Data.
ITEM_NAMES = {"spouses": "Spouse", "children": "Child", "activityCodes": "ActivityCode"}


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def minimise(data: Mapping[str, Any], released: Sequence[str]) -> dict[str, Any]:
    """Only the fields the purpose releases, in the catalogue's order."""
    return {f: data[f] for f in released if f in data and data[f] is not None}


@dataclass(frozen=True)
class AttestationFacts:
    """What the attest stage knows about a request that reached a provider."""

    request_id: str
    document_type: str
    provider: str
    requester: str
    purpose: str
    subject_kind: str
    subject_id: str
    validity_days: int


@dataclass(frozen=True)
class Sealed:
    body: bytes
    status: str
    response_id: str
    attestation: AttestationRecord | None


class Attester:
    """Builds and seals responses for one gateway."""

    def __init__(self, sealer: Sealer, public_url: str) -> None:
        self._sealer = sealer
        self._public_url = public_url.rstrip("/")

    def answer(self, kind: Kind, facts: AttestationFacts, answer: ProviderAnswer, released: Sequence[str]) -> Sealed:
        """An `issued` or `not-found` response, with its attestation."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        attestation_id = random_uuid()
        valid_until = now + dt.timedelta(days=facts.validity_days)
        status = Status.ISSUED if answer.found else Status.NOT_FOUND
        doc = self._head(facts.request_id, status, now)
        doc["attestation"] = {
            "attestationId": attestation_id,
            "documentType": facts.document_type,
            "provider": facts.provider,
            "requester": facts.requester,
            "purpose": facts.purpose,
            "subject": {SUBJECT_KEYS[facts.subject_kind]: facts.subject_id},
            "obtainedAt": instant(answer.obtained_at),
            "validUntil": instant(valid_until),
            "verificationUrl": f"{self._public_url}/v1/attestations/{attestation_id}",
            "data": minimise(answer.data, released) if answer.found else {},
        }
        if answer.found:
            doc["attestation"]["visibleSeal"] = self._sealer.visible_seal(
                Claims(
                    attestation_id,
                    self._sealer.visible.issuer,
                    now,
                    valid_until,
                    facts.document_type,
                    facts.provider,
                    facts.requester,
                    facts.purpose,
                    printed_fields(facts.document_type, doc["attestation"]["data"]),
                )
            )
        body = self._seal(kind, doc)
        record = AttestationRecord(
            attestation_id=attestation_id,
            request_id=facts.request_id,
            document_type=facts.document_type,
            provider=facts.provider,
            status=status,
            issued_at=now,
            valid_until=valid_until,
            sha256=hashlib.sha256(body).hexdigest(),
        )
        return Sealed(body, status, doc["responseId"], record)

    def problem(self, kind: Kind, request_id: str, error: GatewayError) -> Sealed:
        """A sealed `refused` or `failed` response."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        doc = self._head(request_id, error.status, now)
        fr, ar = message(error.code)
        problem: dict[str, Any] = {"code": error.code, "retryable": error.retryable}
        if error.retry_after is not None:
            problem["retryAfter"] = error.retry_after
        problem["message"] = {"fr": f"{fr} ({error.detail})", "ar": ar}
        doc["problem"] = problem
        return Sealed(self._seal(kind, doc), error.status, doc["responseId"], None)

    @staticmethod
    def _head(request_id: str, status: str, now: dt.datetime) -> dict[str, Any]:
        return {"responseId": random_uuid(), "inReplyTo": request_id, "status": status, "issuedAt": instant(now)}

    def _seal(self, kind: Kind, doc: Mapping[str, Any]) -> bytes:
        if kind == "jose":
            return self._sealer.seal_json(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode())
        return self._sealer.seal_xml(to_canonical_xml(doc), {None: NS})


def to_canonical_xml(doc: Mapping[str, Any]) -> str:
    """The XML form of a response mapping, written in canonical form (C14N 1.0): the seal's
    digest of the document is the hash of this very text."""
    out = [f'<DocumentResponse xmlns="{NS}">']
    for key in ("responseId", "inReplyTo", "status", "issuedAt"):
        _element(out, pascal(key), str(doc[key]))
    if "attestation" in doc:
        out.append("<Attestation>")
        for key, value in doc["attestation"].items():
            if key == "subject":
                out.append("<Subject>")
                for sub_key, sub_value in value.items():
                    _element(out, sub_key.upper(), str(sub_value))
                out.append("</Subject>")
            elif key == "data":
                out.append("<Data>")
                _data(out, value)
                out.append("</Data>")
            else:
                _element(out, pascal(key), str(value))
        out.append("</Attestation>")
    else:
        p = doc["problem"]
        retry = f' retryAfter="{canonical.attribute(str(p["retryAfter"]))}"' if "retryAfter" in p else ""
        out.append(
            f'<Problem code="{canonical.attribute(p["code"])}"{retry} retryable="{str(p["retryable"]).lower()}">'
        )  # attributes in C14N's order: by name
        for lang in ("fr", "ar"):
            out.append(f'<Message lang="{lang}">{canonical.text(p["message"][lang])}</Message>')
        out.append("</Problem>")
    out.append("</DocumentResponse>")
    return "".join(out)


def to_xml(doc: Mapping[str, Any]) -> etree._Element:
    """The XML form of a response mapping, as an element tree."""
    return etree.fromstring(to_canonical_xml(doc).encode())


def _element(out: list[str], name: str, value: str) -> None:
    out.append(f"<{name}>{canonical.text(value)}</{name}>")


def _data(out: list[str], value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        _value(out, pascal(key), key, item)


def _value(out: list[str], name: str, key: str, item: Any) -> None:
    if isinstance(item, Mapping):
        out.append(f"<{name}>")
        _data(out, item)
        out.append(f"</{name}>")
    elif isinstance(item, list):
        item_name = ITEM_NAMES.get(key, "Item")
        out.append(f"<{name}>")
        for entry in item:
            _value(out, item_name, item_name, entry)
        out.append(f"</{name}>")
    elif isinstance(item, bool):
        _element(out, name, "true" if item else "false")
    else:
        _element(out, name, str(item))
