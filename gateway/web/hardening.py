"""What every HTTP answer of the gateway carries, who the client is behind a trusted proxy, and
the server's time limits.

- **Headers.** `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`, a content
  security policy that allows no script, no framing, no `<base>` and forms to this origin only,
  `X-Frame-Options: DENY`, `Cache-Control: no-store` (answers carry personal data; the
  schemas, the catalogue and the OpenAPI and AsyncAPI documents may be cached),
  `Strict-Transport-Security` when the request came over TLS, and a `Server` header that names
  no software version.
- **Trusted proxies.** A request whose peer is one of `trusted_proxies` takes its client's
  address from `X-Forwarded-For` (the nearest address that is not itself a trusted proxy) and
  its scheme from `X-Forwarded-Proto`. From any other peer both headers are ignored.
- **Time limits.** A connection that has not sent a whole request's headers within
  `header_timeout_seconds` of opening (or of its previous answer) is closed; a body is read
  within `body_timeout_seconds` (see `gateway.transports.http.read_limited`). The answer to a
  body that could not be decoded closes its connection.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from gateway.runtime.worker import gateway_of

SERVER = "dz-exchange-gateway"
CSP = (
    "default-src 'self'; script-src 'none'; style-src 'unsafe-inline'; object-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STATIC_HEADERS = {
    "Server": SERVER,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # not no-referrer: browsers would then send `Origin: null` on posts
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000; includeSubDomains"
#: Paths whose answers hold no personal data and change only with the configuration.
CACHEABLE = ("/v1/schemas/", "/v1/document-types", "/v1/openapi.json", "/v1/asyncapi.json")
Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _in(address: str | None, networks: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_behind(request: web.Request, proxies: Networks) -> tuple[str | None, str | None]:
    """(address, scheme) of the client, when the peer is a trusted proxy; else (None, None)."""
    if not proxies or not _in(request.remote, proxies):
        return None, None
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
    address = next((h for h in reversed(hops) if not _in(h, proxies)), None)
    if address is not None and not _valid_ip(address):
        address = None
    protos = [p.strip().lower() for p in request.headers.get("X-Forwarded-Proto", "").split(",") if p.strip()]
    scheme = protos[-1] if protos and protos[-1] in ("http", "https") else None
    return address, scheme


def _valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@web.middleware
async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The request as its client sent it, when a trusted proxy passed it on."""
    address, scheme = client_behind(request, gateway_of(request).config.settings.trusted_proxies)
    if address is not None or scheme is not None:
        changes: dict[str, str] = {}
        if address is not None:
            changes["remote"] = address
        if scheme is not None:
            changes["scheme"] = scheme
        request = request.clone(**changes)  # type: ignore[arg-type]
    return await handler(request)


def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.update(STATIC_HEADERS)
    if not request.path.startswith(CACHEABLE):
        headers["Cache-Control"] = "no-store"
    if request.secure:
        headers["Strict-Transport-Security"] = HSTS


@web.middleware
async def secure_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer's security headers, HSTS included when the client's request came over TLS."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure_headers(request, exc)
        raise
    _secure_headers(request, response)
    return response


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """The headers that need nothing from the request, also on answers no handler made (a 500)."""
    for name, value in STATIC_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Server"] = SERVER
    if not request.path.startswith(CACHEABLE):
        response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def close_after_broken_body(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The answer to a request whose body could not be decoded (a `Content-Encoding` that does not decode)
    says `Connection: close`: the server cannot read another request on that connection."""
    response = await handler(request)
    if request.content.exception() is not None:
        response.force_close()
    return response


def install(app: web.Application) -> None:
    """The middlewares (outermost first) and the prepare hook, on `app`."""
    app.middlewares.extend([forwarded, secure_headers, close_after_broken_body])
    app.on_response_prepare.append(on_prepare)
