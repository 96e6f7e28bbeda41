"""Golden exchanges of the HTTP adapters: what they send and what they get, in each
administration's own format, recorded once from the sandboxes and kept under tests/golden/.

Run by hand to (re)record, then review the diff like code:

    .venv/bin/python -m tests.adapters.golden

Each case is `tests/golden/<provider>/<case>.json` (the query, the request line and the
headers that matter, the answer's status and content type, and the canonical answer the
adapter must make of it), with the bodies beside it exactly as they crossed the wire:
`<case>.request.xml` (SOAP) and `<case>.response.json` / `.response.xml`.

Recording happens on the server side: a middleware in front of the sandbox's own keeps the
request as it arrived and the response as it left.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "golden"
#: The request headers that are part of the contract (Host, User-Agent and the like are not).
CONTRACT_HEADERS = ("Accept", "Content-Type", "SOAPAction")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Captured:
    """One exchange as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    content_type: str = ""
    response: bytes = b""


def capture(into: list[Captured]) -> Middleware:
    """A middleware that appends each exchange to `into` (put it first, so it sees the final response)."""

    @web.middleware
    async def recorder(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen = Captured(
            request.method,
            request.raw_path,
            {h: request.headers[h] for h in CONTRACT_HEADERS if h in request.headers},
            await request.read(),
        )
        into.append(seen)
        response = await handler(request)
        if isinstance(response, web.Response) and isinstance(response.body, bytes):
            seen.status, seen.response = response.status, response.body
            seen.content_type = response.headers.get("Content-Type", "")
        return response

    return recorder


def cases(provider: str) -> list[tuple[str, dict[str, Any]]]:
    """The recorded cases of `provider`: (name, case), by name."""
    folder = GOLDEN / provider
    return [
        (path.name.removesuffix(".json"), json.loads(path.read_text("utf-8")))
        for path in sorted(folder.glob("*.json"))
        if path.name.count(".") == 1
    ]


def body_file(provider: str, name: str | None) -> bytes:
    """A recorded body, byte for byte (empty when the case has none)."""
    return (GOLDEN / provider / name).read_bytes() if name else b""


def json_shape(value: Any) -> Any:
    """The shape of a JSON value: keys and types, no values."""
    if isinstance(value, dict):
        return {key: json_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_shape(item) for item in value[:1]]
    return type(value).__name__


def xml_shape(element: Any) -> Any:
    """The shape of an XML element: names, attributes and children, no text (so no volatile values)."""
    children = [child for child in element if isinstance(child.tag, str)]
    shaped = [xml_shape(child) for child in children]
    # Repeated siblings (activity codes, chain certificates) vary in number from record to record.
    deduplicated = [s for i, s in enumerate(shaped) if i == 0 or s != shaped[i - 1]]
    return (element.tag, dict(sorted(element.attrib.items())), deduplicated)


# ---------------------------------------------------------------------------------- recording
async def _record() -> None:
    sys.path.insert(0, str(HERE))
    from gateway import adapters as adapter_registry
    from gateway.adapters.base import AdapterContext, ProviderQuery
    from gateway.config import Provider
    from gateway.errors import GatewayError
    from gateway.signing.jws import JWSSigner
    from gateway.signing.pki import ensure_development_pki, load_identity
    from gateway.signing.trust import TrustStore
    from gateway_sandbox.commercial_register import RegisterRecords
    from gateway_sandbox.commercial_register import build as build_register
    from gateway_sandbox.commercial_register import make_app as register_app
    from gateway_sandbox.tax_directorate import TaxRecords
    from gateway_sandbox.tax_directorate import build as build_tax
    from gateway_sandbox.tax_directorate import make_app as tax_app
    from tests.adapters.adapter_kit import CNRC, DGI, GATEWAY, query, serve, server_tls, signing_identity

    work = Path(tempfile.mkdtemp(prefix="golden-"))
    pki = work / "pki"
    ensure_development_pki(pki)
    key, chain = load_identity(pki / GATEWAY)
    context = AdapterContext(None, JWSSigner(key, chain), TrustStore.from_pem_file(pki / "ca.pem"), GATEWAY, pki)
    build_tax(work / "dgi.sqlite3")
    build_register(work / "cnrc.sqlite3")
    taxes, register = TaxRecords(work / "dgi.sqlite3"), RegisterRecords(work / "cnrc.sqlite3")
    status_ids = taxes.examples("tax-status-certificate")
    registration_ids = taxes.examples("tax-registration")
    rc_ids = register.examples(3)
    plan: list[tuple[str, str, str, str, str, str]] = [  # provider, case, description, fault, type, subject
        (
            DGI,
            "situation-up-to-date",
            "tax situation of a taxpayer up to date",
            "none",
            "tax-status-certificate",
            status_ids["found"][0],
        ),
        (
            DGI,
            "situation-in-arrears",
            "tax situation of a taxpayer in arrears",
            "none",
            "tax-status-certificate",
            status_ids["found"][1],
        ),
        (
            DGI,
            "registration",
            "tax registration of a known taxpayer",
            "none",
            "tax-registration",
            registration_ids["found"][0],
        ),
        (
            DGI,
            "unknown-taxpayer",
            "404 CONTRIBUABLE_INCONNU: not found",
            "none",
            "tax-status-certificate",
            status_ids["missing"][0],
        ),
        (
            DGI,
            "internal-error",
            "500 ERREUR_INTERNE: provider_error",
            "error",
            "tax-registration",
            registration_ids["found"][0],
        ),
        (
            CNRC,
            "extract-active",
            "signed extract of an active company",
            "none",
            "commercial-register-extract",
            rc_ids["found"][0],
        ),
        (
            CNRC,
            "extract-struck-off",
            "signed extract of a company struck off",
            "none",
            "commercial-register-extract",
            rc_ids["found"][1],
        ),
        (
            CNRC,
            "unknown-entry",
            "fault RC_INCONNU: not found",
            "none",
            "commercial-register-extract",
            rc_ids["missing"][0],
        ),
        (
            CNRC,
            "internal-error",
            "fault ERREUR_INTERNE: provider_error",
            "error",
            "commercial-register-extract",
            rc_ids["found"][0],
        ),
    ]
    for provider, name, description, fault, doc_type, subject in plan:
        seen: list[Captured] = []
        if provider == DGI:
            app, tls, module, path = tax_app(taxes, fault=fault), server_tls(pki, DGI), "tax_directorate", ""
        else:
            signer_key, signer_chain = signing_identity(pki, CNRC)
            app, tls, module, path = (
                register_app(register, signer_key, signer_chain, fault=fault),
                None,
                "commercial_register",
                "/soap",
            )
        app.middlewares.insert(0, capture(seen))
        q: ProviderQuery = query(doc_type, subject)
        async with serve(app, tls) as port:
            url = f"{'https' if tls else 'http'}://127.0.0.1:{port}{path}"
            made = adapter_registry.create(Provider(provider, module, {"url": url}), context)
            await made.start()
            try:
                answer = await made.fetch(q, 5)
                expected: dict[str, Any] = {"found": answer.found, "data": dict(answer.data)}
            except GatewayError as exc:
                expected = {"problem": exc.code}
            finally:
                await made.close()
        (exchange,) = seen
        _write(provider, name, description, fault, q, exchange, expected)
        print(f"{provider}/{name}: {expected}")


def _write(
    provider: str, name: str, description: str, fault: str, q: Any, exchange: Captured, expected: dict[str, Any]
) -> None:
    folder = GOLDEN / provider
    folder.mkdir(parents=True, exist_ok=True)
    request: dict[str, Any] = {"method": exchange.method, "path": exchange.path, "headers": exchange.headers}
    if exchange.body:
        request["bodyFile"] = f"{name}.request.xml"
        (folder / request["bodyFile"]).write_bytes(exchange.body)
    suffix = "json" if "json" in exchange.content_type else "xml"
    response: dict[str, Any] = {
        "status": exchange.status,
        "contentType": exchange.content_type,
        "bodyFile": f"{name}.response.{suffix}",
    }
    (folder / response["bodyFile"]).write_bytes(exchange.response)
    case = {
        "description": description,
        "sandbox": {"fault": fault},
        "query": {
            "documentType": q.document_type,
            "purpose": q.purpose,
            "requester": q.requester,
            "subjectKind": q.subject_kind,
            "subjectId": q.subject_id,
        },
        "request": request,
        "response": response,
        "expected": expected,
    }
    (folder / f"{name}.json").write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    asyncio.run(_record())
