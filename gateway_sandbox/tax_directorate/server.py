"""Native JSON REST interface of the tax directorate (DGI) sandbox, served over mutual TLS."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509

from gateway_sandbox.tax_directorate.records import TaxRecords

FAULTS = ("none", "slow", "error", "malformed", "down-after-headers")
DEFAULT_ALLOWED_CLIENTS = frozenset({"dz.exchange.gateway"})
ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")

log = logging.getLogger("gateway_sandbox.tax_directorate")

_NIF = re.compile(r"[0-9]{15}")
_NIF_IN_PATH = re.compile(r"(/contribuables/)([^/]*)")

RECORDS_KEY = web.AppKey("records", TaxRecords)
FAULT_KEY = web.AppKey("fault", str)
DELAY_KEY = web.AppKey("delay_ms", int)
ALLOWED_KEY = web.AppKey("allowed_clients", frozenset)
CLIENT_KEY = web.RequestKey("client", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def pseudonym(value: str) -> str:
    """Return a short sha256 prefix standing for `value` in logs."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def redact_path(path: str) -> str:
    """Replace the NIF segment of a request path by its pseudonym."""
    return _NIF_IN_PATH.sub(lambda m: m.group(1) + pseudonym(m.group(2)), path)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"erreur": code, "message": message}, status=status)


def client_organization(request: web.Request) -> str | None:
    """Return the organizationIdentifier of the TLS client certificate, if any."""
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    attributes = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(ORGANIZATION_IDENTIFIER)
    if not attributes:
        return None
    value = attributes[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


@web.middleware
async def _access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Write one JSON line per request, with the NIF pseudonymised."""
    started = time.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        log.info(
            json.dumps(
                {
                    "service": "dgi",
                    "method": request.method,
                    "path": redact_path(request.path),
                    "status": status,
                    "client": request.get(CLIENT_KEY),
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
            )
        )


@web.middleware
async def _authorise(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse clients whose certificate does not name an allowed participant."""
    organization = client_organization(request)
    if organization is not None:
        request[CLIENT_KEY] = organization
    if organization is None or organization not in request.app[ALLOWED_KEY]:
        return _error(403, "CLIENT_NON_AUTORISE", "Le certificat client ne désigne pas un partenaire autorisé.")
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _error(404, "RESSOURCE_INCONNUE", "Ressource inconnue.")
    except web.HTTPMethodNotAllowed:
        return _error(405, "METHODE_NON_AUTORISEE", "Méthode non autorisée.")


async def _apply_fault(request: web.Request) -> web.StreamResponse | None:
    """Return the response a fault mode substitutes for the real one, if any."""
    fault = request.app[FAULT_KEY]
    if fault == "slow":
        await asyncio.sleep(request.app[DELAY_KEY] / 1000)
    elif fault == "error":
        return _error(500, "ERREUR_INTERNE", "Erreur interne du service.")
    elif fault == "malformed":
        return web.Response(
            status=200, content_type="application/json", text="<html><body>Service indisponible</body></html>"
        )
    elif fault == "down-after-headers":
        response = web.StreamResponse(status=200)
        response.content_type = "application/json"
        response.content_length = 4096
        await response.prepare(request)
        await response.write(b'{"nif": ')
        if request.transport is not None:
            request.transport.abort()
        return response
    return None


def _lookup(kind: str) -> Handler:
    """Build a handler answering one document kind for the NIF in the path."""

    async def handle(request: web.Request) -> web.StreamResponse:
        nif = request.match_info["nif"]
        if not _NIF.fullmatch(nif):
            return _error(400, "NIF_INVALIDE", "Le NIF doit comporter exactement 15 chiffres.")
        faulty = await _apply_fault(request)
        if faulty is not None:
            return faulty
        records = request.app[RECORDS_KEY]
        document: dict[str, Any] | None = records.situation(nif) if kind == "situation" else records.registration(nif)
        if document is None:
            return _error(404, "CONTRIBUABLE_INCONNU", "Aucun contribuable ne porte ce NIF.")
        return web.json_response(document)

    return handle


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"etat": "ok"})


def make_app(
    records: TaxRecords,
    *,
    fault: str = "none",
    delay_ms: int = 0,
    allowed_clients: frozenset[str] = DEFAULT_ALLOWED_CLIENTS,
) -> web.Application:
    """Build the DGI web application; faults apply to the taxpayer routes only."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
    app = web.Application(middlewares=[_access_log, _authorise], client_max_size=16 * 1024)
    app[RECORDS_KEY] = records
    app[FAULT_KEY] = fault
    app[DELAY_KEY] = delay_ms
    app[ALLOWED_KEY] = allowed_clients
    app.router.add_get("/api/v1/sante", _health)
    app.router.add_get("/api/v1/contribuables/{nif}/situation", _lookup("situation"))
    app.router.add_get("/api/v1/contribuables/{nif}/immatriculation", _lookup("immatriculation"))
    return app


def make_ssl_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """Build a server TLS context that requires a client certificate chaining to `ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(str(cert), str(key))
    return context
