"""Stage 6, attest: the response document, minimised by purpose, rendered and sealed.

A response is built once as a plain mapping in the JSON form's camelCase, then rendered
either as XML (`DocumentResponse`, PascalCase elements) or as a JSON payload, and sealed.
The two encodings therefore carry the same fields (PROTOCOL §5).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from gateway.errors import GatewayError
from gateway.intake import Kind
from gateway.messages import message
from gateway.model import SUBJECT_KEYS, ProviderAnswer
from gateway.signing.seal import Sealer
from gateway.store import AttestationRecord

NS = "urn:dz:exchange:v1"
_Q = f"{{{NS}}}"
#: The element name of one item of each list field of Data.
ITEM_NAMES = {"spouses": "Spouse", "children": "Child", "activityCodes": "ActivityCode"}


def instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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

    def answer(self, kind: Kind, facts: AttestationFacts, answer: ProviderAnswer,
               released: Sequence[str]) -> Sealed:
        """An `issued` or `not-found` response, with its attestation."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        attestation_id = str(uuid.uuid4())
        valid_until = now + dt.timedelta(days=facts.validity_days)
        status = "issued" if answer.found else "not-found"
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
        body = self._seal(kind, doc)
        record = AttestationRecord(
            attestation_id, facts.request_id, facts.document_type, facts.provider, status, now, valid_until,
            hashlib.sha256(body).hexdigest(),
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
        return {"responseId": str(uuid.uuid4()), "inReplyTo": request_id, "status": status, "issuedAt": instant(now)}

    def _seal(self, kind: Kind, doc: Mapping[str, Any]) -> bytes:
        if kind == "jose":
            return self._sealer.seal_json(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode())
        return self._sealer.seal_xml(to_xml(doc))


def to_xml(doc: Mapping[str, Any]) -> etree._Element:
    """The XML form of a response mapping."""
    root = etree.Element(_Q + "DocumentResponse", nsmap={None: NS})  # default namespace
    for key in ("responseId", "inReplyTo", "status", "issuedAt"):
        etree.SubElement(root, _Q + pascal(key)).text = str(doc[key])
    if "attestation" in doc:
        att = etree.SubElement(root, _Q + "Attestation")
        for key, value in doc["attestation"].items():
            if key == "subject":
                subject = etree.SubElement(att, _Q + "Subject")
                for sub_key, sub_value in value.items():
                    etree.SubElement(subject, _Q + sub_key.upper()).text = sub_value
            elif key == "data":
                _data(etree.SubElement(att, _Q + "Data"), value)
            else:
                etree.SubElement(att, _Q + pascal(key)).text = str(value)
    else:
        p = doc["problem"]
        problem = etree.SubElement(root, _Q + "Problem", code=p["code"], retryable=str(p["retryable"]).lower())
        if "retryAfter" in p:
            problem.set("retryAfter", str(p["retryAfter"]))
        for lang in ("fr", "ar"):
            etree.SubElement(problem, _Q + "Message", lang=lang).text = p["message"][lang]
    return root


def _data(parent: etree._Element, value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        _value(etree.SubElement(parent, _Q + pascal(key)), key, item)


def _value(node: etree._Element, key: str, item: Any) -> None:
    if isinstance(item, Mapping):
        _data(node, item)
    elif isinstance(item, list):
        name = ITEM_NAMES.get(key, "Item")
        for entry in item:
            _value(etree.SubElement(node, _Q + name), name, entry)
    elif isinstance(item, bool):
        node.text = "true" if item else "false"
    else:
        node.text = str(item)
