"""The dashboard in a real browser: Playwright drives Debian's Chromium (installed by
`./dev test` with apt-get) against the gateway's web application, with real traffic on the
real broker. It checks the login, the figures moving with traffic, and a dead letter
replayed from the page until the client receives its answer.

Set DASHBOARD_SCREENSHOT=path.png to keep a screenshot of the dashboard taken in the test, and
VERIFY_SCREENSHOT=path.png one of the verification page."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from gateway.signing.pki import Issued
from gateway_client import Attestation, Client, Identity
from gateway_partner import PartnerIdentity, notify_correction
from tests.e2e.exchange import AMQP_URL, BusClient, signed_xml
from tests.e2e.operator_kit import add_operator

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "une phrase de passe pour le navigateur"
Examples = dict[str, dict[str, list[str]]]


@pytest_asyncio.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `./dev test` installs Debian's chromium (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        await launched.close()


async def volume(page: Page) -> int:
    """The first card of the overview: answers in the window."""
    return int(await page.locator("#overview .card b").first.inner_text())


async def test_an_operator_logs_in_watches_traffic_and_replays_a_dead_letter(
    browser: Browser, http: str, home: Path, cnas: Issued, examples: Examples, bus: BusClient
) -> None:
    """Wrong password refused; login; the figures grow with real traffic; a dead letter replayed from the page
    reaches its client."""
    assert add_operator(home, "farida", PASSWORD).returncode == 0
    page = await browser.new_page(locale="fr-FR")
    await page.goto(http + "/login")
    await page.fill("input[name=username]", "farida")
    await page.fill("input[name=password]", "pas le bon mot de passe")
    await page.click("button[type=submit]")
    assert await page.locator("[role=alert]").inner_text() == "Identifiants incorrects."

    await page.fill("input[name=username]", "farida")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(http + "/")
    before = await volume(page)

    found = examples["birth-certificate"]["found"]
    for nin in found:
        rid, body = signed_xml(cnas, subject={"nin": nin}, agency="CNAS-58-001")
        assert (await bus.call(body, message_id=rid)).status == "issued"
    await page.reload()
    assert await volume(page) == before + len(found)
    assert await page.locator("tr", has_text="CNAS-58-001").locator("td").nth(2).inner_text() == str(len(found))
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        await page.screenshot(path=os.environ["DASHBOARD_SCREENSHOT"], full_page=True)

    # A client whose reply queue does not exist yet: its answer cannot be delivered and is dead-lettered.
    late_queue = f"test.late-reply.{uuid.uuid4().hex[:8]}"
    rid, body = signed_xml(cnas, subject={"nin": found[0]}, agency="CNAS-58-001")
    await bus.channel.default_exchange.publish(
        aio_pika.Message(
            body,
            message_id=rid,
            correlation_id=rid,
            content_type="application/xml",
            reply_to=late_queue,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=bus.request_queue,
    )
    replay_button = page.locator(f"button[data-message-id='{rid}']")
    for _ in range(40):
        await page.goto(http + "/dead-letters")
        if await replay_button.count():
            break
        await asyncio.sleep(0.25)
    row = await page.locator("tr", has_text=rid).inner_text()
    assert "reply_to_unroutable" in row and late_queue in row and "UTC" in row

    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(late_queue, auto_delete=False)
        try:
            await replay_button.click()
            await page.wait_for_url("**/dead-letters?done=replayed&n=1")
            assert await page.locator("#notice").inner_text() == "1 message(s) rejoué(s)."
            assert await page.locator(f"button[data-message-id='{rid}']").count() == 0
            answer = None
            for _ in range(80):
                answer = await queue.get(no_ack=True, fail=False)
                if answer is not None:
                    break
                await asyncio.sleep(0.25)
            assert answer is not None and answer.correlation_id == rid
            assert (answer.headers or {}).get("x-status") == "issued"
        finally:
            await channel.queue_delete(late_queue)


async def test_a_clerk_checks_a_printed_attestation_on_the_verification_page(
    browser: Browser, http: str, home: Path, examples: Examples
) -> None:
    """On /verify, in Arabic then in French, a clerk pastes a QR code's text: a genuine one is valid with its
    printed fields, the same with one character changed is tampered, and once the civil registry says the
    record was corrected, the genuine one is superseded; all without any login."""
    async with Client(
        http, Identity.from_folder(home / "pki" / "dz.cnas"), home / "pki" / "ca.pem", agency="CNAS-16-001"
    ) as client:
        attestation = await client.request(
            "birth-certificate", examples["birth-certificate"]["found"][1], "family-allowance"
        )
    assert isinstance(attestation, Attestation) and attestation.visible_seal
    token = attestation.visible_seal
    page = await browser.new_page(locale="ar-DZ")
    await page.goto(http + "/verify?lang=ar")
    await page.fill("textarea[name=q]", token)
    await page.click("button[type=submit]")
    assert await page.locator("#verdict").inner_text() == "شهادة صالحة"
    assert await page.locator("html").get_attribute("dir") == "rtl"
    assert str(attestation.data["lastNameAr"]) in await page.locator("main").inner_text()
    if os.environ.get("VERIFY_SCREENSHOT"):
        await page.screenshot(path=os.environ["VERIFY_SCREENSHOT"], full_page=True)
    await page.goto(http + "/verify?lang=fr")
    middle = len(token) // 2
    await page.fill("textarea[name=q]", token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :])
    await page.click("button[type=submit]")
    assert (await page.locator("#verdict").inner_text()).startswith("Code QR altéré")
    registry = PartnerIdentity.from_folder(home / "pki" / "dz.interieur.etat-civil")
    subject = {"nin": examples["birth-certificate"]["found"][1]}
    assert await notify_correction(http, registry, "birth-certificate", subject) >= 1
    await page.fill("textarea[name=q]", token)
    await page.click("button[type=submit]")
    assert (await page.locator("#verdict").inner_text()).startswith("Attestation remplacée")
