"""CNAS as a provider: other administrations, once granted with `gateway policy grant`, obtain an
employer's contribution status and an insured person's affiliation from the CNAS sandbox on the bus."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from gateway.registry import policy
from gateway.runtime import sandboxes
from gateway.runtime.worker import Gateway
from gateway_client import Identity, request_fields, signed_request
from gateway_sandbox.cnas.records import CnasRecords
from gateway_sandbox.cnas.service import cnas
from tests.e2e.exchange import AMQP_URL


async def post(http: str, body: bytes) -> tuple[int, str | None, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{http}/v1/requests", data=body, headers={"Content-Type": "application/xml"}) as answer,
    ):
        return answer.status, answer.headers.get("X-Problem"), await answer.read()


async def test_granted_administrations_obtain_cnas_documents(home: Path, gateway: Gateway, http: str) -> None:
    """The procurement portal gets an employer's contribution status and the tax directorate an affiliation,
    sealed and minimised per purpose; before the grant the portal is refused access_denied."""
    examples = await asyncio.to_thread(sandboxes.examples, home)
    employer = examples["contribution-status-certificate"]["found"][0]
    insured = examples["affiliation-certificate"]["found"][0]
    portal = Identity.from_folder(home / "pki" / "dz.marches-publics")
    dgi = Identity.from_folder(home / "pki" / "dz.finances.dgi")

    def ask(who: Identity, code: str, kind: str, subject: dict[str, str], purpose: str) -> bytes:
        return signed_request(who, request_fields(kind, subject, purpose, requester=code, agency="DGI-16-001"))

    portal_request = ask(portal, "dz.marches-publics", "contribution-status-certificate", {"nif": employer},
                         "public-procurement")  # fmt: skip
    assert (await post(http, portal_request))[:2] == (403, "access_denied")
    queue = str(gateway.config.providers["dz.cnas"].options["queue"])
    with CnasRecords(home / "sandbox" / sandboxes.CNAS_DB) as records:
        service = cnas(records, home / "pki", AMQP_URL, queue)
        await service.start()
        try:
            policy.grant(gateway.seed, home, "dz.marches-publics", "contribution-status-certificate",
                         ["public-procurement"])  # fmt: skip
            policy.grant(gateway.seed, home, "dz.finances.dgi", "affiliation-certificate", ["tax-audit"])
            deadline = asyncio.get_running_loop().time() + gateway.config.settings.registry_reload_seconds + 10
            portal_request = ask(portal, "dz.marches-publics", "contribution-status-certificate", {"nif": employer},
                                 "public-procurement")  # fmt: skip
            answer = await post(http, portal_request)
            while answer[:2] != (200, None) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.25)
                portal_request = ask(portal, "dz.marches-publics", "contribution-status-certificate",
                                     {"nif": employer}, "public-procurement")  # fmt: skip
                answer = await post(http, portal_request)
            assert answer[:2] == (200, None), answer[2][:300]
            assert b"<EmployerNumber>" in answer[2] and b"<Employees>" not in answer[2]  # minimised
            status, problem, body = await post(
                http, ask(dgi, "dz.finances.dgi", "affiliation-certificate", {"nin": insured}, "tax-audit")
            )
            assert (status, problem) == (200, None) and b"<AffiliationNumber>" in body
        finally:
            await service.stop()
            policy.revoke_grant(gateway.seed, home, "dz.marches-publics", "contribution-status-certificate")
            policy.revoke_grant(gateway.seed, home, "dz.finances.dgi", "affiliation-certificate")
