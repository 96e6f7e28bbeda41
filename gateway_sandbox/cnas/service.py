"""The sandbox CNAS as a provider on the bus, built on the partner kit: it answers other
administrations' requests about the insured and the employers it covers."""

from __future__ import annotations

from pathlib import Path

from gateway_partner import Failure, Found, Handler, NotFound, Partner, PartnerIdentity, Query
from gateway_sandbox.cnas.records import CnasRecords

PARTICIPANT = "dz.cnas"
QUEUE = f"partner.{PARTICIPANT}.requests"


def answers(records: CnasRecords) -> Handler:
    async def answer(query: Query) -> Found | NotFound | Failure:
        try:
            data = records.lookup(query.document_type, query.subject_id)
        except ValueError as exc:
            return Failure(str(exc))
        return Found(data) if data is not None else NotFound()

    return answer


def cnas(records: CnasRecords, pki: Path, amqp_url: str, queue: str = QUEUE, queue_type: str = "classic") -> Partner:
    identity = PartnerIdentity.from_folder(pki / PARTICIPANT)
    return Partner(identity, pki / "ca.pem", amqp_url, answers(records), queue=queue, queue_type=queue_type)


async def serve(home: Path, amqp_url: str, db: Path, queue: str = QUEUE, queue_type: str = "classic") -> None:
    with CnasRecords(db) as records:
        await cnas(records, home / "pki", amqp_url, queue, queue_type).serve()
