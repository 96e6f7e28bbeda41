"""The commercial register (dz.commerce.cnrc), over SOAP 1.1 with signed extracts.

    POST {url}   SOAPAction: "urn:dz:cnrc:registre:v1#ConsulterExtrait"
    soap:Envelope/soap:Body/c:ConsulterExtrait/(c:NumeroRC, c:Demandeur)
    -> c:ConsulterExtraitReponse/c:Extrait Id="extrait", with an enveloped XMLDSig
       (Reference URI="#extrait") by the register's own certificate
    -> or a SOAP fault whose detail/c:CodeErreur is RC_INCONNU (no such entry) or an error.

The answer is parsed with no DTD, no entities and no network. The extract's signature is
verified with the certificate in its KeyInfo (never a default CA bundle), restricted to
ECDSA/RSA with SHA-256 or stronger, pinned to a child of the extract and to one reference
to the extract itself. That certificate must then chain to the exchange anchors and name
the provider itself. Only the verified signed element is read.

Options: `url` (required). With an `https` URL, the server must also present a
certificate of the exchange that names the provider: the SOAP faults, "no such entry"
included, are not signed, so over plain HTTP they are only as good as the network.
`Demandeur` carries the requester on whose behalf the gateway asks (e.g. `dz.cnas`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import ssl
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from lxml import etree

from gateway.adapters.base import AdapterContext, ProviderAnswer, ProviderQuery

# The HTTP edge shared with the other HTTP adapter (bounded reads, TLS peer identity).
from gateway.adapters.http import client_session, peer_participant, provider_errors, read_bounded
from gateway.config import ConfigError, Provider
from gateway.errors import GatewayError, ProviderError, ProviderUnavailable, TransientProviderError
from gateway.signing import chains
from gateway.signing.xmldsig import DS, signature_certificates, verify_enveloped

NS = "urn:dz:cnrc:registre:v1"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ACTION = f"{NS}#ConsulterExtrait"
NOT_FOUND = "RC_INCONNU"
TRANSIENT_STATUSES = frozenset({502, 503, 504})
MAX_ANSWER_BYTES = 256 * 1024
MAX_TEXT = 200
STATUSES = {"ACTIVE": "active", "RADIEE": "struck-off"}
#: The extract's fields, in the register's order.
FIELDS = (
    "NumeroRC",
    "Denomination",
    "FormeJuridique",
    "NIF",
    "SiegeSocial",
    "CodesActivite",
    "DateImmatriculation",
    "Statut",
)

_DSNS = {"ds": DS}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_NIF = re.compile(r"[0-9]{15}")
_ACTIVITY = re.compile(r"[0-9]{6}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _c(name: str) -> str:
    return f"{{{NS}}}{name}"


def build_request(rc: str, requester: str) -> bytes:
    """The ConsulterExtrait envelope for register number `rc`, asked for `requester`."""
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soap": SOAP_NS, "c": NS})
    operation = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_NS}}}Body"), _c("ConsulterExtrait"))
    etree.SubElement(operation, _c("NumeroRC")).text = rc
    etree.SubElement(operation, _c("Demandeur")).text = requester
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


class CommercialRegisterAdapter:
    """Asks a CNRC-style SOAP service for a signed register extract."""

    def __init__(self, provider: Provider, context: AdapterContext) -> None:
        self.provider = provider.code
        self._url = str(provider.options.get("url", ""))
        scheme = urlsplit(self._url).scheme
        if scheme not in ("http", "https"):
            raise ConfigError(f"providers.toml: {provider.code}.url must be an http(s) URL, not {self._url!r}")
        self._tls: ssl.SSLContext | None = None
        if scheme == "https":
            self._tls = ssl.create_default_context(cafile=str(context.pki_dir / "ca.pem"))
        self._trust = context.trust
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = client_session(self._tls if self._tls is not None else True)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, query: ProviderQuery, timeout: float) -> ProviderAnswer:
        if self._session is None:
            raise ProviderUnavailable(f"{self.provider}: adapter not started")
        if query.subject_kind != "RC":
            raise ProviderError(f"{self.provider} does not serve {query.document_type} by {query.subject_kind}")
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{SOAP_ACTION}"'}
        with provider_errors(self.provider, timeout):
            async with (
                asyncio.timeout(timeout),
                self._session.post(
                    self._url,
                    data=build_request(query.subject_id, query.requester),
                    headers=headers,
                    allow_redirects=False,
                ) as resp,
            ):
                if self._tls is not None and (peer := peer_participant(resp, self._trust)) != self.provider:
                    raise ProviderError(f"the server at {self._url} is {peer!r}, not {self.provider!r}")
                body = await read_bounded(resp, MAX_ANSWER_BYTES)
                status = resp.status
        return self.answer(query, status, body)

    def answer(self, query: ProviderQuery, status: int, body: bytes) -> ProviderAnswer:
        """The canonical answer to `query` from the service's HTTP status and SOAP envelope."""
        if status in TRANSIENT_STATUSES:
            raise TransientProviderError(f"{self.provider} answered HTTP {status}")
        if status not in (200, 500):
            raise ProviderError(f"{self.provider} answered HTTP {status}")
        payload = _body_payload(_parse(body))
        if payload.tag == f"{{{SOAP_NS}}}Fault":
            code = _fault_code(payload)
            if code == NOT_FOUND:
                return ProviderAnswer(self.provider, False, {}, dt.datetime.now(dt.UTC))
            raise ProviderError(f"{self.provider} answered the SOAP fault {code or '(no CodeErreur)'}")
        if status != 200 or payload.tag != _c("ConsulterExtraitReponse") or len(payload) != 1:
            raise ProviderError(f"{self.provider}: the answer is not a ConsulterExtraitReponse")
        extract = payload[0]
        if extract.tag != _c("Extrait"):
            raise ProviderError(f"{self.provider}: the answer carries no Extrait")
        data = _read_extract(self._verify(extract), query.subject_id)
        return ProviderAnswer(self.provider, True, data, dt.datetime.now(dt.UTC))

    def _verify(self, extract: etree._Element) -> etree._Element:
        """The signed extract, once its signature, its signer's chain and its signer's code check out."""
        signature = _signature_of(extract)
        try:
            chain = signature_certificates(signature)
        except GatewayError as exc:
            raise ProviderError(f"{self.provider}: the extract's signature is unusable ({exc.code})") from None
        try:
            signed = verify_enveloped(extract, signature, chain.leaf)
        except GatewayError as exc:
            raise ProviderError(f"{self.provider}: the extract's signature does not verify ({exc.detail})") from None
        except (ValueError, etree.LxmlError) as exc:
            raise ProviderError(
                f"{self.provider}: the extract's signature does not verify ({type(exc).__name__})"
            ) from None
        if signed.tag != _c("Extrait") or signed.get("Id") != extract.get("Id"):
            raise ProviderError(f"{self.provider}: the signature does not cover the extract")
        try:
            signer = self._trust.verify(chain.leaf, chain.others)
        except GatewayError as exc:
            raise ProviderError(f"{self.provider}: the extract's signer is refused ({exc.code})") from None
        if signer.participant != self.provider:
            raise ProviderError(f"{self.provider}: the extract is signed by {signer.participant!r}")
        chains.remember(chain)
        return signed


def _parse(body: bytes) -> etree._Element:
    """The answer, parsed with no DTD, no entities and no network; else provider_error."""
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        raise ProviderError("the answer is not well-formed XML") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ProviderError("the answer declares a DTD")
    for _ in root.iter(etree.Entity):
        raise ProviderError("the answer holds an entity reference")
    return root


def _body_payload(root: etree._Element) -> etree._Element:
    bodies = root.findall(f"{{{SOAP_NS}}}Body") if root.tag == f"{{{SOAP_NS}}}Envelope" else []
    elements = [child for child in bodies[0] if isinstance(child.tag, str)] if len(bodies) == 1 else []
    if len(elements) != 1:
        raise ProviderError("the answer is not a SOAP 1.1 envelope with one body element")
    payload: etree._Element = elements[0]
    return payload


def _fault_code(fault: etree._Element) -> str:
    code = fault.findtext(f"detail/{_c('CodeErreur')}")
    code = (code or "").strip()
    return code if _CODE.fullmatch(code) else ""


def _signature_of(extract: etree._Element) -> etree._Element:
    """The extract's one enveloped signature, when its shape is the register's."""
    signatures = extract.findall(f".//{{{DS}}}Signature")
    if len(signatures) != 1 or signatures[0].getparent() is not extract:
        raise ProviderError("the extract must carry exactly one enveloped signature")
    signature: etree._Element = signatures[0]
    ident = extract.get("Id")
    references = signature.findall("ds:SignedInfo/ds:Reference", _DSNS)
    if not ident or len(references) != 1 or references[0].get("URI") != f"#{ident}":
        raise ProviderError("the signature must have one Reference, to the extract itself")
    return signature  # methods and transforms are verify_enveloped's to check


def _text(element: etree._Element, pattern: re.Pattern[str] | None = None) -> str:
    value = (element.text or "").strip()
    if len(element) or not value or len(value) > MAX_TEXT or (pattern is not None and not pattern.fullmatch(value)):
        raise ProviderError(f"the extract's {etree.QName(element).localname} is out of shape")
    return value


def _read_extract(signed: etree._Element, rc: str) -> dict[str, Any]:
    """The canonical Data of a verified extract about register number `rc`."""
    children = [child for child in signed if isinstance(child.tag, str)]
    if [child.tag for child in children] != [_c(name) for name in FIELDS]:
        raise ProviderError("the extract's fields are not the register's")
    fields = dict(zip(FIELDS, children, strict=True))
    if _text(fields["NumeroRC"]) != rc:
        raise ProviderError("the extract is about another register entry")
    codes = fields["CodesActivite"]
    if not len(codes) or any(code.tag != _c("CodeActivite") for code in codes):
        raise ProviderError("the extract's CodesActivite is out of shape")
    date = _text(fields["DateImmatriculation"], _DATE)
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        raise ProviderError("the extract's DateImmatriculation is not a date") from None
    status = _text(fields["Statut"])
    if status not in STATUSES:
        raise ProviderError(f"the extract's Statut is not one of {sorted(STATUSES)}")
    return {
        "companyName": _text(fields["Denomination"]),
        "legalForm": _text(fields["FormeJuridique"]),
        "nif": _text(fields["NIF"], _NIF),
        "headOffice": _text(fields["SiegeSocial"]),
        "activityCodes": [_text(code, _ACTIVITY) for code in codes],
        "registrationDate": date,
        "status": STATUSES[status],
    }


def create(provider: Provider, context: AdapterContext) -> CommercialRegisterAdapter:
    """The adapter for a provider configured with `adapter = "commercial_register"`."""
    return CommercialRegisterAdapter(provider, context)
