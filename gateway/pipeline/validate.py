"""Stage 3, validate: schema check, then the typed canonical request (docs/protocol.md §5, check 4)."""

from __future__ import annotations

from gateway.errors import SchemaInvalid
from gateway.pipeline.values import Request, SignedContent
from gateway.protocol import SUBJECT_KEYS, Priority, parse_instant
from gateway.schemas import Schemas

_KINDS = {key: kind for kind, key in SUBJECT_KEYS.items()}


def validate(signed: SignedContent, schemas: Schemas) -> Request:
    fields = signed.fields
    document_type = fields.get("documentType")
    document_type = document_type if isinstance(document_type, str) else None
    if signed.kind == "xml":
        schemas.check_xml_request(signed.source, document_type)
    else:
        schemas.check_json_request(signed.source, document_type)
    try:
        issued_at = parse_instant(fields["issuedAt"])
        deadline = parse_instant(fields["deadline"]) if fields.get("deadline") else None
    except ValueError as exc:  # the schema's pattern lets some impossible dates through
        raise SchemaInvalid(f"invalid instant: {exc}") from None
    ((key, subject_id),) = fields["subject"].items()
    return Request(
        kind=signed.kind,
        request_id=fields["requestId"].lower(),
        requester=fields["requester"],
        agency=fields["agency"],
        agent=fields.get("agent"),
        document_type=fields["documentType"],
        purpose=fields["purpose"],
        case_reference=fields.get("caseReference"),
        priority=fields.get("priority") or Priority.NORMAL,
        issued_at=issued_at,
        deadline=deadline,
        subject_kind=_KINDS[key],
        subject_id=subject_id,
        digest=signed.digest,
        signer=signed.signer,
    )
