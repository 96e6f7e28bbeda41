"""The partner kit of the inter-administration document exchange: an administration that
answers the gateway, on the bus or over HTTPS, writes one async function, from a query to
what it holds.

    from gateway_partner import Found, NotFound, Partner, PartnerIdentity, Query

    async def answer(query: Query) -> Found | NotFound:
        record = await my_database.find(query.document_type, query.subject_id)
        return Found(record) if record else NotFound()

    identity = PartnerIdentity.from_folder("pki/dz.caisse-retraite")   # key.pem, cert.pem
    asyncio.run(Partner(identity, "pki/ca.pem", "amqp://…", answer).serve())
    # or, over HTTPS:  asyncio.run(RestPartner("pki/dz.caisse-retraite", "pki/ca.pem", answer).serve())

The kit checks that each query is signed by the exchange's gateway under the exchange's CA,
signs each answer with the partner's key, replies on the query's reply queue with its
correlation id, acknowledges a query only once its answer is confirmed by the broker, bounds
how many queries are answered at once, stops gracefully on SIGINT or SIGTERM, and logs
without personal data. When the administration corrects a record, `notify_correction` tells the
gateway, and the attestations issued from the old record become superseded. It needs Python 3.10
or later and nothing of the gateway.
"""

from __future__ import annotations

from gateway_partner.corrections import CorrectionRefused, correction_notice, notify_correction
from gateway_partner.rest import RestPartner
from gateway_partner.service import (
    Answer,
    Failure,
    Found,
    Handler,
    NotFound,
    Partner,
    PartnerIdentity,
    Query,
    QueryChecker,
)

__all__ = [
    "Answer",
    "CorrectionRefused",
    "Failure",
    "Found",
    "Handler",
    "NotFound",
    "Partner",
    "PartnerIdentity",
    "Query",
    "QueryChecker",
    "RestPartner",
    "correction_notice",
    "notify_correction",
]
