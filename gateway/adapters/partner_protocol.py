"""The partner protocol's messages (docs/protocol.md §10), whatever carries them: the query
the gateway signs, and the signed answer it accepts from a partner.

On the bus (`bus`) and over HTTPS (`rest`) the bodies are the same compact JWS, so a partner
written once answers either way.

Query payload:  {"queryId", "requestId", "documentType", "purpose", "requester", "subject": {"nin"|"nif"|"rc"}}
Answer payload: {"queryId", "requestId", "status": "found"|"not-found"|"error", "data": {...}, "obtainedAt",
                 "error"?}
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gateway.adapters.base import AdapterContext, ProviderAnswer, ProviderQuery
from gateway.errors import GatewayError, ProviderError
from gateway.protocol import SUBJECT_KEYS
from gateway.signing import jws

#: The `status` of a partner's answer: the first two are data, the last a failure.
ANSWER_STATUSES = ("found", "not-found", "error")
CONTENT_TYPE = "application/jose"


def signed_query(context: AdapterContext, query: ProviderQuery) -> bytes:
    """`query` as the gateway sends it to a partner: a compact JWS signed with the gateway's key."""
    payload = {
        "queryId": query.query_id,
        "requestId": query.request_id,
        "documentType": query.document_type,
        "purpose": query.purpose,
        "requester": query.requester,
        "subject": {SUBJECT_KEYS[query.subject_kind]: query.subject_id},
    }
    return context.signer.sign(json.dumps(payload, separators=(",", ":")).encode())


def claimed_request(body: bytes) -> str | None:
    """The request id an answer claims to be for, unchecked (to find its request; checked on use)."""
    try:
        claimed = jws.parse(body).content.get("requestId")
    except Exception:  # whatever is unreadable claims nothing
        return None
    return claimed if isinstance(claimed, str) else None


def read_answer(
    provider: str,
    verifier: jws.JWSVerifier,
    body: bytes,
    *,
    query_id: str | None = None,
    request_id: str | None = None,
) -> ProviderAnswer:
    """The answer in `body`, once its signature is checked to be `provider`'s and it is for this
    query (or request); anything else is provider_error, never data."""
    try:
        message = jws.parse(body)
        signer = verifier.verify(message)
    except GatewayError as exc:
        raise ProviderError(f"{provider}: answer is not a valid signed message ({exc.code})") from None
    if signer.participant != provider:
        raise ProviderError(f"{provider}: answer signed by {signer.participant!r}")
    answer: Any = message.content
    if not isinstance(answer, dict):
        raise ProviderError(f"{provider}: answer is not a JSON object")
    if (query_id is not None and answer.get("queryId") != query_id) or (
        request_id is not None and answer.get("requestId") != request_id
    ):
        raise ProviderError(f"{provider}: answer is for another query")
    status = answer.get("status")
    found, not_found, _ = ANSWER_STATUSES
    if status not in (found, not_found):
        raise ProviderError(f"{provider}: {answer.get('error') or f'unexpected status {status!r}'}")
    data = answer.get("data") or {}
    if not isinstance(data, dict):
        raise ProviderError(f"{provider}: data is not an object")
    try:
        obtained = dt.datetime.fromisoformat(str(answer.get("obtainedAt", "")).replace("Z", "+00:00"))
    except ValueError:
        obtained = dt.datetime.now(dt.UTC)
    return ProviderAnswer(provider, status == found, data, obtained)
