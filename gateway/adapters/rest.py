"""Any partner administration that answers over HTTPS (adapter `rest` in providers.toml), per
docs/protocol.md §10.2: the partner protocol's signed bodies, one POST each.

    POST {url}    Content-Type: application/jose    body: the query, a JWS signed by the gateway
    200           Content-Type: application/jose    body: the answer, a JWS signed by the partner
    429, 502, 503, 504: the partner is busy or down for a moment (the gateway may ask again);
    any other status: provider_error.

Mutual TLS: the gateway presents its own certificate; the server's must chain to the exchange
CA, name the host of `url`, and carry the provider's own code (CRLs included). The answer's
signature is checked again, so what is sealed never rests on the channel alone.

Options: `url` (https, required). A provider of this kind is configuration only: a
`[providers."<code>"]` block here, or in a type file given to `gateway catalogue add`.
"""

from __future__ import annotations

import asyncio

import aiohttp

from gateway.adapters import partner_protocol
from gateway.adapters.base import AdapterContext, ProviderAnswer, ProviderQuery
from gateway.adapters.http import client_session, client_tls, peer_participant, provider_errors, read_bounded
from gateway.config import Provider
from gateway.errors import ProviderError, ProviderUnavailable, TransientProviderError
from gateway.signing import jws

TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


class RestAdapter:
    """Puts each query to a partner's HTTPS endpoint and reads its signed answer."""

    def __init__(self, provider: Provider, context: AdapterContext) -> None:
        self.provider = provider.code
        self._url = provider.https_url()
        self._context = context
        self._tls = client_tls(context)
        self._verifier = jws.JWSVerifier(context.trust)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = client_session(
                self._tls,
                {"Content-Type": partner_protocol.CONTENT_TYPE, "Accept": partner_protocol.CONTENT_TYPE},
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, query: ProviderQuery, timeout: float) -> ProviderAnswer:
        if self._session is None:
            raise ProviderUnavailable(f"{self.provider}: adapter not started")
        body = partner_protocol.signed_query(self._context, query)
        with provider_errors(self.provider, timeout):
            async with (
                asyncio.timeout(timeout),
                self._session.post(self._url, data=body, allow_redirects=False) as resp,
            ):
                peer = peer_participant(resp, self._context.trust)
                if peer != self.provider:
                    raise ProviderError(f"the server at {self._url} is {peer!r}, not {self.provider!r}")
                answer = await read_bounded(resp)
                status, content_type = resp.status, resp.content_type
        if status != 200:
            error = TransientProviderError if status in TRANSIENT_STATUSES else ProviderError
            raise error(f"{self.provider} answered HTTP {status}")
        if content_type != partner_protocol.CONTENT_TYPE:
            raise ProviderError(f"{self.provider}: answer is {content_type or 'untyped'}, not application/jose")
        return partner_protocol.read_answer(self.provider, self._verifier, answer, query_id=query.query_id)


def create(provider: Provider, context: AdapterContext) -> RestAdapter:
    """The adapter for a provider configured with `adapter = "rest"`."""
    return RestAdapter(provider, context)
