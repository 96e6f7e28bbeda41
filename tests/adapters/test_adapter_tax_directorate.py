"""The DGI adapter against the real DGI sandbox over mutual TLS: answers, faults, hostile servers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from gateway.adapters.base import Adapter, AdapterContext
from gateway.adapters.tax_directorate import TaxDirectorateAdapter
from gateway.config import ConfigError, Provider
from gateway.errors import GatewayError, TransientProviderError
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import Issued, cert_pem, issue, load_identity, make_ca, make_crl
from gateway.signing.trust import TrustStore
from gateway_sandbox.tax_directorate import TaxRecords, make_app, make_ssl_context
from tests.adapters.adapter_kit import (
    DGI,
    GATEWAY,
    Running,
    Sandbox,
    foreign_server_tls,
    port_of,
    query,
    refused_port,
    serve,
    server_tls,
)


async def _problem(adapter: Adapter, document_type: str, subject: str, timeout: float = 5.0) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        await adapter.fetch(query(document_type, subject), timeout)
    return caught.value


async def test_situation_is_translated_to_canonical_fields(tax_adapter: Adapter, tax_records: TaxRecords) -> None:
    """A known NIF's tax situation comes back found, in canonical fields and values, for both situations."""
    found = tax_records.examples("tax-status-certificate")["found"]
    for nif, situation in ((found[0], "up-to-date"), (found[1], "in-arrears")):
        native = tax_records.situation(nif)
        assert native is not None
        answer = await tax_adapter.fetch(query("tax-status-certificate", nif), 5)
        assert answer.found and answer.provider == DGI
        assert dict(answer.data) == {
            "taxpayerName": native["raisonSociale"],
            "situation": situation,
            "periodFrom": native["periode"]["du"],
            "periodTo": native["periode"]["au"],
        }
        assert list(answer.data) == ["taxpayerName", "situation", "periodFrom", "periodTo"]


async def test_registration_is_translated_to_canonical_fields(tax_adapter: Adapter, tax_records: TaxRecords) -> None:
    """A known NIF's registration comes back found with the catalogue's five fields."""
    nif = tax_records.examples("tax-registration")["found"][0]
    native = tax_records.registration(nif)
    assert native is not None
    answer = await tax_adapter.fetch(query("tax-registration", nif), 5)
    assert answer.found
    assert dict(answer.data) == {
        "taxpayerName": native["raisonSociale"],
        "legalForm": native["formeJuridique"],
        "address": native["adresse"],
        "taxCentre": native["centreImpots"],
        "registrationDate": native["dateImmatriculation"],
    }


@pytest.mark.parametrize("document_type", ["tax-status-certificate", "tax-registration"])
async def test_unknown_taxpayer_is_not_found(tax_adapter: Adapter, tax_records: TaxRecords, document_type: str) -> None:
    """404 CONTRIBUABLE_INCONNU is a real answer: not found, with no data."""
    nif = tax_records.examples(document_type)["missing"][0]
    answer = await tax_adapter.fetch(query(document_type, nif), 5)
    assert not answer.found and dict(answer.data) == {}


async def test_nothing_listening_is_provider_unavailable(adapter: Running) -> None:
    """A DGI that refuses the connection (nothing listening) is provider_unavailable."""
    with refused_port() as sock:
        async with adapter(DGI, "tax_directorate", f"https://127.0.0.1:{port_of(sock)}") as made:
            assert (await _problem(made, "tax-registration", "0" * 15)).code == "provider_unavailable"


async def test_slow_service_is_provider_timeout(
    adapter: Running, tax_sandbox: Sandbox, tax_records: TaxRecords
) -> None:
    """A DGI slower than the time given is provider_timeout, raised when that time is up."""
    nif = tax_records.examples("tax-registration")["found"][0]
    async with tax_sandbox(fault="slow", delay_ms=3000) as url, adapter(DGI, "tax_directorate", url) as made:
        started = time.monotonic()
        assert (await _problem(made, "tax-registration", nif, timeout=0.3)).code == "provider_timeout"
        assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("fault", ["error", "malformed", "down-after-headers"])
async def test_faulty_service_is_provider_error(
    adapter: Running, tax_sandbox: Sandbox, tax_records: TaxRecords, fault: str
) -> None:
    """A 500 ERREUR_INTERNE, an HTML body labelled JSON, or a connection cut mid-answer is provider_error."""
    nif = tax_records.examples("tax-status-certificate")["found"][0]
    async with tax_sandbox(fault=fault) as url, adapter(DGI, "tax_directorate", url) as made:
        problem = await _problem(made, "tax-status-certificate", nif)
    assert problem.code == "provider_error"
    assert isinstance(problem, TransientProviderError) == (fault == "down-after-headers")


async def test_server_outside_the_exchange_is_provider_error(
    adapter: Running, tax_records: TaxRecords, pki_dir: Path, tmp_path: Path
) -> None:
    """A server whose certificate (naming the DGI) comes from another CA fails TLS: provider_error, not retried."""
    stranger = make_ca("Some other CA")
    tls = foreign_server_tls(tmp_path, issue(stranger, DGI), pki_dir / "ca.pem")
    async with (
        serve(make_app(tax_records), tls) as port,
        adapter(DGI, "tax_directorate", f"https://127.0.0.1:{port}") as made,
    ):
        problem = await _problem(made, "tax-registration", "0" * 15)
    assert problem.code == "provider_error" and not isinstance(problem, TransientProviderError)


async def test_server_of_another_participant_is_provider_error(
    adapter: Running, tax_records: TaxRecords, pki_dir: Path
) -> None:
    """A server with a valid exchange certificate that names another participant (the CNRC) is provider_error."""
    async with (
        serve(make_app(tax_records), server_tls(pki_dir, "dz.commerce.cnrc")) as port,
        adapter(DGI, "tax_directorate", f"https://127.0.0.1:{port}") as made,
    ):
        problem = await _problem(made, "tax-registration", tax_records.examples("tax-registration")["found"][0])
    assert problem.code == "provider_error"
    assert "dz.commerce.cnrc" in problem.detail


async def test_server_with_a_revoked_certificate_is_provider_error(
    tax_records: TaxRecords, ca: Issued, tmp_path: Path, pki_dir: Path
) -> None:
    """The server certificate goes through the trust store, so one its CRLs revoke is provider_error."""
    revoked = issue(ca, DGI)
    (tmp_path / "crl").mkdir()
    crl = make_crl(ca, [revoked.cert.serial_number]).public_bytes(serialization.Encoding.PEM)
    (tmp_path / "crl" / "dev.pem").write_bytes(crl)
    key, chain = load_identity(pki_dir / GATEWAY)
    trust = TrustStore.from_pem_file(pki_dir / "ca.pem", tmp_path / "crl")
    context = AdapterContext(None, JWSSigner(key, chain), trust, GATEWAY, pki_dir)
    tls = foreign_server_tls(tmp_path / "server", revoked, pki_dir / "ca.pem")
    async with serve(make_app(tax_records), tls) as port:
        made = TaxDirectorateAdapter(Provider(DGI, "tax_directorate", {"url": f"https://127.0.0.1:{port}"}), context)
        await made.start()
        try:
            problem = await _problem(made, "tax-registration", "0" * 15)
        finally:
            await made.close()
    assert problem.code == "provider_error" and "certificate_revoked" in problem.detail


async def test_server_that_refuses_our_certificate_is_provider_error(
    adapter: Running, tax_records: TaxRecords, pki_dir: Path, tmp_path: Path
) -> None:
    """A genuine DGI that does not accept the gateway's client certificate drops the connection after the
    TLS 1.3 handshake, which the client sees as a cut connection: provider_error (retryable)."""
    other = make_ca("Another client CA")
    (tmp_path / "other-ca.pem").write_bytes(cert_pem(other.cert))
    tls = make_ssl_context(pki_dir / DGI / "cert.pem", pki_dir / DGI / "key.pem", tmp_path / "other-ca.pem")
    async with (
        serve(make_app(tax_records), tls) as port,
        adapter(DGI, "tax_directorate", f"https://127.0.0.1:{port}") as made,
    ):
        problem = await _problem(made, "tax-registration", "0" * 15)
    assert problem.code == "provider_error" and isinstance(problem, TransientProviderError)


async def test_service_refusing_the_gateway_is_provider_error(
    adapter: Running, tax_sandbox: Sandbox, tax_records: TaxRecords
) -> None:
    """A DGI that answers 403 CLIENT_NON_AUTORISE (the gateway is not on its list) is provider_error."""
    nif = tax_records.examples("tax-registration")["found"][0]
    async with (
        tax_sandbox(allowed_clients=frozenset({"dz.someone.else"})) as url,
        adapter(DGI, "tax_directorate", url) as made,
    ):
        problem = await _problem(made, "tax-registration", nif)
    assert problem.code == "provider_error" and "CLIENT_NON_AUTORISE" in problem.detail


GOOD: dict[str, Any] = {
    "nif": "001016171386103",
    "raisonSociale": "SPA Test",
    "situationFiscale": "A_JOUR",
    "periode": {"du": "2025-01-01", "au": "2025-09-30"},
}


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != key}


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        pytest.param(200, "application/json", {**GOOD, "nif": "001016171386104"}, id="about-another-taxpayer"),
        pytest.param(200, "application/json", _without("raisonSociale"), id="missing-name"),
        pytest.param(200, "application/json", _without("periode"), id="missing-period"),
        pytest.param(200, "application/json", {**GOOD, "situationFiscale": "INCONNUE"}, id="unknown-situation"),
        pytest.param(
            200, "application/json", {**GOOD, "periode": {"du": "2025-13-01", "au": "2025-09-30"}}, id="impossible-date"
        ),
        pytest.param(
            200,
            "application/json",
            {**GOOD, "periode": {"du": "2025-10-01", "au": "2025-09-30"}},
            id="period-backwards",
        ),
        pytest.param(200, "application/json", {**GOOD, "raisonSociale": "x" * 201}, id="name-too-long"),
        pytest.param(200, "application/json", {**GOOD, "raisonSociale": 42}, id="name-not-text"),
        pytest.param(200, "application/json", [GOOD], id="not-an-object"),
        pytest.param(200, "text/html", GOOD, id="not-json-content-type"),
        pytest.param(404, "application/json", {"erreur": "RESSOURCE_INCONNUE"}, id="404-other-than-unknown-taxpayer"),
        pytest.param(404, "text/html", "<html>not here</html>", id="404-without-code"),
        pytest.param(400, "application/json", {"erreur": "NIF_INVALIDE"}, id="400"),
        pytest.param(503, "application/json", {"erreur": "MAINTENANCE"}, id="503"),
    ],
)
def test_malformed_or_error_answers_are_provider_error(
    context: AdapterContext, status: int, content_type: str, body: Any
) -> None:
    """Any answer that is not a complete, well-shaped record of the asked NIF, or not-found, is provider_error."""
    made = TaxDirectorateAdapter(Provider(DGI, "tax_directorate", {"url": "https://127.0.0.1:1"}), context)
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    with pytest.raises(GatewayError) as caught:
        made.answer(query("tax-status-certificate", GOOD["nif"]), status, content_type, raw)
    assert caught.value.code == "provider_error"
    assert isinstance(caught.value, TransientProviderError) == (status == 503)


@pytest.mark.parametrize(
    "options", [{"url": "http://127.0.0.1:8443"}, {}, {"url": "https://x", "documents": {"some-type": "bilan"}}]
)
def test_bad_configuration_is_refused_at_start(context: AdapterContext, options: dict[str, Any]) -> None:
    """A plain-HTTP or missing URL, or a document mapped to an unknown resource, is a configuration error."""
    with pytest.raises(ConfigError):
        TaxDirectorateAdapter(Provider(DGI, "tax_directorate", options), context)
