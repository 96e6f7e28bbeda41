"""The printed attestation over HTTP: the requester that obtained an attestation gets its PDF through the
client library, whose QR code verifies offline; anyone else, a replay, a forged seal or a stale request is
refused with its problem code. The verification page, with a scanned QR code or the check code.

Set ATTESTATION_SCREENSHOT=path.png to keep a picture of the printed page taken in the test."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509

from gateway.ids import check_code
from gateway.records import AttestationRecord, StoredResponse
from gateway.runtime.worker import Gateway
from gateway.signing import pki
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import Issued
from gateway.signing.visible_seal import Claims, VisibleSealer, verify
from gateway.store.search import AuditQuery
from gateway.web.app import make_runner
from gateway_client import Attestation, Client, Identity, PrintRefused
from gateway_partner import CorrectionRefused, PartnerIdentity, correction_notice, notify_correction
from tests.e2e.test_request_command import run

Examples = dict[str, dict[str, list[str]]]


def client(home: Path, url: str, who: str = "dz.cnas") -> Client:
    return Client(url, Identity.from_folder(home / "pki" / who), home / "pki" / "ca.pem", agency="CNAS-16-001")


async def issued(home: Path, http: str, examples: Examples, document_type: str, purpose: str) -> Attestation:
    async with client(home, http) as c:
        result = await c.request(document_type, examples[document_type]["found"][0], purpose)
    assert isinstance(result, Attestation) and result.visible_seal, result
    return result


async def print_request(http: str, who: Issued, **payload: Any) -> tuple[int, dict[str, Any]]:
    """Posts a print request signed by `who`; the status and the JSON refusal."""
    body = {"requestId": str(uuid.uuid4()), "issuedAt": f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}", **payload}
    token = JWSSigner(who.key, [who.cert]).sign(json.dumps(body).encode())
    async with (
        aiohttp.ClientSession() as session,
        session.post(http + "/v1/attestations/pdf", data=token, headers={"Content-Type": "application/jose"}) as r,
    ):
        return r.status, (await r.json()) if r.content_type == "application/json" else {}


async def test_the_requester_prints_its_attestation_and_the_qr_code_verifies_offline(
    home: Path, http: str, gateway: Gateway, examples: Examples, tmp_path: Path
) -> None:
    """dz.cnas obtains a birth certificate over HTTP and prints it with `Client.pdf`: the PDF's QR code, read
    from its image, verifies against the seal certificate the gateway publishes and names the attestation;
    the printing is journaled."""
    started = dt.datetime.now(dt.UTC)
    attestation = await issued(home, http, examples, "birth-certificate", "family-allowance")
    async with client(home, http) as c:
        pdf = await c.pdf(attestation, site=http)
    assert pdf.startswith(b"%PDF-")
    (tmp_path / "a.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "a.pdf", "page"], cwd=tmp_path, check=True)
    if os.environ.get("ATTESTATION_SCREENSHOT"):  # the README's picture of a printed page
        out = Path(os.environ["ATTESTATION_SCREENSHOT"])
        subprocess.run(["pdftoppm", "-png", "-singlefile", "-scale-to", "760", "a.pdf", str(out.with_suffix(""))],
                       cwd=tmp_path, check=True)  # fmt: skip
    read = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(next(tmp_path.glob("page*.png")))],
        capture_output=True,
        text=True,
    )
    async with aiohttp.ClientSession() as session, session.get(http + "/v1/seal-certificates") as r:
        published = x509.load_pem_x509_certificates(await r.read())
    verdict = verify(read.stdout.strip(), published)
    assert verdict.status == "valid" and verdict.claims is not None
    assert verdict.claims.attestation_id == attestation.attestation_id
    assert verdict.claims.fields and set(verdict.claims.fields) <= set(attestation.data)
    printed = await gateway.store.audit_search(AuditQuery(requester="dz.cnas", status="printed", since=started))
    assert [(e.document_type, e.purpose) for _, e in printed] == [("birth-certificate", "family-allowance")]


async def test_another_participant_cannot_print_an_attestation_it_did_not_obtain(
    home: Path, http: str, examples: Examples, identity: Callable[[str], Issued]
) -> None:
    """The tax directorate, a requester too, sending dz.cnas's visible seal is refused `access_denied` (403),
    through the library as through a bare request."""
    attestation = await issued(home, http, examples, "residence-certificate", "insured-registration")
    async with client(home, http, who="dz.finances.dgi") as other:
        with pytest.raises(PrintRefused) as refused:
            await other.pdf(attestation, site=http)
    assert refused.value.code == "access_denied"
    status, answer = await print_request(http, identity("dz.finances.dgi"), visibleSeal=attestation.visible_seal)
    assert (status, answer["error"]) == (403, "access_denied")


async def test_a_print_request_is_served_once(
    home: Path, http: str, examples: Examples, identity: Callable[[str], Issued]
) -> None:
    """The same signed print request sent twice is printed once; the second is `duplicate_conflict` (409)."""
    attestation = await issued(home, http, examples, "death-record", "survivor-benefit")
    cnas = identity("dz.cnas")
    body = {"requestId": str(uuid.uuid4()), "issuedAt": f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"}
    token = JWSSigner(cnas.key, [cnas.cert]).sign(
        json.dumps({**body, "visibleSeal": attestation.visible_seal}).encode()
    )
    statuses = []
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            headers = {"Content-Type": "application/jose"}
            async with session.post(http + "/v1/attestations/pdf", data=token, headers=headers) as r:
                statuses.append((r.status, r.content_type))
                last = await r.read()
    assert statuses == [(200, "application/pdf"), (409, "application/json")]
    assert json.loads(last)["error"] == "duplicate_conflict"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ("a forged seal", 401, "signature_invalid"),
        ("no seal", 422, "schema_invalid"),
        ("a stale request", 422, "stale_request"),
    ],
)
async def test_bad_print_requests_are_refused_with_their_code(
    change: str, status: int, code: str, home: Path, http: str, examples: Examples,
    identity: Callable[[str], Issued],
) -> None:  # fmt: skip
    """A visible seal with one character changed is `signature_invalid`, a payload without one `schema_invalid`,
    an `issuedAt` an hour old `stale_request`: none is printed."""
    attestation = await issued(home, http, examples, "family-record", "family-allowance")
    token = attestation.visible_seal or ""
    payload: dict[str, Any] = {"visibleSeal": token}
    if change == "a forged seal":
        middle = len(token) // 2
        payload["visibleSeal"] = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    elif change == "no seal":
        payload = {}
    else:
        payload["issuedAt"] = f"{dt.datetime.now(dt.UTC) - dt.timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"
    got, answer = await print_request(http, identity("dz.cnas"), **payload)
    assert (got, answer["error"]) == (status, code)


async def verify_page(http: str, given: str, lang: str = "fr") -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{http}/verify?lang={lang}", data={"q": given}) as r,
    ):
        return r.status, await r.text()


async def test_the_verification_page_shows_the_printed_fields_for_a_scanned_qr_code(
    home: Path, http: str, examples: Examples
) -> None:
    """The QR code's text pasted on /verify says the attestation is valid and shows its printed fields in
    French and in Arabic; the page carries no script."""
    attestation = await issued(home, http, examples, "birth-certificate", "family-allowance")
    status, page = await verify_page(http, attestation.visible_seal or "")
    assert status == 200 and "Attestation valide" in page and "<script" not in page
    assert str(attestation.data["lastNameLatin"]) in page and attestation.attestation_id in page
    _, arabic = await verify_page(http, attestation.visible_seal or "", "ar")
    assert 'dir="rtl"' in arabic and "شهادة صالحة" in arabic and str(attestation.data["lastNameAr"]) in arabic


async def test_the_verification_page_says_tampered_unknown_or_valid_by_check_code(
    home: Path, http: str, examples: Examples
) -> None:
    """A QR code's text with one character changed is tampered; the printed check code finds the attestation
    and shows no personal data; a check code of no attestation, or text that is neither, says so."""
    attestation = await issued(home, http, examples, "birth-certificate", "insured-registration")
    token = attestation.visible_seal or ""
    middle = len(token) // 2
    _, page = await verify_page(http, token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :])
    assert "Code QR altéré" in page and str(attestation.data["lastNameLatin"]) not in page
    _, page = await verify_page(http, check_code(attestation.attestation_id).lower())
    assert "Attestation valide" in page and attestation.attestation_id in page
    assert str(attestation.data["lastNameLatin"]) not in page and "lisez le code QR" in page
    _, page = await verify_page(http, "ZZZZ-ZZZZ-ZZZZ")
    assert "Aucune attestation ne porte ce code" in page
    status, page = await verify_page(http, "<b>hello</b>")
    assert status == 200 and "ni un code de vérification" in page and "<b>hello" not in page


async def test_a_corrected_record_supersedes_its_attestations_until_one_is_issued_anew(
    home: Path, http: str, examples: Examples, identity: Callable[[str], Issued]
) -> None:
    """The civil registry, with the partner kit, says a birth record was corrected: the attestation issued
    before is superseded (status endpoint, client library, verification page) and no longer printed; once
    dz.cnas asks again, the old one points to the new one."""
    subject = examples["birth-certificate"]["found"][2]
    async with client(home, http) as c:
        before = await c.request("birth-certificate", subject, "family-allowance")
        assert isinstance(before, Attestation)
        registry = PartnerIdentity.from_folder(home / "pki" / "dz.interieur.etat-civil")
        assert await notify_correction(http, registry, "birth-certificate", {"nin": subject}) >= 1
        status = await c.status(before, site=http)
        assert (status.state, status.superseded_by) == ("superseded", None)
        with pytest.raises(PrintRefused) as refused:
            await c.pdf(before, site=http)
        assert refused.value.code == "access_denied" and "superseded" in refused.value.message
        after = await c.request("birth-certificate", subject, "family-allowance")
        assert isinstance(after, Attestation)
        status = await c.status(before.attestation_id, site=http)
        assert (status.state, status.superseded_by) == ("superseded", after.attestation_id)
        assert (await c.status(after, site=http)).state == "valid"
    _, page = await verify_page(http, before.visible_seal or "")
    assert "Attestation remplacée" in page and after.attestation_id in page


async def test_only_the_provider_of_a_type_may_correct_it_and_once_per_notice(
    home: Path, http: str, examples: Examples
) -> None:
    """A correction of birth certificates signed by the tax directorate is `access_denied` (403); the same
    signed notice sent twice is taken once, then `duplicate_conflict` (409)."""
    subject = {"nin": examples["birth-certificate"]["found"][2]}
    tax = PartnerIdentity.from_folder(home / "pki" / "dz.finances.dgi")
    with pytest.raises(CorrectionRefused) as refused:
        await notify_correction(http, tax, "birth-certificate", subject)
    assert refused.value.code == "access_denied"
    notice = correction_notice(PartnerIdentity.from_folder(home / "pki" / "dz.interieur.etat-civil"),
                               "birth-certificate", subject)  # fmt: skip
    answers = []
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            headers = {"Content-Type": "application/jose"}
            async with session.post(http + "/v1/partners/corrections", data=notice, headers=headers) as r:
                answers.append((r.status, await r.json()))
    assert answers[0][0] == 200 and (answers[1][0], answers[1][1]["error"]) == (409, "duplicate_conflict")


async def test_a_seal_from_an_earlier_key_still_checks_once_its_certificate_is_kept(
    home: Path, http: str, gateway: Gateway
) -> None:
    """A visible seal signed with a seal key since renewed is an unknown signer on /verify until its certificate
    is put in `pki/<gateway>/previous/`; then it is valid there, and /v1/seal-certificates serves both."""
    earlier = pki.issue(pki.load_ca(home / "pki"), gateway.config.settings.participant)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    claims = Claims(str(uuid.uuid4()), gateway.config.settings.participant, now, now + dt.timedelta(days=30),
                    "residence-certificate", "dz.interieur.etat-civil", "dz.cnas", "insured-registration",
                    {"commune": "Tlemcen"})  # fmt: skip
    token = VisibleSealer(earlier.key, earlier.cert, claims.issuer).seal(claims)
    _, page = await verify_page(http, token)
    assert "signé par une autre autorité" in page
    kept = gateway.previous_seals / "seal-2025.pem"
    kept.parent.mkdir(exist_ok=True)
    kept.write_bytes(pki.cert_pem(earlier.cert))
    try:
        _, page = await verify_page(http, token)
        assert "Attestation valide" in page and "Tlemcen" in page
        async with aiohttp.ClientSession() as session, session.get(http + "/v1/seal-certificates") as r:
            assert len(x509.load_pem_x509_certificates(await r.read())) == 2
    finally:
        kept.unlink()


async def test_an_address_that_keeps_typing_unknown_check_codes_waits(gateway: Gateway) -> None:
    """After 30 check codes that find nothing from one address, the page answers 429 with Retry-After, even
    for a good code; a scanned QR code's text is still checked. (On a web application of its own, so that
    the lock stays out of the other tests.)"""
    runner = make_runner(gateway)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    own = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        for n in range(30):
            status, _ = await verify_page(own, f"ZZZZ-ZZZZ-ZZ{n // 10}{n % 10}".replace("0", "Y"))
            assert status == 200
        async with aiohttp.ClientSession() as session, session.post(f"{own}/verify", data={"q": "ZZZZ-ZZZZ-ZZZZ"}) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) > 0
            assert "Trop de codes" in await r.text()
        status, page = await verify_page(own, "DZ1:NOT-A-SEAL")
        assert status == 200 and "Code QR altéré" in page
    finally:
        await runner.cleanup()


async def test_an_expired_attestation_is_not_printed(
    http: str, gateway: Gateway, identity: Callable[[str], Issued]
) -> None:
    """A genuine visible seal of an attestation past its validity is refused `access_denied`: a page is printed
    only for a valid attestation."""
    then = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=100)
    attestation_id, request_id = str(uuid.uuid4()), str(uuid.uuid4())
    record = AttestationRecord(
        attestation_id=attestation_id, request_id=request_id, document_type="residence-certificate",
        provider="dz.interieur.etat-civil", status="issued", issued_at=then,
        valid_until=then + dt.timedelta(days=90), sha256="f" * 64,
    )  # fmt: skip
    stored = StoredResponse(request_id=request_id, response_id=str(uuid.uuid4()), digest="d", body=b"<sealed/>",
                            kind="xml", status="issued", problem=None, http_status=200,
                            document_type="residence-certificate")  # fmt: skip
    await gateway.store.complete(stored, record, "test")
    claims = Claims(attestation_id, gateway.config.settings.participant, then, record.valid_until,
                    "residence-certificate", "dz.interieur.etat-civil", "dz.cnas", "insured-registration",
                    {"commune": "Béjaïa"})  # fmt: skip
    status, answer = await print_request(http, identity("dz.cnas"), visibleSeal=gateway.sealer.visible_seal(claims))
    assert (status, answer["error"]) == (403, "access_denied") and "expired" in answer["message"]


async def test_an_operator_revokes_an_attestation_by_its_check_code(
    home: Path, http: str, gateway: Gateway, examples: Examples
) -> None:
    """`gateway attestation revoke` with the printed check code: the status endpoint, the client library and the
    verification page say revoked, the page is no longer printed, the journal holds who and why; revoking it again
    says so; a code of no attestation, or text that is no code, fails with exit status 1, a reason not in the
    list with 2."""
    attestation = await issued(home, http, examples, "residence-certificate", "insured-registration")
    code = check_code(attestation.attestation_id)
    revoke = [sys.executable, "-m", "gateway", "attestation", "revoke", "--home", str(home), "--by", "night.operator"]
    status, out, err = await run([*revoke, code, "--reason", "issued-in-error"])
    assert status == 0, err
    assert f"attestation {attestation.attestation_id} (check code {code}, residence-certificate): revoked on" in out
    async with client(home, http) as c:
        assert (await c.status(attestation, site=http)).state == "revoked"
        with pytest.raises(PrintRefused) as refused:
            await c.pdf(attestation, site=http)
        assert refused.value.code == "access_denied" and "revoked" in refused.value.message
    _, page = await verify_page(http, code)
    assert "Attestation révoquée" in page and "Révoquée le" in page
    journaled = [e for e in await gateway.store.audit_entries(attestation.request_id) if e.transport == "operator"]
    assert [(e.requester, e.status, e.problem) for e in journaled] == [
        ("night.operator", "attestation_revoked", "issued-in-error")
    ]
    status, out, _ = await run([*revoke, attestation.attestation_id.upper(), "--reason", "fraud-suspected"])
    assert status == 0 and f"attestation {attestation.attestation_id} was already revoked on" in out
    assert len(await gateway.store.audit_entries(attestation.request_id)) == len(journaled) + 1
    status, _, err = await run([*revoke, "ZZZZ-ZZZZ-ZZZZ", "--reason", "fraud-suspected"])
    assert status == 1 and "no attestation has the check code ZZZZ-ZZZZ-ZZZZ" in err
    status, _, err = await run([*revoke, "hello", "--reason", "fraud-suspected"])
    assert status == 1 and "'hello' is neither an attestation id nor a check code" in err
    status, _, err = await run([*revoke, code, "--reason", "because"])
    assert status == 2 and "invalid choice: 'because'" in err
