"""The tax directorate (dz.finances.dgi), over its JSON REST API with mutual TLS.

The gateway presents its own certificate (`pki_dir/<gateway>/cert.pem`, `key.pem`) and
accepts only a server whose certificate chains to the exchange CA (`pki_dir/ca.pem`), names
the host, and whose subject's organizationIdentifier is the provider's own code (checked
again by the trust store, CRLs included).

    GET {url}/api/v1/contribuables/{nif}/situation
        {"nif", "raisonSociale", "situationFiscale": "A_JOUR"|"EN_RETARD", "periode": {"du", "au"}}
    GET {url}/api/v1/contribuables/{nif}/immatriculation
        {"nif", "raisonSociale", "formeJuridique", "adresse", "centreImpots", "dateImmatriculation"}
    errors: {"erreur": CODE, "message"}; 404 CONTRIBUABLE_INCONNU means "no such taxpayer".

Options: `url` (https, required); `documents`, a table from document type to `situation`
or `immatriculation`, added to the two built-in types (so another administration with this
same interface is configuration only).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog

from gateway.adapters.base import AdapterContext, ProviderAnswer, ProviderQuery
from gateway.adapters.http import client_session, client_tls, peer_participant, provider_errors, read_bounded
from gateway.config import ConfigError, Provider
from gateway.errors import Malformed, ProviderError, ProviderUnavailable, TransientProviderError
from gateway.signing import safe_json

log = structlog.get_logger(__name__)

#: Built-in document types and the resource that answers each.
DOCUMENTS: Mapping[str, str] = {"tax-status-certificate": "situation", "tax-registration": "immatriculation"}
SITUATIONS = {"A_JOUR": "up-to-date", "EN_RETARD": "in-arrears"}
NOT_FOUND = "CONTRIBUABLE_INCONNU"
TRANSIENT_STATUSES = frozenset({502, 503, 504})
MAX_TEXT = 200

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")


class TaxDirectorateAdapter:
    """Asks a DGI-style REST service, over mutual TLS, about one taxpayer."""

    def __init__(self, provider: Provider, context: AdapterContext) -> None:
        self.provider = provider.code
        self._base = provider.https_url().rstrip("/")
        extra = provider.options.get("documents", {})
        if not isinstance(extra, Mapping):
            raise ConfigError(f"providers.toml: {provider.code}.documents must be a table")
        self._documents = {**DOCUMENTS, **{str(k): str(v) for k, v in extra.items()}}
        if unknown := set(self._documents.values()) - set(_READERS):
            raise ConfigError(f"providers.toml: {provider.code}.documents: unknown resources {sorted(unknown)}")
        self._tls = client_tls(context)
        self._trust = context.trust
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = client_session(self._tls, {"Accept": "application/json"})

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def path(self, query: ProviderQuery) -> str:
        """The resource path that answers `query` (its NIF is the path's only variable part)."""
        resource = self._documents.get(query.document_type)
        if resource is None or query.subject_kind != "NIF":
            raise ProviderError(f"{self.provider} does not serve {query.document_type} by {query.subject_kind}")
        return f"/api/v1/contribuables/{quote(query.subject_id, safe='')}/{resource}"

    async def fetch(self, query: ProviderQuery, timeout: float) -> ProviderAnswer:
        if self._session is None:
            raise ProviderUnavailable(f"{self.provider}: adapter not started")
        path = self.path(query)
        with provider_errors(self.provider, timeout):
            async with asyncio.timeout(timeout), self._session.get(self._base + path, allow_redirects=False) as resp:
                peer = peer_participant(resp, self._trust)
                if peer != self.provider:
                    raise ProviderError(f"the server at {self._base} is {peer!r}, not {self.provider!r}")
                body = await read_bounded(resp)
                status, content_type = resp.status, resp.content_type
        return self.answer(query, status, content_type, body)

    def answer(self, query: ProviderQuery, status: int, content_type: str, body: bytes) -> ProviderAnswer:
        """The canonical answer to `query` from the service's HTTP status and body."""
        if status == 200:
            document = _json(body, content_type)
            reader = _READERS[self._documents[query.document_type]]
            data = _Reader(self.provider, document).read(reader, query.subject_id)
            return ProviderAnswer(self.provider, True, data, dt.datetime.now(dt.UTC))
        code = _error_code(body)
        if status == 404 and code == NOT_FOUND:
            return ProviderAnswer(self.provider, False, {}, dt.datetime.now(dt.UTC))
        error = TransientProviderError if status in TRANSIENT_STATUSES else ProviderError
        raise error(f"{self.provider} answered HTTP {status} {code or '(no error code)'}")


def _json(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type != "application/json":
        raise ProviderError(f"answer is {content_type or 'untyped'}, not application/json")
    try:
        document = safe_json.loads(body)
    except Malformed:
        raise ProviderError("answer is not JSON") from None
    if not isinstance(document, dict):
        raise ProviderError("answer is not a JSON object")
    return document


def _error_code(body: bytes) -> str:
    """The service's error code, when the body carries a well-formed one (never free text)."""
    try:
        document = safe_json.loads(body)
    except Malformed:
        return ""
    code = document.get("erreur") if isinstance(document, dict) else None
    return code if isinstance(code, str) and _CODE.fullmatch(code) else ""


class _Reader:
    """Reads fields from one answer; anything missing or out of shape is provider_error."""

    def __init__(self, provider: str, document: Mapping[str, Any]) -> None:
        self.provider = provider
        self.document = document

    def read(self, reader: Callable[[_Reader], dict[str, Any]], nif: str) -> dict[str, Any]:
        if self.document.get("nif") != nif:
            raise ProviderError(f"{self.provider} answered about another taxpayer")
        return reader(self)

    def _raw(self, path: str) -> Any:
        value: Any = self.document
        for key in path.split("."):
            if not isinstance(value, Mapping) or key not in value:
                raise ProviderError(f"{self.provider}: answer has no {path!r}")
            value = value[key]
        return value

    def text(self, path: str) -> str:
        value = self._raw(path)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            raise ProviderError(f"{self.provider}: {path!r} is not a text of 1 to {MAX_TEXT} characters")
        return value.strip()

    def date(self, path: str) -> str:
        value = self._raw(path)
        try:
            if not isinstance(value, str) or not _DATE.fullmatch(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ProviderError(f"{self.provider}: {path!r} is not a YYYY-MM-DD date") from None

    def choice(self, path: str, values: Mapping[str, str]) -> str:
        value = self._raw(path)
        if not isinstance(value, str) or value not in values:
            raise ProviderError(f"{self.provider}: {path!r} is not one of {sorted(values)}")
        return values[value]


def _situation(r: _Reader) -> dict[str, Any]:
    data = {
        "taxpayerName": r.text("raisonSociale"),
        "situation": r.choice("situationFiscale", SITUATIONS),
        "periodFrom": r.date("periode.du"),
        "periodTo": r.date("periode.au"),
    }
    if data["periodFrom"] > data["periodTo"]:
        raise ProviderError(f"{r.provider}: the period ends before it starts")
    return data


def _registration(r: _Reader) -> dict[str, Any]:
    return {
        "taxpayerName": r.text("raisonSociale"),
        "legalForm": r.text("formeJuridique"),
        "address": r.text("adresse"),
        "taxCentre": r.text("centreImpots"),
        "registrationDate": r.date("dateImmatriculation"),
    }


_READERS: dict[str, Callable[[_Reader], dict[str, Any]]] = {"situation": _situation, "immatriculation": _registration}


def create(provider: Provider, context: AdapterContext) -> TaxDirectorateAdapter:
    """The adapter for a provider configured with `adapter = "tax_directorate"`."""
    return TaxDirectorateAdapter(provider, context)
