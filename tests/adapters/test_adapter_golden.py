"""Contract-drift guard: the recorded golden exchanges of each HTTP adapter (tests/golden/).

Three checks per case:

- the adapter, answered with the recorded answer, sends exactly the recorded request and
  makes exactly the recorded canonical answer of it;
- that canonical answer fits the document type's Data schema;
- the live sandbox, sent the recorded request, still answers in the recorded shape.

Volatile parts are normalised explicitly, nowhere else: the extract's XMLDSig is re-made
with this session's CNRC key before it is replayed (the recorded one is by another PKI),
and only the headers in `CONTRACT_HEADERS` are compared (not Host, User-Agent, lengths).
The gateway's query and request ids reach neither administration, so nothing else varies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web
from lxml import etree

from gateway.adapters.base import AdapterContext, ProviderQuery
from gateway.adapters.http import client_tls
from gateway.errors import GatewayError
from tests.adapters.adapter_kit import CNRC, DGI, Running, Sandbox, resign_extract, serve, server_tls, signing_identity
from tests.adapters.golden import Captured, body_file, capture, cases, json_shape, xml_shape

MODULES = {DGI: "tax_directorate", CNRC: "commercial_register"}
CASES = [
    pytest.param(provider, name, case, id=f"{provider}/{name}")
    for provider in (DGI, CNRC)
    for name, case in cases(provider)
]
SCHEMAS = Path(__file__).resolve().parents[2] / "gateway" / "schemas"


def _query(case: dict[str, Any]) -> ProviderQuery:
    q = case["query"]
    return ProviderQuery(
        "golden-query",
        "golden-request",
        q["documentType"],
        q["purpose"],
        q["requester"],
        q["subjectKind"],
        q["subjectId"],
    )


def test_every_provider_has_golden_cases() -> None:
    """Each HTTP adapter has recorded cases for found, not found and an error."""
    for provider in (DGI, CNRC):
        expected = [case["expected"] for _, case in cases(provider)]
        assert any(e.get("found") is True for e in expected)
        assert any(e.get("found") is False for e in expected)
        assert any("problem" in e for e in expected)


@pytest.mark.parametrize(("provider", "name", "case"), CASES)
async def test_adapter_sends_the_recorded_request_and_maps_the_recorded_answer(
    adapter: Running, pki_dir: Path, provider: str, name: str, case: dict[str, Any]
) -> None:
    """Replayed the recorded answer, the adapter sent the recorded request and made the recorded canonical answer."""
    recorded = case["response"]
    answer_body = body_file(provider, recorded["bodyFile"])
    if provider == CNRC and b"Extrait" in answer_body:
        answer_body = resign_extract(answer_body, *signing_identity(pki_dir))

    async def replay(request: web.Request) -> web.Response:
        return web.Response(
            status=recorded["status"], body=answer_body, headers={"Content-Type": recorded["contentType"]}
        )

    seen: list[Captured] = []
    app = web.Application(middlewares=[capture(seen)])
    app.router.add_route("*", "/{tail:.*}", replay)
    tls = server_tls(pki_dir, DGI) if provider == DGI else None
    async with serve(app, tls) as port:
        url = f"https://127.0.0.1:{port}" if tls else f"http://127.0.0.1:{port}/soap"
        async with adapter(provider, MODULES[provider], url) as made:
            try:
                answer = await made.fetch(_query(case), 5)
                outcome: dict[str, Any] = {"found": answer.found, "data": json.loads(json.dumps(dict(answer.data)))}
            except GatewayError as exc:
                outcome = {"problem": exc.code}
    (sent,) = seen
    request = case["request"]
    assert (sent.method, sent.path, sent.headers) == (request["method"], request["path"], request["headers"])
    assert sent.body == body_file(provider, request.get("bodyFile"))
    assert outcome == case["expected"]


@pytest.mark.parametrize(("provider", "name", "case"), CASES)
def test_recorded_canonical_data_fits_the_type_schema(provider: str, name: str, case: dict[str, Any]) -> None:
    """The canonical data of each recorded answer is valid against its document type's Data schema."""
    schema = json.loads((SCHEMAS / f"{case['query']['documentType']}.schema.json").read_text("utf-8"))
    data = case["expected"].get("data", {})
    jsonschema.Draft202012Validator(schema["$defs"]["data"], format_checker=jsonschema.FormatChecker()).validate(data)


@pytest.mark.parametrize(("provider", "name", "case"), CASES)
async def test_live_sandbox_still_answers_in_the_recorded_shape(
    tax_sandbox: Sandbox,
    register_sandbox: Sandbox,
    context: AdapterContext,
    provider: str,
    name: str,
    case: dict[str, Any],
) -> None:
    """Sent the recorded request, the running sandbox answers with the recorded status, type and shape."""
    request, recorded = case["request"], case["response"]
    sandbox = tax_sandbox if provider == DGI else register_sandbox
    async with sandbox(fault=case["sandbox"]["fault"]) as url, aiohttp.ClientSession() as session:
        base = url if provider == DGI else url.removesuffix("/soap")
        async with session.request(
            request["method"],
            base + request["path"],
            headers=request["headers"],
            data=body_file(provider, request.get("bodyFile")) or None,
            ssl=client_tls(context) if provider == DGI else True,
        ) as response:
            status, content_type = response.status, response.headers.get("Content-Type", "")
            body = await response.read()
    recorded_body = body_file(provider, recorded["bodyFile"])
    assert (status, content_type) == (recorded["status"], recorded["contentType"])
    if provider == DGI:
        assert json_shape(json.loads(body)) == json_shape(json.loads(recorded_body))
    else:
        assert xml_shape(etree.fromstring(body)) == xml_shape(etree.fromstring(recorded_body))
