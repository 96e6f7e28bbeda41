"""A client of the exchange for CNAS back offices: builds a document request and signs it,
as XML with an enveloped XMLDSig or as a compact JWS (docs/protocol.md, requests).

It stands alone: nothing here imports the gateway, so that a back office installs it without
the server. The gateway's own tests, fault harness, benchmark and tools build and sign their
requests with it.
"""

from __future__ import annotations

from gateway_client.request import request_fields, to_xml
from gateway_client.signing import Identity, sign_jws, sign_xml, signed_request

__all__ = ["Identity", "request_fields", "sign_jws", "sign_xml", "signed_request", "to_xml"]
