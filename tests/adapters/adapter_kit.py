"""Helpers shared by the adapter tests: in-process servers, refused ports, queries, foreign certificates."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml.algorithms import SignatureConstructionMethod
from signxml.signer import XMLSigner

from gateway.adapters.base import Adapter, ProviderQuery
from gateway.config import DocumentType
from gateway.pipeline.admit import Admitted
from gateway.pipeline.values import Request
from gateway.signing.pki import Issued, cert_pem, key_pem
from gateway.signing.trust import Signer
from gateway_sandbox.commercial_register import server as register_server
from gateway_sandbox.tax_directorate import make_ssl_context

GATEWAY = "dz.exchange.gateway"
DGI = "dz.finances.dgi"
CNRC = "dz.commerce.cnrc"
PURPOSES = {
    "tax-status-certificate": "contribution-recovery",
    "tax-registration": "employer-registration",
    "commercial-register-extract": "employer-registration",
}
SUBJECT_KINDS = {"tax-status-certificate": "NIF", "tax-registration": "NIF", "commercial-register-extract": "RC"}
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
TEST_ADMINISTRATION = "dz.test.registre"

Sandbox = Callable[..., AbstractAsyncContextManager[str]]
Running = Callable[..., AbstractAsyncContextManager[Adapter]]


def query(document_type: str, subject_id: str, *, requester: str = "dz.cnas") -> ProviderQuery:
    """A canonical query for one subject, as the router builds it."""
    return ProviderQuery(
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        document_type,
        PURPOSES.get(document_type, "contribution-recovery"),
        requester,
        SUBJECT_KINDS.get(document_type, "NIF"),
        subject_id,
    )


def admitted(
    doc_type: DocumentType, subject_id: str, *, deadline_seconds: float | None = None, signer: Signer | None = None
) -> Admitted:
    """An admitted request for `doc_type`, with a deadline of `deadline_seconds` (default: the type's SLA)."""
    now = dt.datetime.now(dt.UTC)
    seconds = doc_type.sla_seconds if deadline_seconds is None else deadline_seconds
    purpose = next(iter(doc_type.purposes))
    request = Request(
        "xml",
        str(uuid.uuid4()),
        "dz.cnas",
        "CNAS-16-001",
        None,
        doc_type.name,
        purpose,
        None,
        "normal",
        now,
        now + dt.timedelta(seconds=seconds),
        doc_type.subject,
        subject_id,
        "0" * 64,
        signer or Signer("dz.cnas", ()),
    )
    return Admitted(request, doc_type, now + dt.timedelta(seconds=seconds))


@asynccontextmanager
async def serve(
    app: web.Application, ssl_context: ssl.SSLContext | None = None, sock: socket.socket | None = None
) -> AsyncIterator[int]:
    """Runs `app` on 127.0.0.1 (an ephemeral port, or `sock`) and yields the port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        if sock is not None:
            await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        else:
            await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


@contextmanager
def refused_port() -> Iterator[socket.socket]:
    """A socket bound to an ephemeral port but not listening: connecting to it is refused.

    Call `listen()` (or hand it to `serve`) to bring the port up later, race-free.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock
    finally:
        sock.close()


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def server_tls(pki_dir: Path, code: str = DGI) -> ssl.SSLContext:
    """Server TLS for the participant `code` of the development PKI, requiring a client certificate."""
    return make_ssl_context(pki_dir / code / "cert.pem", pki_dir / code / "key.pem", pki_dir / "ca.pem")


def foreign_server_tls(tmp: Path, issued: Issued, client_ca: Path) -> ssl.SSLContext:
    """Server TLS presenting `issued`, requiring a client certificate that chains to `client_ca`."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "cert.pem").write_bytes(cert_pem(issued.cert))
    (tmp / "key.pem").write_bytes(key_pem(issued.key))
    return make_ssl_context(tmp / "cert.pem", tmp / "key.pem", client_ca)


def signing_identity(pki_dir: Path, code: str = CNRC) -> tuple[ec.EllipticCurvePrivateKey, list[bytes]]:
    """The ECDSA key and PEM chain of participant `code`, as the CNRC sandbox takes them."""
    key = serialization.load_pem_private_key((pki_dir / code / "key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key, [(pki_dir / code / "cert.pem").read_bytes()]


def resign_extract(envelope: bytes, key: ec.EllipticCurvePrivateKey, chain_pem: list[bytes]) -> bytes:
    """`envelope` with the Extrait's signature replaced by a fresh one (the volatile part of a recorded answer)."""
    root = etree.fromstring(envelope)
    extract = root.find(f".//{{{register_server.NS}}}Extrait")
    assert extract is not None
    for old in extract.findall("{http://www.w3.org/2000/09/xmldsig#}Signature"):
        extract.remove(old)
    parent = extract.getparent()
    index = parent.index(extract)
    detached = etree.fromstring(etree.tostring(extract))
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm="ecdsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=EXC_C14N,
    )
    certs = [x509.load_pem_x509_certificate(pem) for pem in chain_pem]
    signed = signer.sign(detached, key=key, cert=certs)
    parent.remove(extract)
    parent.insert(index, signed)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


class CountingAdapter:
    """Delegates to an adapter and counts the calls that reached it."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.provider = adapter.provider
        self.calls = 0

    async def start(self) -> None:
        await self.adapter.start()

    async def close(self) -> None:
        await self.adapter.close()

    async def fetch(self, q: ProviderQuery, timeout: float) -> Any:
        self.calls += 1
        return await self.adapter.fetch(q, timeout)
