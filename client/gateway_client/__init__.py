"""The client of the inter-administration document exchange, for back offices.

    from gateway_client import Attestation, Identity, SyncClient

    with SyncClient("amqp://guest:guest@127.0.0.1:5672/", Identity.from_folder("var/pki/dz.cnas"),
                    "var/pki/ca.pem", agency="CNAS-16-001") as client:
        result = client.request("birth-certificate", "119725601000003511", "family-allowance")
        pdf = client.pdf(result)  # an issued attestation, printable: A4, French and Arabic, QR code

It builds and signs each request (XML with XMLDSig, or a compact JWS), sends it over AMQP or
HTTP as the URL says, checks the seal of the answer against the exchange's CA, and returns a
typed result. It stands alone: nothing here imports the gateway, so that a back office
installs it without the server.
"""

from __future__ import annotations

from gateway_client.client import Client, SyncClient
from gateway_client.errors import ClientError, InvalidRequest, PrintRefused, SealError, TransportError
from gateway_client.request import request_fields, to_xml
from gateway_client.results import Answer, Attestation, AttestationStatus, Failed, NotFound, Problem, Refused, Result
from gateway_client.seal import Trust, open_sealed
from gateway_client.signing import Identity, sign_jws, sign_xml, signed_request
from gateway_client.subjects import subject_of

__all__ = [
    "Answer",
    "Attestation",
    "AttestationStatus",
    "Client",
    "ClientError",
    "Failed",
    "Identity",
    "InvalidRequest",
    "NotFound",
    "PrintRefused",
    "Problem",
    "Refused",
    "Result",
    "SealError",
    "SyncClient",
    "TransportError",
    "Trust",
    "open_sealed",
    "request_fields",
    "sign_jws",
    "sign_xml",
    "signed_request",
    "subject_of",
    "to_xml",
]
