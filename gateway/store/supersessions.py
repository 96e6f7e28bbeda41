"""Attestations superseded by a correction of the record they came from (`gateway.web.corrections`).

A correction names a document type and a subject (as its keyed hash). Every `issued`
attestation of that type about that subject journaled so far becomes superseded: a row of
`supersessions`, with the journal's last sequence number at that moment. The attestation it
points to is found when asked: the first `issued` one of the same type and subject, for the same
requester, journaled after that number. An answer given by the provider before the correction
but journaled after it would count as the new one: the window is the time of one request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Supersession:
    """When an attestation was superseded, and the attestation issued since in its place (if any)."""

    at: dt.datetime
    replaced_by: str | None


_SUPERSEDE = """INSERT INTO supersessions
    (attestation_id, superseded_at, subject_ref, document_type, requester, after_seq)
SELECT DISTINCT a.attestation_id, {at}, j.subject_ref, j.document_type, j.requester, {last}
FROM audit j JOIN attestations a ON a.request_id = j.request_id
WHERE j.subject_ref = {ref} AND j.document_type = {kind} AND j.status = 'issued' AND a.status = 'issued'
  AND j.seq <= {last}
ON CONFLICT (attestation_id) DO NOTHING"""
SUPERSEDE_SQLITE = _SUPERSEDE.format(at="?1", last="?2", ref="?3", kind="?4")
SUPERSEDE_PG = _SUPERSEDE.format(at="$1::timestamptz", last="$2::bigint", ref="$3", kind="$4")

_REPLACEMENT = """SELECT a.attestation_id FROM audit j JOIN attestations a ON a.request_id = j.request_id
WHERE j.subject_ref = {ref} AND j.document_type = {kind} AND j.requester {same} {requester}
  AND j.status = 'issued' AND a.status = 'issued' AND j.seq > {after}
ORDER BY j.seq LIMIT 1"""
REPLACEMENT_SQLITE = _REPLACEMENT.format(ref="?1", kind="?2", same="IS", requester="?3", after="?4")
REPLACEMENT_PG = _REPLACEMENT.format(ref="$1", kind="$2", same="IS NOT DISTINCT FROM", requester="$3", after="$4")
