"""What the HTTP adapters share: mutual TLS with the gateway's identity, the server's
certificate as a participant code, and bounded reads of answers."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

import aiohttp
from cryptography import x509

from gateway.adapters.base import AdapterContext
from gateway.config import ConfigError
from gateway.errors import GatewayError, ProviderError, ProviderTimeout, ProviderUnavailable, TransientProviderError
from gateway.signing.trust import TrustStore

MAX_ANSWER_BYTES = 64 * 1024


def client_tls(context: AdapterContext) -> ssl.SSLContext:
    """TLS for a client that proves itself with the gateway's certificate and trusts only the exchange CA."""
    identity = context.pki_dir / context.gateway_participant
    try:
        tls = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(context.pki_dir / "ca.pem"))
        tls.load_cert_chain(str(identity / "cert.pem"), str(identity / "key.pem"))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"the TLS identity under {context.pki_dir} cannot be loaded: {exc}") from None
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    return tls


class PeerAwareResponse(aiohttp.ClientResponse):
    """A response that remembers the certificate of the TLS server it came from.

    The certificate is taken when the response starts: a small body can be read, and its
    connection released, before the caller looks.
    """

    peer_certificate: bytes | None = None

    async def start(self, connection: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        transport = connection.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        self.peer_certificate = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        return await super().start(connection)


def peer_participant(response: aiohttp.ClientResponse, trust: TrustStore) -> str:
    """The participant code of the server certificate that `response` came over."""
    der = response.peer_certificate if isinstance(response, PeerAwareResponse) else None
    if not der:
        raise ProviderError("the server presented no certificate")
    try:
        return trust.verify(x509.load_der_x509_certificate(der)).participant
    except GatewayError as exc:
        raise ProviderError(f"the server's certificate is refused ({exc.code})") from None
    except ValueError:
        raise ProviderError("the server's certificate is unreadable") from None


async def read_bounded(response: aiohttp.ClientResponse, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """The body, or provider_error when it is larger than `limit` bytes."""
    if response.content_length is not None and response.content_length > limit:
        raise ProviderError(f"answer of {response.content_length} bytes exceeds {limit}")
    body = bytearray()
    async for chunk in response.content.iter_chunked(16384):
        body += chunk
        if len(body) > limit:
            raise ProviderError(f"answer exceeds {limit} bytes")
    return bytes(body)


def client_session(tls: ssl.SSLContext | bool, headers: dict[str, str] | None = None) -> aiohttp.ClientSession:
    """The HTTP client of an adapter: its TLS, a bounded pool, time limits set per call, and
    responses that remember the server's certificate."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=tls, limit=100),
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=None),
        response_class=PeerAwareResponse,
    )


def _cause(exc: aiohttp.ClientConnectorError) -> str:
    return type(exc.os_error).__name__ if exc.os_error is not None else type(exc).__name__


@contextlib.contextmanager
def provider_errors(provider: str, timeout: float) -> Iterator[None]:
    """Translates what aiohttp and the socket raise during one call into the gateway's codes:
    a timeout is provider_timeout, a refused connection provider_unavailable, a cut one a
    transient provider_error (worth a retry), a TLS failure or a garbled answer provider_error."""
    try:
        yield
    except TimeoutError:
        raise ProviderTimeout(f"{provider} did not answer within {timeout:.1f} s") from None
    except aiohttp.ClientSSLError as exc:
        raise ProviderError(f"TLS with {provider} failed: {_cause(exc)}") from None
    except aiohttp.ClientConnectorError as exc:
        raise ProviderUnavailable(f"{provider} cannot be reached: {_cause(exc)}") from None
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError) as exc:
        raise TransientProviderError(f"{provider} cut the connection: {type(exc).__name__}") from None
    except aiohttp.ClientError as exc:
        raise ProviderError(f"{provider}: unreadable HTTP answer ({type(exc).__name__})") from None
    except OSError as exc:  # a socket or TLS error that aiohttp did not wrap
        raise TransientProviderError(f"{provider}: connection failed ({type(exc).__name__})") from None
