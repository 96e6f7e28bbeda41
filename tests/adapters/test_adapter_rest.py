"""The generic REST adapter against the partner kit's HTTPS server, both real, over mutual TLS:
answers, failures, and hostile servers (wrong signer, wrong certificate, replayed answer)."""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web

from gateway import config as config_module
from gateway.adapters.base import Adapter, AdapterContext
from gateway.adapters.partner_protocol import signed_query
from gateway.adapters.rest import RestAdapter
from gateway.config import ConfigError, Provider
from gateway.errors import GatewayError, TransientProviderError
from gateway.web import openapi
from gateway_partner import Failure, Found, NotFound, PartnerIdentity, Query, RestPartner
from gateway_partner import jws as partner_jws
from tests.adapters.adapter_kit import DGI, GATEWAY, TEST_ADMINISTRATION, Running, query, serve, server_tls

NIF = "000016001234567"
RECORD = {"pensionStatus": "active", "monthlyAmount": "42000.00"}


async def answers(q: Query) -> Found | NotFound | Failure:
    """A partner's function: one known subject, a failure for one document type."""
    if q.document_type == "broken-type":
        return Failure("records offline")
    return Found(RECORD) if q.subject_id == NIF else NotFound()


@asynccontextmanager
async def kit_partner(
    pki_dir: Path, code: str = TEST_ADMINISTRATION, handler: Callable[[Query], Awaitable[object]] = answers
) -> AsyncIterator[RestPartner]:
    """The partner kit serving `handler` over HTTPS as `code`, on an ephemeral port."""
    partner = RestPartner(pki_dir / code, pki_dir / "ca.pem", handler, host="127.0.0.1", port=0)  # type: ignore[arg-type]
    await partner.start()
    try:
        yield partner
    finally:
        await partner.stop()


def payload_of(token: bytes) -> dict[str, Any]:
    """The payload of a compact JWS, unchecked."""
    segment = token.split(b".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4)))
    return decoded


def url_of(partner: RestPartner) -> str:
    return f"https://127.0.0.1:{partner.port}{partner.path}"


async def problem(made: Adapter, document_type: str = "pension-status", subject: str = NIF) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        await made.fetch(query(document_type, subject), 5)
    return caught.value


async def test_found_and_not_found_come_back_as_the_partner_wrote_them(adapter: Running, pki_dir: Path) -> None:
    """The kit's Found and NotFound reach the gateway as found with the record and not-found without data."""
    async with kit_partner(pki_dir) as partner, adapter(TEST_ADMINISTRATION, "rest", url_of(partner)) as made:
        found = await made.fetch(query("pension-status", NIF), 5)
        missing = await made.fetch(query("pension-status", "000016009999999"), 5)
    assert found.found and dict(found.data) == RECORD and found.provider == TEST_ADMINISTRATION
    assert not missing.found and dict(missing.data) == {}


async def test_a_partner_failure_is_provider_error(adapter: Running, pki_dir: Path) -> None:
    """The kit's Failure is answered `error`, which the gateway reports as provider_error with the reason."""
    async with kit_partner(pki_dir) as partner, adapter(TEST_ADMINISTRATION, "rest", url_of(partner)) as made:
        caught = await problem(made, "broken-type")
    assert caught.code == "provider_error" and "records offline" in str(caught)


async def test_a_server_with_another_participants_certificate_is_refused(adapter: Running, pki_dir: Path) -> None:
    """A server presenting the DGI's certificate where the provider is expected is provider_error."""
    async with kit_partner(pki_dir, code=DGI) as partner, adapter(TEST_ADMINISTRATION, "rest", url_of(partner)) as made:
        caught = await problem(made)
    assert caught.code == "provider_error" and DGI in str(caught)


def hostile(pki_dir: Path, reply: Callable[[dict[str, object]], tuple[int, str, bytes]]) -> web.Application:
    """A server under the provider's TLS identity whose answers `reply` makes from the query's payload."""

    async def on_query(request: web.Request) -> web.Response:
        token = await request.read()
        payload = payload_of(token)
        status, content_type, body = reply(payload)
        return web.Response(status=status, body=body, content_type=content_type)

    app = web.Application()
    app.router.add_post("/q", on_query)
    return app


def signed_by(pki_dir: Path, code: str, payload: Mapping[str, object]) -> bytes:
    identity = PartnerIdentity.from_folder(pki_dir / code)
    return partner_jws.sign(identity.key, identity.protected, json.dumps(payload).encode())


@asynccontextmanager
async def against(adapter: Running, pki_dir: Path, app: web.Application) -> AsyncIterator[Adapter]:
    async with (
        serve(app, server_tls(pki_dir, TEST_ADMINISTRATION)) as port,
        adapter(TEST_ADMINISTRATION, "rest", f"https://127.0.0.1:{port}/q") as made,
    ):
        yield made


def found_answer(payload: dict[str, object]) -> dict[str, object]:
    return {"queryId": payload["queryId"], "requestId": payload["requestId"], "status": "found", "data": RECORD,
            "obtainedAt": "2026-12-04T10:00:00Z"}  # fmt: skip


async def test_an_answer_signed_by_someone_else_is_provider_error(adapter: Running, pki_dir: Path) -> None:
    """An answer over the provider's own TLS but signed with the DGI's key is provider_error, never data."""
    app = hostile(pki_dir, lambda p: (200, "application/jose", signed_by(pki_dir, DGI, found_answer(p))))
    async with against(adapter, pki_dir, app) as made:
        caught = await problem(made)
    assert caught.code == "provider_error" and "signed by" in str(caught)


async def test_an_answer_for_another_query_is_provider_error(adapter: Running, pki_dir: Path) -> None:
    """A genuine signed answer replayed for another query id is provider_error."""

    def replayed(p: dict[str, object]) -> tuple[int, str, bytes]:
        return 200, "application/jose", signed_by(pki_dir, TEST_ADMINISTRATION, {**found_answer(p), "queryId": "x"})

    app = hostile(pki_dir, replayed)
    async with against(adapter, pki_dir, app) as made:
        caught = await problem(made)
    assert caught.code == "provider_error" and "another query" in str(caught)


@pytest.mark.parametrize(
    ("status", "content_type", "transient"),
    [
        (503, "application/jose", True),
        (429, "application/jose", True),
        (404, "application/jose", False),
        (200, "application/json", False),
    ],
)
async def test_statuses_other_than_a_signed_200_are_provider_error(
    adapter: Running, pki_dir: Path, status: int, content_type: str, transient: bool
) -> None:
    """503 and 429 are a transient provider_error (worth a retry); 404, or a 200 not labelled
    application/jose, is a provider_error that is not retried."""
    app = hostile(pki_dir, lambda p: (status, content_type, signed_by(pki_dir, TEST_ADMINISTRATION, found_answer(p))))
    async with against(adapter, pki_dir, app) as made:
        caught = await problem(made)
    assert caught.code == "provider_error" and isinstance(caught, TransientProviderError) == transient


@pytest.mark.parametrize("url", ["http://127.0.0.1:8445/q", "https:///q", ""])
def test_a_provider_without_an_https_url_is_a_configuration_error(context: AdapterContext, url: str) -> None:
    """The adapter refuses to start without an https URL: the query carries personal data."""
    with pytest.raises(ConfigError, match="must be an https URL"):
        RestAdapter(Provider(TEST_ADMINISTRATION, "rest", MappingProxyType({"url": url})), context)


def client_tls(pki_dir: Path, code: str | None) -> ssl.SSLContext:
    tls = ssl.create_default_context(cafile=str(pki_dir / "ca.pem"))
    if code is not None:
        tls.load_cert_chain(str(pki_dir / code / "cert.pem"), str(pki_dir / code / "key.pem"))
    return tls


async def test_the_kit_refuses_queries_not_signed_by_the_gateway(pki_dir: Path) -> None:
    """A query signed by a participant other than the gateway is answered 400 with a signed error,
    and never reaches the partner's function; a body that is not application/jose is 415."""
    called: list[Query] = []

    async def handler(q: Query) -> Found:
        called.append(q)
        return Found(RECORD)

    query_payload = {"queryId": "q1", "requestId": "r1", "documentType": "pension-status", "purpose": "p",
                     "requester": "dz.cnas", "subject": {"nif": NIF}}  # fmt: skip
    token = signed_by(pki_dir, "dz.cnas", query_payload)
    async with (
        kit_partner(pki_dir, handler=handler) as partner,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls(pki_dir, GATEWAY))) as session,
    ):
        async with session.post(url_of(partner), data=token, headers={"Content-Type": "application/jose"}) as resp:
            refused = (resp.status, payload_of(await resp.read()))
        async with session.post(url_of(partner), data=b"{}", headers={"Content-Type": "application/json"}) as resp:
            wrong_type = resp.status
    assert refused[0] == 400 and refused[1]["status"] == "error" and refused[1]["error"].startswith("query refused")
    assert wrong_type == 415 and not called


async def test_the_kit_refuses_a_client_without_an_exchange_certificate(pki_dir: Path) -> None:
    """Mutual TLS: a client presenting no certificate does not get past the handshake."""
    async with (
        kit_partner(pki_dir) as partner,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls(pki_dir, None))) as session,
    ):
        with pytest.raises(aiohttp.ClientError):
            async with session.post(url_of(partner), data=b"x", headers={"Content-Type": "application/jose"}) as resp:
                await resp.read()


async def test_the_bodies_on_the_wire_follow_the_published_contract(
    adapter: Running, pki_dir: Path, context: AdapterContext
) -> None:
    """The query the adapter POSTs and the answer the kit makes both validate against the OpenAPI
    document's `partnerQuery` webhook, so a partner built from the document alone interoperates."""
    operation = openapi.document(config_module.load())["webhooks"]["partnerQuery"]["post"]
    query_schema = operation["requestBody"]["content"]["application/jose"]["schema"]
    answer_schema = operation["responses"]["200"]["content"]["application/jose"]["schema"]
    seen: list[bytes] = []

    def record(payload: dict[str, object]) -> tuple[int, str, bytes]:
        token = signed_by(pki_dir, TEST_ADMINISTRATION, found_answer(payload))
        seen.append(token)
        return 200, "application/jose", token

    async with against(adapter, pki_dir, hostile(pki_dir, record)) as made:
        await made.fetch(query("pension-status", NIF), 5)
    sent = signed_query(context, query("pension-status", NIF))
    async with kit_partner(pki_dir) as partner:
        kit_answer = partner.partner.sign(await partner.partner.answer(sent))
    for token, schema in ((sent, query_schema), (seen[0], answer_schema), (kit_answer, answer_schema)):
        assert re.fullmatch(schema["pattern"], token.decode())
        jsonschema.validate(payload_of(token), schema["x-jws-payload"])
