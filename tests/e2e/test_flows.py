"""Requests that succeed, over the real bus: sealed attestations, their schemas and seals,
data minimisation, the JWS path, dead-lettering, and logs without personal identifiers."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import aio_pika
import pytest
from lxml import etree

from gateway.runtime.worker import Gateway
from gateway.signing.pki import Issued
from gateway.signing.seal import verify_jws_seal, verify_xml_seal
from tests.e2e.exchange import BusClient, signed_jws, signed_xml

NS = "{urn:dz:exchange:v1}"
PURPOSE = {
    "birth-certificate": "family-allowance",
    "family-record": "family-allowance",
    "death-record": "survivor-benefit",
    "residence-certificate": "insured-registration",
    "tax-status-certificate": "contribution-recovery",
    "tax-registration": "employer-registration",
    "commercial-register-extract": "employer-registration",
}
SUBJECT = {"tax-status-certificate": "nif", "tax-registration": "nif", "commercial-register-extract": "rc"}
Examples = dict[str, dict[str, list[str]]]


@pytest.mark.parametrize("doc_type", sorted(PURPOSE))
async def test_each_type_is_issued_and_sealed(
    bus: BusClient, cnas: Issued, gateway: Gateway, examples: Examples, doc_type: str
) -> None:
    """A known subject gets `issued` from its provider, on its own transport: a sealed DocumentResponse
    whose Data fits the type's schema."""
    rid, body = signed_xml(
        cnas,
        document_type=doc_type,
        purpose=PURPOSE[doc_type],
        subject={SUBJECT.get(doc_type, "nin"): examples[doc_type]["found"][0]},
    )
    reply = await bus.call(body, message_id=rid)
    assert reply.status == "issued" and reply.problem is None
    assert reply.message.correlation_id and reply.message.content_type == "application/xml"
    seal = verify_xml_seal(etree.fromstring(reply.body), gateway.trust)
    assert seal.signer.participant == "dz.exchange.gateway" and seal.xml is not None
    gateway.schemas.check_xml_response(etree.fromstring(reply.body), doc_type)
    assert seal.xml.findtext(f"{NS}InReplyTo") == rid
    data = seal.xml.find(f"{NS}Attestation/{NS}Data")
    assert data is not None and len(data) > 0
    assert reply.message.message_id == seal.xml.findtext(f"{NS}ResponseId")


@pytest.mark.parametrize("doc_type", sorted(PURPOSE))
async def test_unknown_subject_is_a_sealed_not_found(
    bus: BusClient, cnas: Issued, gateway: Gateway, examples: Examples, doc_type: str
) -> None:
    """A well-formed id the provider does not hold gets a sealed `not-found` with an empty Data."""
    rid, body = signed_xml(
        cnas,
        document_type=doc_type,
        purpose=PURPOSE[doc_type],
        subject={SUBJECT.get(doc_type, "nin"): examples[doc_type]["missing"][0]},
    )
    reply = await bus.call(body, message_id=rid)
    assert reply.status == "not-found"
    seal = verify_xml_seal(etree.fromstring(reply.body), gateway.trust)
    assert seal.xml is not None and len(seal.xml.find(f"{NS}Attestation/{NS}Data")) == 0


async def test_purpose_releases_only_its_fields(bus: BusClient, cnas: Issued, examples: Examples) -> None:
    """benefit-review on a death record releases whether a death is recorded and its date, nothing else."""
    rid, body = signed_xml(
        cnas,
        document_type="death-record",
        purpose="benefit-review",
        subject={"nin": examples["death-record"]["found"][0]},
    )
    reply = await bus.call(body, message_id=rid)
    data = etree.fromstring(reply.body).find(f"{NS}Attestation/{NS}Data")
    assert data is not None
    assert [etree.QName(c).localname for c in data] == ["DeathRecorded", "DeathDate"]


async def test_jws_request_gets_a_sealed_jws(
    bus: BusClient, cnas: Issued, gateway: Gateway, examples: Examples
) -> None:
    """A compact JWS request is answered by a JWS seal whose payload fits response.schema.json."""
    rid, token = signed_jws(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    reply = await bus.call(token, message_id=rid, content_type="application/jose")
    assert reply.message.content_type == "application/jose" and reply.status == "issued"
    seal = verify_jws_seal(reply.body, gateway.trust)
    assert seal.signer.participant == "dz.exchange.gateway" and seal.payload is not None
    payload = json.loads(seal.payload)
    gateway.schemas.check_json_response(payload)
    assert payload["inReplyTo"] == rid and payload["attestation"]["documentType"] == "birth-certificate"
    assert set(payload["attestation"]["data"]) <= set(
        gateway.config.catalogue["birth-certificate"].purposes["family-allowance"]
    )


async def test_refusals_are_sealed_too(bus: BusClient, cnas: Issued, gateway: Gateway) -> None:
    """A refusal is a sealed DocumentResponse with a bilingual Problem that fits response.xsd."""
    rid, body = signed_xml(cnas, subject={"nin": "1"})
    reply = await bus.call(body, message_id=rid)
    seal = verify_xml_seal(etree.fromstring(reply.body), gateway.trust)
    assert seal.xml is not None
    gateway.schemas.check_xml_response(etree.fromstring(reply.body), None)
    langs = [m.get("lang") for m in seal.xml.iter(f"{NS}Message")]
    assert langs == ["fr", "ar"]


@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 is not installed")
async def test_xmlsec1_accepts_the_seal(
    bus: BusClient, cnas: Issued, gateway: Gateway, examples: Examples, tmp_path: Path
) -> None:
    """xmlsec1, given only the exchange root CA, accepts the XAdES seal (docs/protocol.md §7)."""
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    reply = await bus.call(body, message_id=rid)
    doc = tmp_path / "response.xml"
    doc.write_bytes(reply.body)
    result = subprocess.run(
        [
            "xmlsec1",
            "--verify",
            "--trusted-pem",
            str(gateway.pki / "ca.pem"),
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            str(doc),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    doc.write_bytes(reply.body.replace(b"birth-certificate", b"death-record", 1))
    forged = subprocess.run(
        [
            "xmlsec1",
            "--verify",
            "--trusted-pem",
            str(gateway.pki / "ca.pem"),
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            str(doc),
        ],
        capture_output=True,
        text=True,
    )
    assert forged.returncode != 0


async def _take_dead(
    channel: aio_pika.abc.AbstractChannel, queue: str, message_id: str
) -> aio_pika.abc.AbstractIncomingMessage:
    dead = await channel.get_queue(queue)
    for _ in range(100):
        message = await dead.get(no_ack=False, fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        await message.ack()
        if message.message_id == message_id:
            return message
    raise AssertionError(f"{message_id} never reached {queue}")


async def test_request_without_reply_to_is_dead_lettered(
    bus: BusClient, cnas: Issued, gateway: Gateway, examples: Examples
) -> None:
    """No reply_to: the original body and properties land on the dead queue with x-dead-reason."""
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    cid = await bus.send(body, message_id=rid, reply_to=None)
    dead = await _take_dead(bus.channel, gateway.config.settings.dead_queue, rid)
    assert dead.body == body and dead.correlation_id == cid
    assert (dead.headers or {}).get("x-dead-reason") == "reply_to_missing"


async def test_unroutable_reply_to_is_dead_lettered(
    bus: BusClient, cnas: Issued, gateway: Gateway, examples: Examples
) -> None:
    """A reply_to naming no queue: the request goes to the dead queue as reply_to_unroutable."""
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    await bus.send(body, message_id=rid, reply_to=f"no-such-queue-{uuid.uuid4().hex}")
    dead = await _take_dead(bus.channel, gateway.config.settings.dead_queue, rid)
    assert (dead.headers or {}).get("x-dead-reason") == "reply_to_unroutable"


async def test_correlation_id_defaults_to_message_id(bus: BusClient, cnas: Issued, examples: Examples) -> None:
    """A request without correlation_id gets its message_id as the reply's correlation_id."""
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    assert bus.reply_queue is not None
    bus.waiting[rid] = asyncio.get_running_loop().create_future()
    await bus.channel.default_exchange.publish(
        aio_pika.Message(body, message_id=rid, content_type="application/xml", reply_to=bus.reply_queue.name),
        routing_key=bus.request_queue,
    )
    reply = await bus.wait(rid)
    assert reply.message.correlation_id == rid and reply.status == "issued"


async def test_logs_never_hold_a_nin_in_clear(bus: BusClient, cnas: Issued, examples: Examples, log_file: Path) -> None:
    """After real traffic the gateway's JSON log lines carry request ids but no NIN."""
    nin = examples["family-record"]["found"][1]
    rid, body = signed_xml(cnas, document_type="family-record", subject={"nin": nin})
    assert (await bus.call(body, message_id=rid)).status == "issued"
    text = log_file.read_text("utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == rid for line in lines)
    assert nin not in text
