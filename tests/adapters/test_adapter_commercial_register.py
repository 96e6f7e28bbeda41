"""The CNRC adapter against the real CNRC sandbox: SOAP, signed extracts, faults, hostile answers."""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from gateway.adapters.base import Adapter, AdapterContext
from gateway.adapters.commercial_register import NS, CommercialRegisterAdapter, build_request
from gateway.config import ConfigError, Provider
from gateway.errors import GatewayError
from gateway.signing.pki import cert_pem, issue, make_ca
from gateway_sandbox.commercial_register import RegisterRecords, make_app
from gateway_sandbox.commercial_register.server import build_extract, soap_fault
from tests.adapters.adapter_kit import (
    CNRC,
    Running,
    Sandbox,
    port_of,
    query,
    refused_port,
    resign_extract,
    serve,
    signing_identity,
)

EXTRACT = "commercial-register-extract"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


async def _problem(adapter: Adapter, subject: str, timeout: float = 5.0) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        await adapter.fetch(query(EXTRACT, subject), timeout)
    return caught.value


async def test_extract_is_verified_and_translated(register_adapter: Adapter, register_records: RegisterRecords) -> None:
    """A known RC comes back found, from the signed extract, in canonical fields and values (active and struck off)."""
    found = register_records.examples(3)["found"]
    for rc, status in ((found[0], "active"), (found[1], "struck-off")):
        native = register_records.extract(rc)
        assert native is not None
        answer = await register_adapter.fetch(query(EXTRACT, rc), 5)
        assert answer.found and answer.provider == CNRC
        assert dict(answer.data) == {
            "companyName": native["Denomination"],
            "legalForm": native["FormeJuridique"],
            "nif": native["NIF"],
            "headOffice": native["SiegeSocial"],
            "activityCodes": native["CodesActivite"],
            "registrationDate": native["DateImmatriculation"],
            "status": status,
        }
        assert list(answer.data) == [
            "companyName",
            "legalForm",
            "nif",
            "headOffice",
            "activityCodes",
            "registrationDate",
            "status",
        ]


async def test_unknown_entry_is_not_found(register_adapter: Adapter, register_records: RegisterRecords) -> None:
    """The RC_INCONNU fault is a real answer: not found, with no data."""
    answer = await register_adapter.fetch(query(EXTRACT, register_records.examples(3)["missing"][0]), 5)
    assert not answer.found and dict(answer.data) == {}


async def test_nothing_listening_is_provider_unavailable(adapter: Running) -> None:
    """A CNRC that refuses the connection (nothing listening) is provider_unavailable."""
    with refused_port() as sock:
        async with adapter(CNRC, "commercial_register", f"http://127.0.0.1:{port_of(sock)}/soap") as made:
            assert (await _problem(made, "16/00-0123456B19")).code == "provider_unavailable"


async def test_slow_service_is_provider_timeout(
    adapter: Running, register_sandbox: Sandbox, register_records: RegisterRecords
) -> None:
    """A CNRC slower than the time given is provider_timeout, raised when that time is up."""
    rc = register_records.examples(3)["found"][0]
    async with register_sandbox(fault="slow", delay_ms=3000) as url, adapter(CNRC, "commercial_register", url) as made:
        started = time.monotonic()
        assert (await _problem(made, rc, timeout=0.3)).code == "provider_timeout"
        assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("fault", ["error", "malformed", "badsig", "down-after-headers"])
async def test_faulty_service_is_provider_error(
    adapter: Running, register_sandbox: Sandbox, register_records: RegisterRecords, fault: str
) -> None:
    """ERREUR_INTERNE, a body that is not XML, an extract altered after signing or a cut connection: provider_error."""
    rc = register_records.examples(3)["found"][0]
    async with register_sandbox(fault=fault) as url, adapter(CNRC, "commercial_register", url) as made:
        assert (await _problem(made, rc)).code == "provider_error"


async def test_extract_signed_by_another_participant_is_provider_error(
    adapter: Running, register_sandbox: Sandbox, register_records: RegisterRecords
) -> None:
    """An extract validly signed, but by another participant of the exchange (the DGI), is provider_error."""
    rc = register_records.examples(3)["found"][0]
    async with register_sandbox(signer="dz.finances.dgi") as url, adapter(CNRC, "commercial_register", url) as made:
        problem = await _problem(made, rc)
    assert problem.code == "provider_error" and "dz.finances.dgi" in problem.detail


async def test_extract_signed_outside_the_exchange_is_provider_error(
    adapter: Running, register_records: RegisterRecords
) -> None:
    """An extract signed by a certificate naming the CNRC but issued by another CA is provider_error."""
    forger = issue(make_ca("Forger CA"), CNRC, key=ec.generate_private_key(ec.SECP256R1()))
    assert isinstance(forger.key, ec.EllipticCurvePrivateKey)
    app = make_app(register_records, forger.key, [cert_pem(forger.cert)])
    rc = register_records.examples(3)["found"][0]
    async with serve(app) as port, adapter(CNRC, "commercial_register", f"http://127.0.0.1:{port}/soap") as made:
        problem = await _problem(made, rc)
    assert problem.code == "provider_error" and "certificate_untrusted" in problem.detail


def _envelope(payload: etree._Element) -> bytes:
    soap = "http://schemas.xmlsoap.org/soap/envelope/"
    envelope = etree.Element(f"{{{soap}}}Envelope", nsmap={"soap": soap, "c": NS})
    etree.SubElement(envelope, f"{{{soap}}}Body").append(payload)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def _answer(extract: etree._Element) -> bytes:
    answer = etree.Element(f"{{{NS}}}ConsulterExtraitReponse", nsmap={"c": NS})
    answer.append(extract)
    return _envelope(answer)


def _signed_answer(records: RegisterRecords, pki_dir: Path, rc: str, **changes: Any) -> bytes:
    native = records.extract(rc)
    assert native is not None
    key, chain = signing_identity(pki_dir)
    return resign_extract(_answer(build_extract({**native, **changes})), key, chain)


def _hostile_answers(records: RegisterRecords, pki_dir: Path, rc: str, other_rc: str) -> dict[str, tuple[int, bytes]]:
    good = _signed_answer(records, pki_dir, rc)
    root = etree.fromstring(good)
    extract = root.find(f".//{{{NS}}}Extrait")
    assert extract is not None
    unsigned = etree.fromstring(good)
    unsigned_extract = unsigned.find(f".//{{{NS}}}Extrait")
    assert unsigned_extract is not None
    unsigned_extract.remove(unsigned_extract.find(f"{DS}Signature"))
    # Signature wrapping: a forged extract whose only signed part is the genuine one nested inside it.
    forged = build_extract({**(records.extract(rc) or {}), "Statut": "ACTIVE"})
    forged.set("Id", "forged")
    forged.append(etree.fromstring(etree.tostring(extract)))
    tampered = etree.fromstring(good)
    name = tampered.find(f".//{{{NS}}}Denomination")
    assert name is not None
    name.text = (name.text or "") + " SARL"
    return {
        "unsigned": (200, bytes(etree.tostring(unsigned))),
        "changed-after-signing": (200, bytes(etree.tostring(tampered))),
        "about-another-entry": (200, _signed_answer(records, pki_dir, other_rc)),
        "wrapped-signature": (200, _answer(forged)),
        "unknown-status": (200, _signed_answer(records, pki_dir, rc, Statut="SUSPENDUE")),
        "bad-activity-code": (200, _signed_answer(records, pki_dir, rc, CodesActivite=["12AB"])),
        "no-activity-code": (200, _signed_answer(records, pki_dir, rc, CodesActivite=[])),
        "bad-date": (200, _signed_answer(records, pki_dir, rc, DateImmatriculation="2004-02-30")),
        "doctype": (200, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "v">]>' + good.split(b"?>", 1)[1]),
        "not-soap": (200, b"<Envelope/>"),
        "rc-invalid-fault": (500, soap_fault("RC_INVALIDE").body),  # type: ignore[dict-item]
        "fault-without-code": (500, _envelope(etree.Element("{http://schemas.xmlsoap.org/soap/envelope/}Fault"))),
        "http-404": (404, b"not here"),
        "http-503": (503, b"maintenance"),
    }


CASES = [
    "unsigned",
    "changed-after-signing",
    "about-another-entry",
    "wrapped-signature",
    "unknown-status",
    "bad-activity-code",
    "no-activity-code",
    "bad-date",
    "doctype",
    "not-soap",
    "rc-invalid-fault",
    "fault-without-code",
    "http-404",
    "http-503",
]


@pytest.mark.parametrize("case", CASES)
def test_hostile_or_malformed_answers_are_provider_error(
    context: AdapterContext, register_records: RegisterRecords, pki_dir: Path, case: str
) -> None:
    """Unsigned, re-targeted, wrapped, out-of-shape or DTD-bearing answers and other faults are provider_error."""
    found = register_records.examples(3)["found"]
    status, body = _hostile_answers(register_records, pki_dir, found[0], found[1])[case]
    made = CommercialRegisterAdapter(Provider(CNRC, "commercial_register", {"url": "http://127.0.0.1:1/soap"}), context)
    with pytest.raises(GatewayError) as caught:
        made.answer(query(EXTRACT, found[0]), status, body)
    assert caught.value.code == "provider_error", caught.value.detail


def test_request_envelope_carries_the_number_and_the_requester() -> None:
    """The ConsulterExtrait envelope holds NumeroRC and Demandeur (the requester), escaped by lxml."""
    root = etree.fromstring(build_request("16/00-0123456B19", "dz.cnas"))
    assert root.findtext(f".//{{{NS}}}NumeroRC") == "16/00-0123456B19"
    assert root.findtext(f".//{{{NS}}}Demandeur") == "dz.cnas"
    assert etree.fromstring(build_request("<&>", "x")).findtext(f".//{{{NS}}}NumeroRC") == "<&>"


@pytest.mark.parametrize("options", [{}, {"url": "ftp://127.0.0.1/soap"}])
def test_bad_configuration_is_refused_at_start(context: AdapterContext, options: dict[str, Any]) -> None:
    """A missing URL, or one that is not http(s), is a configuration error."""
    with pytest.raises(ConfigError):
        CommercialRegisterAdapter(Provider(CNRC, "commercial_register", options), context)


def _https(pki_dir: Path, code: str) -> ssl.SSLContext:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(str(pki_dir / code / "cert.pem"), str(pki_dir / code / "key.pem"))
    return tls


@pytest.mark.parametrize(("server", "found"), [(CNRC, True), ("dz.finances.dgi", False)])
async def test_over_https_the_server_must_be_the_register(
    adapter: Running, register_records: RegisterRecords, pki_dir: Path, server: str, found: bool
) -> None:
    """Over https, a server with the CNRC's certificate answers; one with another participant's is provider_error."""
    key, chain = signing_identity(pki_dir)
    rc = register_records.examples(3)["found"][0]
    async with (
        serve(make_app(register_records, key, chain), _https(pki_dir, server)) as port,
        adapter(CNRC, "commercial_register", f"https://127.0.0.1:{port}/soap") as made,
    ):
        if found:
            assert (await made.fetch(query(EXTRACT, rc), 5)).found
        else:
            assert (await _problem(made, rc)).code == "provider_error"
