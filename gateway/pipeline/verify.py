"""Stage 2, verify: the request's signature, its chain, and that the signer is the
requester (docs/protocol.md §5, checks 2 and 3). Hands on the signed content and nothing else."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from lxml import etree

from gateway.errors import Malformed, RequesterMismatch
from gateway.pipeline.intake import Envelope
from gateway.pipeline.values import SignedContent
from gateway.protocol import NS_TAG, SUBJECT_KEYS
from gateway.signing.jws import JWSVerifier
from gateway.signing.trust import TrustStore
from gateway.signing.xmldsig import XMLRequestVerifier


def camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def xml_fields(root: etree._Element) -> dict[str, Any]:
    """The request's fields by camelCase name, read from the signed element only (its children
    in the exchange namespace; tags are compared as text, `{namespace}name`)."""
    out: dict[str, Any] = {}
    for child in root:
        tag = child.tag
        if not isinstance(tag, str) or not tag.startswith(NS_TAG):
            continue
        name = tag[len(NS_TAG) :]
        if name == "Subject":
            out["subject"] = {}
            for s in child:
                if isinstance(s.tag, str):
                    local = s.tag.rpartition("}")[2]
                    out["subject"][SUBJECT_KEYS.get(local, local)] = s.text or ""
        else:
            out[camel(name)] = child.text or ""
    return out


class RequestVerifier:
    """Checks 2 and 3 for both encodings."""

    def __init__(self, trust: TrustStore) -> None:
        self._xml = XMLRequestVerifier(trust)
        self._jws = JWSVerifier(trust)

    def verify(self, envelope: Envelope) -> SignedContent:
        fields: Mapping[str, Any]
        if envelope.xml is not None:
            verified = self._xml.verify(envelope.xml)
            signer, source = verified.signer, verified.signed
            fields = xml_fields(source)
            digest = hashlib.sha256(etree.tostring(source, method="c14n", exclusive=True)).hexdigest()
        elif envelope.jws is not None:
            signer = self._jws.verify(envelope.jws)
            source = fields = envelope.jws.content
            digest = hashlib.sha256(envelope.jws.payload).hexdigest()
        else:  # pragma: no cover - intake always sets one
            raise Malformed("nothing to verify")
        requester = fields.get("requester")
        if isinstance(requester, str) and requester != signer.participant:
            raise RequesterMismatch(f"signed by {signer.participant!r} but Requester is {requester!r}")
        return SignedContent(envelope.kind, signer, fields, digest, source)
