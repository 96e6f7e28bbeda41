"""The sandbox civil registry as a program, built on the partner kit as any administration on
the bus would be: one function from a query to what the registry holds.

It shares no code with the gateway. The kit checks that each query is signed by the gateway
under the exchange CA, signs the answer with the registry's own key and replies with the
query's correlation id; subjects are logged as keyed hashes, never in clear.
"""

from __future__ import annotations

from pathlib import Path

from gateway_partner import Failure, Found, Handler, NotFound, Partner, PartnerIdentity, Query
from gateway_sandbox.civil_registry.records import Registry, build

PARTICIPANT = "dz.interieur.etat-civil"
QUEUE = f"partner.{PARTICIPANT}.requests"


def answers(registry: Registry) -> Handler:
    """The registry's whole business logic: a person's record for a document type, or none."""

    async def answer(query: Query) -> Found | NotFound | Failure:
        try:
            data = registry.lookup(query.document_type, query.subject.get("nin", ""))
        except ValueError as exc:
            return Failure(str(exc))
        return Found(data) if data is not None else NotFound()

    return answer


def civil_registry(
    registry: Registry, pki: Path, amqp_url: str, queue: str = QUEUE, queue_type: str = "classic"
) -> Partner:
    """The registry's service on the bus, with its key and certificate from `pki/<code>/`."""
    identity = PartnerIdentity.from_folder(pki / PARTICIPANT)
    return Partner(identity, pki / "ca.pem", amqp_url, answers(registry), queue=queue, queue_type=queue_type)


async def serve(
    home: Path, amqp_url: str, db: Path | None = None, queue: str = QUEUE, queue_type: str = "classic"
) -> None:
    db = db or home / "sandbox" / "civil-registry.sqlite3"
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        build(db)
    await civil_registry(Registry(db), home / "pki", amqp_url, queue, queue_type).serve()
