"""Tests of the CNRC sandbox: data, WSDL, signed SOAP extracts, SOAP faults and the program itself."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree
from signxml.exceptions import InvalidSignature
from signxml.verifier import XMLVerifier

from gateway_sandbox.commercial_register import RegisterRecords, build, make_app
from tests.sandbox._pki import Pki
from tests.sandbox.support import ROOT, Serve

NS = "urn:dz:cnrc:registre:v1"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
XSD = "http://www.w3.org/2001/XMLSchema"
ACTION = '"urn:dz:cnrc:registre:v1#ConsulterExtrait"'
RC_PATTERN = r"\d{2}/\d{2}-\d{7}[AB]\d{2}"


def _envelope(rc: str, requester: str = "dz.exchange.gateway", prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:c="{NS}"><soap:Body>'
        f"<c:ConsulterExtrait><c:NumeroRC>{rc}</c:NumeroRC>"
        f"<c:Demandeur>{requester}</c:Demandeur></c:ConsulterExtrait>"
        "</soap:Body></soap:Envelope>"
    ).encode()


def _app(pki: Pki, records: RegisterRecords, **options: Any) -> Any:
    key = load_pem_private_key(pki.cnrc.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    chain = [pki.cnrc.cert.read_bytes(), pki.ca_cert.read_bytes()]
    return make_app(records, key, chain, **options)


async def _post(port: int, body: bytes, action: str = ACTION) -> tuple[int, bytes]:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/soap", data=body, headers=headers) as response,
    ):
        return response.status, await response.read()


def _fault(status: int, body: bytes) -> tuple[str, str, str]:
    """Return (faultcode as {ns}local, faultstring, CodeErreur) of a SOAP 1.1 fault answer."""
    assert status == 500
    fault = etree.fromstring(body).find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None
    prefix, _, local = fault.findtext("faultcode").partition(":")
    return (
        f"{{{fault.nsmap[prefix]}}}{local}",
        fault.findtext("faultstring"),
        fault.findtext(f"detail/{{{NS}}}CodeErreur"),
    )


def _dump(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return (
            db.execute("SELECT * FROM registre ORDER BY numero_rc").fetchall()
            + db.execute("SELECT * FROM activite ORDER BY numero_rc, rang").fetchall()
        )


def test_build_is_deterministic(tmp_path: Path) -> None:
    """The same seed yields identical register rows; another seed yields different ones."""
    build(tmp_path / "a.sqlite", seed=11, count=300)
    build(tmp_path / "b.sqlite", seed=11, count=300)
    build(tmp_path / "c.sqlite", seed=12, count=300)
    assert _dump(tmp_path / "a.sqlite") == _dump(tmp_path / "b.sqlite")
    assert _dump(tmp_path / "a.sqlite") != _dump(tmp_path / "c.sqlite")
    assert not list(tmp_path.glob("*.tmp"))


def test_register_size_and_shape(register_db: Path) -> None:
    """The default register holds at least 5,000 well-formed, unique RC numbers, some struck off."""
    with RegisterRecords(register_db) as records:
        assert records.count() >= 5000
        examples = records.examples(n=4)
        extracts = [records.extract(rc) for rc in examples["found"]]
        assert [e["Statut"] if e else None for e in extracts] == ["ACTIVE", "RADIEE", "ACTIVE", "RADIEE"]
        assert all(records.extract(rc) is None for rc in examples["missing"])
    with sqlite3.connect(register_db) as db:
        rows = db.execute("SELECT numero_rc, statut FROM registre").fetchall()
    assert all(re.fullmatch(RC_PATTERN, rc) for rc, _ in rows)
    assert 0.04 < sum(s == "RADIEE" for _, s in rows) / len(rows) < 0.10


@pytest.mark.asyncio
async def test_wsdl_describes_the_operation(pki: Pki, register_db: Path, serve: Serve) -> None:
    """GET /soap?wsdl serves a WSDL naming ConsulterExtrait whose embedded XSD compiles."""
    with RegisterRecords(register_db) as records:
        async with (
            serve(_app(pki, records)) as port,
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/soap?wsdl") as response,
        ):
            assert response.status == 200
            wsdl = etree.fromstring(await response.read())
    assert wsdl.tag == f"{{{WSDL}}}definitions" and wsdl.get("targetNamespace") == NS
    operations = {op.get("name") for op in wsdl.iter(f"{{{WSDL}}}operation")}
    assert operations == {"ConsulterExtrait"}
    soap_operation = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}operation")
    assert soap_operation.get("soapAction") == ACTION.strip('"')
    address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == f"http://127.0.0.1:{port}/soap"
    etree.XMLSchema(wsdl.find(f"{{{WSDL}}}types/{{{XSD}}}schema"))


@pytest.mark.asyncio
async def test_found_extract_is_signed_by_cnrc(pki: Pki, register_db: Path, serve: Serve) -> None:
    """A found RC returns a schema-valid Extrait whose enveloped signature verifies with the CNRC cert."""
    wsdl = etree.parse(str(Path(ROOT, "gateway_sandbox/commercial_register/cnrc.wsdl")))
    schema = etree.XMLSchema(wsdl.find(f"{{{WSDL}}}types/{{{XSD}}}schema"))
    with RegisterRecords(register_db) as records:
        async with serve(_app(pki, records)) as port:
            for rc in records.examples(n=2)["found"]:
                status, body = await _post(port, _envelope(rc))
                assert status == 200
                answer = etree.fromstring(body).find(f"{{{SOAP}}}Body/{{{NS}}}ConsulterExtraitReponse")
                schema.assertValid(answer)
                extract = answer.find(f"{{{NS}}}Extrait")
                assert extract[-1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
                result = XMLVerifier().verify(body, x509_cert=pki.cnrc.certificate)
                assert not isinstance(result, list)
                signed = result.signed_xml
                assert signed is not None and signed.tag == f"{{{NS}}}Extrait"
                expected = records.extract(rc)
                assert expected is not None
                assert signed.findtext(f"{{{NS}}}NumeroRC") == rc
                for name in ("Denomination", "FormeJuridique", "NIF", "SiegeSocial", "DateImmatriculation", "Statut"):
                    assert signed.findtext(f"{{{NS}}}{name}") == expected[name]
                codes = [c.text for c in signed.iterfind(f"{{{NS}}}CodesActivite/{{{NS}}}CodeActivite")]
                assert codes == expected["CodesActivite"]


@pytest.mark.asyncio
async def test_request_errors_are_soap_faults(pki: Pki, register_db: Path, serve: Serve) -> None:
    """Unknown, malformed RC, bad envelopes and a wrong SOAPAction give the documented SOAP faults."""
    client = f"{{{SOAP}}}Client"
    with RegisterRecords(register_db) as records:
        examples = records.examples(n=1)
        async with serve(_app(pki, records)) as port:
            assert _fault(*await _post(port, _envelope(examples["missing"][0]))) == (
                client,
                "Registre introuvable",
                "RC_INCONNU",
            )
            assert _fault(*await _post(port, _envelope("16-123")))[::2] == (client, "RC_INVALIDE")
            for bad in (b"not xml", b"<a/>", _envelope(examples["found"][0], requester="")):
                assert _fault(*await _post(port, bad))[::2] == (client, "REQUETE_INVALIDE")
            wrong = await _post(port, _envelope(examples["found"][0]), action='"urn:x#Autre"')
            assert _fault(*wrong)[::2] == (client, "ACTION_INCONNUE")


@pytest.mark.asyncio
async def test_dtd_in_request_is_refused(pki: Pki, register_db: Path, serve: Serve) -> None:
    """A request carrying a DTD is refused with REQUETE_INVALIDE, even one whose entity names a real RC."""
    with RegisterRecords(register_db) as records:
        rc = records.examples(n=1)["found"][0]
        async with serve(_app(pki, records)) as port:
            prolog = f'<!DOCTYPE soap:Envelope [<!ENTITY rc "{rc}">]>'
            status, body = await _post(port, _envelope("&rc;", prolog=prolog))
            assert _fault(status, body)[2] == "REQUETE_INVALIDE"
            external = '<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">'
            assert _fault(*await _post(port, _envelope(rc, prolog=external)))[2] == "REQUETE_INVALIDE"


@pytest.mark.asyncio
async def test_fault_modes(pki: Pki, register_db: Path, serve: Serve) -> None:
    """badsig fails verification; slow, error, malformed and down-after-headers behave as documented."""
    with RegisterRecords(register_db) as records:
        rc = records.examples(n=1)["found"][0]
        async with serve(_app(pki, records, fault="badsig")) as port:
            status, body = await _post(port, _envelope(rc))
            assert status == 200 and b"<ds:SignatureValue>" in body
            with pytest.raises(InvalidSignature):
                XMLVerifier().verify(body, x509_cert=pki.cnrc.certificate)
        async with serve(_app(pki, records, fault="slow", delay_ms=300)) as port:
            started = time.monotonic()
            status, body = await _post(port, _envelope(rc))
            assert time.monotonic() - started >= 0.3
            XMLVerifier().verify(body, x509_cert=pki.cnrc.certificate)
        async with serve(_app(pki, records, fault="error")) as port:
            code, _, detail = _fault(*await _post(port, _envelope(rc)))
            assert (code, detail) == (f"{{{SOAP}}}Server", "ERREUR_INTERNE")
        async with serve(_app(pki, records, fault="malformed")) as port:
            status, body = await _post(port, _envelope(rc))
            assert status == 200
            with pytest.raises(etree.XMLSyntaxError):
                etree.fromstring(body)
        async with (
            serve(_app(pki, records, fault="down-after-headers")) as port,
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{port}/soap", data=_envelope(rc), headers={"SOAPAction": ACTION}
            ) as response,
        ):
            assert response.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()


@pytest.mark.asyncio
async def test_program_builds_serves_and_stops_cleanly(pki: Pki, tmp_path: Path) -> None:
    """The CLI builds a missing database, signs extracts, logs without RC numbers and exits 0 on SIGTERM."""
    db = tmp_path / "cnrc.sqlite"
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pki.cnrc.cert.read_bytes() + pki.ca_cert.read_bytes())
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway_sandbox.commercial_register",
        "--db",
        str(db),
        "--port",
        "0",
        "--cert",
        str(chain),
        "--key",
        str(pki.cnrc.key),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        while True:
            line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
            assert line, "server exited early: " + "".join(lines)
            lines.append(line)
            if json.loads(line).get("event") == "listening":
                port = json.loads(line)["ports"][0]
                break
        with RegisterRecords(db) as records:
            rc = records.examples(n=1)["found"][0]
        status, body = await _post(port, _envelope(rc))
        assert status == 200
        XMLVerifier().verify(body, x509_cert=pki.cnrc.certificate)
        assert len(etree.fromstring(body).findall(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate")) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        rest = (await asyncio.wait_for(process.stderr.read(), 30)).decode()
        assert await process.wait() == 0
    text = "".join(lines) + rest
    assert rc not in text
    events = [json.loads(line) for line in text.splitlines()]
    assert any(e.get("status") == 200 and str(e.get("subject")).startswith("sha256:") for e in events)
