"""The operators' pages over HTTP: KPIs that follow real traffic per agency and wilaya, the
request lookup with the time of each stage, French and Arabic, and the login they all need."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import aiohttp
from lxml import etree

from gateway.runtime.worker import Gateway
from gateway.signing.pki import Issued
from gateway.store.search import AuditQuery
from tests.e2e.exchange import signed_xml
from tests.e2e.operator_kit import csrf_of, logged_in

NS = "{urn:dz:exchange:v1}"
Examples = dict[str, dict[str, list[str]]]


async def ask(http: str, cnas: Issued, nin: str, agency: str) -> tuple[str, bytes]:
    rid, body = signed_xml(cnas, subject={"nin": nin}, agency=agency)
    async with (
        aiohttp.ClientSession() as session,
        session.post(http + "/v1/requests", data=body, headers={"Content-Type": "application/xml"}) as response,
    ):
        return rid, await response.read()


def row(page: str, first_cell: str) -> list[str]:
    """The cells of the table row that starts with `first_cell`, tags removed."""
    match = re.search(rf"<tr><td>{re.escape(first_cell)}</td>(.*?)</tr>", page)
    assert match, f"no row for {first_cell}"
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))]


async def test_the_dashboard_counts_traffic_per_agency_and_wilaya(
    http: str, home: Path, cnas: Issued, examples: Examples
) -> None:
    """Two issued and one not-found answer for agency CNAS-47-009 appear in its row and in wilaya 47's."""
    session = await logged_in(http, home, "nadia")
    async with session:
        async with session.get(http + "/?window=1h") as response:
            before = await response.text()
        assert "CNAS-47-009" not in before
        found, missing = examples["birth-certificate"]["found"], examples["birth-certificate"]["missing"]
        for nin in (found[0], found[1], missing[0]):
            await ask(http, cnas, nin, "CNAS-47-009")
        async with session.get(http + "/?window=1h") as response:
            page = await response.text()
            assert response.status == 200 and 'http-equiv="refresh"' in page
    # volume, issued, not-found, refused, failed, p50, p95, p99, SLA, first refusal cause, first failure cause
    assert row(page, "CNAS-47-009")[:4] == ["3", "2", "1", "0"]
    assert row(page, "CNAS-47-009")[8:] == ["100.0 %", "—", "—"]
    assert row(page, "47 — Ghardaïa")[:4] == ["3", "2", "1", "0"]
    assert "<svg" in page and "gateway.dead" not in page.split("<h2>")[0]


async def test_a_request_is_found_by_its_id_or_its_attestation_id(
    http: str, home: Path, cnas: Issued, examples: Examples, gateway: Gateway
) -> None:
    """The lookup shows each stage's time for a request id, and the same journey for its attestation id."""
    rid, answer = await ask(http, cnas, examples["birth-certificate"]["found"][2], "CNAS-16-004")
    attestation_id = etree.fromstring(answer).findtext(f"{NS}Attestation/{NS}AttestationId")
    assert attestation_id
    session = await logged_in(http, home, "yacine")
    async with session:
        for wanted in (rid, attestation_id.upper()):
            async with session.get(http + "/requests", params={"id": wanted}) as response:
                page = await response.text()
                assert response.status == 200 and rid in page
            for stage in ("signature", "schéma", "admission", "administration", "scellement"):
                assert f"<td>{stage}</td>" in page
        async with session.get(http + "/requests", params={"id": "not-a-uuid"}) as response:
            assert response.status == 400
        async with session.get(http + "/requests", params={"id": "00000000-0000-4000-8000-000000000000"}) as response:
            assert response.status == 404
    assert ("yacine", "request_lookup", "found") in [
        (e.requester, e.status, e.problem) for e in await gateway.store.audit_entries(rid)
    ]


async def test_arabic_pages_read_right_to_left_and_the_choice_is_kept(http: str, home: Path) -> None:
    """?lang=ar serves Arabic, right to left, and the next page stays Arabic; ?lang=fr switches back."""
    session = await logged_in(http, home, "lina")
    async with session:
        async with session.get(http + "/?lang=ar") as response:
            page = await response.text()
            assert '<html lang="ar" dir="rtl">' in page and "لوحة القيادة" in page
        async with session.get(http + "/requests") as response:
            assert '<html lang="ar" dir="rtl">' in await response.text()
        async with session.get(http + "/requests?lang=fr") as response:
            assert '<html lang="fr" dir="ltr">' in await response.text()


async def test_every_operator_page_needs_a_login(http: str) -> None:
    """A visitor without a session is sent to the login page from every page."""
    async with aiohttp.ClientSession() as session:
        for path in ("/", "/requests?id=x", "/dead-letters"):
            async with session.get(http + path, allow_redirects=False) as response:
                assert response.status == 303 and response.headers["Location"] == "/login"
        async with session.post(
            http + "/dead-letters/purge", data={"expected": "0"}, allow_redirects=False
        ) as response:
            assert response.status == 403


async def test_a_purge_confirmed_for_another_count_removes_nothing(http: str, home: Path, gateway: Gateway) -> None:
    """A purge whose confirmed count is not the queue's is refused, journaled, and said so on the page."""
    session = await logged_in(http, home, "omar")
    async with session:
        async with session.get(http + "/dead-letters") as response:
            page = await response.text()
            before = int(page.split('data-count="')[1].split('"')[0])
        async with session.post(
            http + "/dead-letters/purge",
            data={"csrf": csrf_of(page), "expected": str(before + 7)},
            headers={"Origin": http},
        ) as response:
            after = await response.text()
            assert str(response.url).endswith("done=purge_mismatch")
        assert "rien n&#x27;a été purgé" in after
        assert int(after.split('data-count="')[1].split('"')[0]) == before
    chain, _ = await gateway.store.audit_chain()
    assert ("omar", "dead_letter_purge", f"refused: expected {before + 7}") in [
        (c.entry.requester, c.entry.status, c.entry.problem) for c in chain
    ]


async def test_a_refusal_is_found_with_its_detail_and_no_identifier_in_clear(
    http: str, home: Path, cnas: Issued, gateway: Gateway
) -> None:
    """A request refused by its schema (a 17-digit NIN) shows why on the lookup, with the NIN masked, and is
    journaled under its verified signer."""
    bad_nin = "10987012345678901"
    rid, answer = await ask(http, cnas, bad_nin, "CNAS-16-004")
    assert etree.fromstring(answer).find(f"{NS}Problem").get("code") == "schema_invalid"
    session = await logged_in(http, home, "yacine")
    async with session, session.get(http + "/requests", params={"id": rid}) as response:
        page = await response.text()
    assert response.status == 200
    detail = re.search(r'<p class="detail">détail : <code>(.*?)</code></p>', page)
    assert detail and "&lt;identifier&gt;" in detail.group(1)
    assert bad_nin not in page
    [(_, entry)] = await gateway.store.audit_search(AuditQuery(requester="dz.cnas", problem="schema_invalid", limit=1))
    assert entry.request_id == rid


async def test_an_unverified_claim_is_found_with_why_its_signature_failed(
    http: str, home: Path, cnas: Issued, examples: Examples
) -> None:
    """A request whose signed content was altered is found under the id it claims, with the signature's detail."""
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]}, agency="CNAS-16-004")
    altered = body.replace(b"CNAS-16-004", b"CNAS-16-005")
    async with (
        aiohttp.ClientSession() as plain,
        plain.post(http + "/v1/requests", data=altered, headers={"Content-Type": "application/xml"}) as response,
    ):
        assert response.headers["X-Problem"] == "signature_invalid"
    session = await logged_in(http, home, "yacine")
    async with session, session.get(http + "/requests", params={"id": rid}) as response:
        page = await response.text()
    assert response.status == 200
    detail = re.search(r'<p class="detail">détail : <code>(.*?)</code></p>', page)
    assert detail and detail.group(1) != "signature_invalid"


async def test_the_explorer_finds_an_agents_requests_and_refusals_a_page_at_a_time(
    http: str, home: Path, cnas: Issued, examples: Examples, gateway: Gateway
) -> None:
    """Filtered by agent, the explorer lists only that agent's requests, newest first, links each to its
    lookup, narrows to refusals by status, refuses an unreadable time with 400, and journals each search."""
    agent = f"AG-{uuid.uuid4().hex[:8]}"
    found = examples["birth-certificate"]["found"][0]
    ids = []
    for issued_at in (None, None, "2020-01-01T00:00:00Z"):  # the last is refused: stale_request
        extra = {"issuedAt": issued_at} if issued_at else {}
        rid, body = signed_xml(cnas, subject={"nin": found}, agency="CNAS-16-004", agent=agent, **extra)
        async with (
            aiohttp.ClientSession() as plain,
            plain.post(http + "/v1/requests", data=body, headers={"Content-Type": "application/xml"}) as response,
        ):
            assert response.status in (200, 422)
        ids.append(rid)
    session = await logged_in(http, home, "rachid")
    async with session:
        async with session.get(http + "/requests", params={"agent": agent}) as response:
            page = await response.text()
        assert response.status == 200
        listed = re.findall(r'<a href="/requests\?id=([0-9a-f-]{36})">', page)
        assert listed == ids[::-1]
        async with session.get(http + "/requests", params={"agent": agent, "status": "refused"}) as response:
            refused = await response.text()
        assert re.findall(r'<a href="/requests\?id=([0-9a-f-]{36})">', refused) == [ids[2]]
        assert "stale_request" in refused
        async with session.get(http + "/requests", params={"agent": agent, "since": "yesterday"}) as response:
            assert response.status == 400
    searches = await gateway.store.audit_search(AuditQuery(requester="rachid", status="request_search"))
    assert f"agent={agent} status=refused" in [e.problem for _, e in searches]
