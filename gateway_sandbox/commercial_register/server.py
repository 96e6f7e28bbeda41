"""Native SOAP 1.1 interface of the commercial register (CNRC) sandbox, with signed extracts."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml.algorithms import SignatureConstructionMethod
from signxml.signer import XMLSigner

from gateway_sandbox.commercial_register.records import RegisterRecords

NS = "urn:dz:cnrc:registre:v1"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ACTION = f"{NS}#ConsulterExtrait"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
FAULTS = ("none", "slow", "error", "malformed", "badsig", "down-after-headers")
WSDL_PATH = Path(__file__).with_name("cnrc.wsdl")

log = logging.getLogger("gateway_sandbox.commercial_register")

_RC = re.compile(r"[0-9]{2}/[0-9]{2}-[0-9]{7}[AB][0-9]{2}")
_FAULT_STRINGS = {
    "RC_INCONNU": "Registre introuvable",
    "RC_INVALIDE": "Numéro de registre du commerce invalide",
    "REQUETE_INVALIDE": "Requête SOAP invalide",
    "ACTION_INCONNUE": "Action SOAP inconnue",
    "ERREUR_INTERNE": "Erreur interne du service",
}
_NSMAP = {"soap": SOAP_NS, "c": NS}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SigningIdentity:
    """The CNRC's signing key and certificate chain, loaded once."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, chain_pem: list[bytes]) -> None:
        """Keep `key` and parse `chain_pem` (signing certificate first)."""
        self.key = key
        self.chain = [x509.load_pem_x509_certificate(pem) for pem in chain_pem]
        self.signer = XMLSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm="ecdsa-sha256",
            digest_algorithm="sha256",
            c14n_algorithm=EXC_C14N,
        )

    def sign(self, element: etree._Element) -> etree._Element:
        """Return `element` with an enveloped ds:Signature appended inside it."""
        signed: etree._Element = self.signer.sign(element, key=self.key, cert=self.chain)
        return signed


class BadRequest(Exception):
    """A request the service refuses with a SOAP fault carrying `code`."""

    def __init__(self, code: str) -> None:
        """Remember the CNRC error code."""
        super().__init__(code)
        self.code = code


IDENTITY_KEY = web.AppKey("identity", SigningIdentity)
RECORDS_KEY = web.AppKey("records", RegisterRecords)
FAULT_KEY = web.AppKey("fault", str)
DELAY_KEY = web.AppKey("delay_ms", int)
WSDL_KEY = web.AppKey("wsdl", bytes)
SUBJECT_KEY = web.RequestKey("subject", str)
REQUESTER_KEY = web.RequestKey("requester", str)


def pseudonym(value: str) -> str:
    """Return a short sha256 prefix standing for `value` in logs."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def _c(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _envelope(payload: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap=_NSMAP)
    etree.SubElement(envelope, f"{{{SOAP_NS}}}Body").append(payload)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def _xml(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="text/xml", charset="utf-8")


def soap_fault(code: str) -> web.Response:
    """Build the HTTP 500 SOAP 1.1 fault for a CNRC error code."""
    fault = etree.Element(f"{{{SOAP_NS}}}Fault", nsmap=_NSMAP)
    side = "Server" if code == "ERREUR_INTERNE" else "Client"
    etree.SubElement(fault, "faultcode").text = f"soap:{side}"
    etree.SubElement(fault, "faultstring").text = _FAULT_STRINGS[code]
    etree.SubElement(etree.SubElement(fault, "detail"), _c("CodeErreur")).text = code
    return _xml(_envelope(fault), status=500)


def parse_request(body: bytes) -> tuple[str, str]:
    """Return (NumeroRC, Demandeur) from a ConsulterExtrait envelope, or raise BadRequest."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        raise BadRequest("REQUETE_INVALIDE") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise BadRequest("REQUETE_INVALIDE")
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise BadRequest("REQUETE_INVALIDE")
    bodies = root.findall(f"{{{SOAP_NS}}}Body")
    if len(bodies) != 1 or len(bodies[0]) != 1 or bodies[0][0].tag != _c("ConsulterExtrait"):
        raise BadRequest("REQUETE_INVALIDE")
    operation = bodies[0][0]
    fields = {child.tag: (child.text or "").strip() for child in operation}
    if len(operation) != 2 or set(fields) != {_c("NumeroRC"), _c("Demandeur")}:
        raise BadRequest("REQUETE_INVALIDE")
    if not fields[_c("Demandeur")]:
        raise BadRequest("REQUETE_INVALIDE")
    return fields[_c("NumeroRC")], fields[_c("Demandeur")]


def build_extract(extract: dict[str, Any]) -> etree._Element:
    """Build the unsigned c:Extrait element (its own root, so signing sees no SOAP context)."""
    element = etree.Element(_c("Extrait"), nsmap={"c": NS}, Id="extrait")
    for name in ("NumeroRC", "Denomination", "FormeJuridique", "NIF", "SiegeSocial"):
        etree.SubElement(element, _c(name)).text = extract[name]
    codes = etree.SubElement(element, _c("CodesActivite"))
    for code in extract["CodesActivite"]:
        etree.SubElement(codes, _c("CodeActivite")).text = code
    etree.SubElement(element, _c("DateImmatriculation")).text = extract["DateImmatriculation"]
    etree.SubElement(element, _c("Statut")).text = extract["Statut"]
    return element


def _tamper(signed: etree._Element) -> None:
    """Alter signed content after signing (the `badsig` fault): flip the status."""
    status = signed.find(_c("Statut"))
    if status is not None:
        status.text = "ACTIVE" if status.text == "RADIEE" else "RADIEE"


async def _cut_short(request: web.Request) -> web.StreamResponse:
    """Send headers and a few body bytes, then drop the connection."""
    response = web.StreamResponse(status=200)
    response.content_type = "text/xml"
    response.content_length = 4096
    await response.prepare(request)
    await response.write(b"<?xml version='1.0' encoding='UTF-8'?>\n<soap:Envelope")
    if request.transport is not None:
        request.transport.abort()
    return response


async def _soap(request: web.Request) -> web.StreamResponse:
    app = request.app
    fault = app[FAULT_KEY]
    if fault == "slow":
        await asyncio.sleep(app[DELAY_KEY] / 1000)
    elif fault == "error":
        return soap_fault("ERREUR_INTERNE")
    elif fault == "malformed":
        return web.Response(status=200, content_type="text/xml", text="<html><body>Service indisponible</body></html")
    elif fault == "down-after-headers":
        return await _cut_short(request)
    if request.headers.get("SOAPAction", "").strip().strip('"') != SOAP_ACTION:
        return soap_fault("ACTION_INCONNUE")
    try:
        rc, requester = parse_request(await request.read())
    except BadRequest as exc:
        return soap_fault(exc.code)
    request[SUBJECT_KEY] = pseudonym(rc)
    request[REQUESTER_KEY] = requester
    if not _RC.fullmatch(rc):
        return soap_fault("RC_INVALIDE")
    extract = app[RECORDS_KEY].extract(rc)
    if extract is None:
        return soap_fault("RC_INCONNU")
    signed = app[IDENTITY_KEY].sign(build_extract(extract))
    if fault == "badsig":
        _tamper(signed)
    answer = etree.Element(_c("ConsulterExtraitReponse"), nsmap={"c": NS})
    answer.append(signed)
    return _xml(_envelope(answer))


async def _wsdl(request: web.Request) -> web.Response:
    if "wsdl" not in request.query:
        return web.Response(status=404, text="Ajoutez ?wsdl pour obtenir la description.\n")
    location = f"{request.scheme}://{request.host}/soap".encode()
    return _xml(request.app[WSDL_KEY].replace(b"http://127.0.0.1:8080/soap", location))


@web.middleware
async def _access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Write one JSON line per request; the RC number only as a pseudonym."""
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
                    "service": "cnrc",
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "requester": request.get(REQUESTER_KEY),
                    "subject": request.get(SUBJECT_KEY),
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
            )
        )


def make_app(
    records: RegisterRecords,
    signer_key: ec.EllipticCurvePrivateKey,
    signer_cert_chain_pem: list[bytes],
    *,
    fault: str = "none",
    delay_ms: int = 0,
) -> web.Application:
    """Build the CNRC web application (GET /soap?wsdl, POST /soap)."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS}")
    app = web.Application(middlewares=[_access_log], client_max_size=64 * 1024)
    app[RECORDS_KEY] = records
    app[IDENTITY_KEY] = SigningIdentity(signer_key, signer_cert_chain_pem)
    app[FAULT_KEY] = fault
    app[DELAY_KEY] = delay_ms
    app[WSDL_KEY] = WSDL_PATH.read_bytes()
    app.router.add_get("/soap", _wsdl)
    app.router.add_post("/soap", _soap)
    return app
