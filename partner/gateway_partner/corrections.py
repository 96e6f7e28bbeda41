"""Telling the exchange that a record was corrected, so that the attestations issued from the
old record stop being presented as current.

    from gateway_partner import PartnerIdentity, notify_correction

    identity = PartnerIdentity.from_folder("pki/dz.interieur.etat-civil")
    superseded = await notify_correction("https://exchange.example.dz", identity,
                                         "birth-certificate", {"nin": "119725601000003511"})

It posts `POST /v1/partners/corrections` to the gateway, a compact JWS signed with the
partner's key whose payload is `{"noticeId", "issuedAt", "documentType", "subject"}`. The
gateway accepts it only from the provider of that document type, once per `noticeId`, and
answers how many attestations became `superseded`. The next request for that document
obtains one from the corrected record, and the old ones then point to it.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import uuid
from collections.abc import Mapping

import aiohttp

from gateway_partner import jws
from gateway_partner.service import PartnerIdentity


class CorrectionRefused(Exception):
    """The gateway did not take the notice: `code` is its problem code (`access_denied` when the
    partner is not the document type's provider, `duplicate_conflict` for a notice sent twice …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def correction_notice(identity: PartnerIdentity, document_type: str, subject: Mapping[str, str]) -> bytes:
    """The signed notice that `document_type`'s record of `subject` (`{"nin" | "nif" | "rc": id}`) was corrected."""
    payload = {
        "noticeId": str(uuid.uuid4()),
        "issuedAt": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}",
        "documentType": document_type,
        "subject": dict(subject),
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return jws.sign(identity.key, identity.protected, body)


async def notify_correction(
    url: str,
    identity: PartnerIdentity,
    document_type: str,
    subject: Mapping[str, str],
    *,
    tls: ssl.SSLContext | None = None,
    timeout: float = 10.0,
) -> int:
    """Sends a correction notice to the gateway at `url`; returns how many attestations it superseded.
    Raises `CorrectionRefused` when the gateway refuses, `aiohttp.ClientError` when it cannot be reached."""
    notice = correction_notice(identity, document_type, subject)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url.rstrip("/") + "/v1/partners/corrections",
            data=notice,
            headers={"Content-Type": "application/jose"},
            ssl=tls if tls is not None else True,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response,
    ):
        answer = await response.json(content_type=None)
    if response.status != 200:
        raise CorrectionRefused(str(answer.get("error")), str(answer.get("message")))
    return int(answer["superseded"])
