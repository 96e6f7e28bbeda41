"""Takes the README's screenshot of the dashboard under traffic.

    .venv/bin/python tools/dashboard_screenshot.py [--minutes 3] [--out docs/dashboard.png]

Starts `gateway up` (with the sandboxes) in a temporary home, sends signed requests of the
seven types from several agencies over the bus at a varying rate, a few malformed ones and
one whose reply queue does not exist (a dead letter), then logs in with Playwright in
Debian's Chromium and saves a full-page screenshot. The dead letter is then replayed to a
reply queue made for it, which is deleted: nothing is left on the broker. Ports 8080, 8443 and 8444 must be free.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aio_pika
from playwright.async_api import async_playwright

from benchmarks.mix import signed_requests
from gateway.transports.dead_letters import DeadLetters

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
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


async def traffic(home: Path, minutes: float, gone: str) -> None:
    bodies = signed_requests(home, int(minutes * 60 * 30))
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        replies = await channel.declare_queue("", exclusive=True)
        await replies.consume(lambda message: message.ack())
        started, sent = time.monotonic(), 0
        while (elapsed := time.monotonic() - started) < minutes * 60 and sent < len(bodies):
            rate = 20 + 15 * math.sin(elapsed / 20)  # 5 to 35 per second
            rid, body = bodies[sent]
            if sent % 97 == 5:
                body = body.replace(b"<Purpose>", b"<Purpose>x")  # breaks the signature: refused
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body,
                    message_id=rid,
                    correlation_id=rid,
                    content_type="application/xml",
                    reply_to=replies.name if sent != 42 else gone,
                ),
                routing_key="gateway.requests",
            )
            sent += 1
            await asyncio.sleep(1 / rate)


async def clean_up(gone: str) -> None:
    """Gives the dead letter its reply queue, replays it from gateway.dead, then deletes that queue."""
    connection = await aio_pika.connect_robust(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(gone)
        dead = DeadLetters(connection, "gateway.dead", "gateway.requests")
        letters, _ = await dead.browse(1000)
        for letter in letters:
            if letter.reply_to == gone:
                await dead.replay(letter.key)
        for _ in range(50):
            if await queue.get(no_ack=True, fail=False) is not None:
                break
            await asyncio.sleep(0.2)
        await channel.queue_delete(gone)


async def screenshot(out: Path, home: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "gateway", "operator", "add", "amina", "--home", str(home), "--password-stdin"],
        input=b"une phrase de passe longue\n",
        check=True,
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        await page.goto("http://127.0.0.1:8080/login")
        await page.fill("input[name=username]", "amina")
        await page.fill("input[name=password]", "une phrase de passe longue")
        await page.click("button[type=submit]")
        await page.wait_for_url("http://127.0.0.1:8080/")
        await page.screenshot(path=str(out), full_page=True)
        await browser.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=Path("docs/dashboard.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gateway-shot-") as tmp:
        home = Path(tmp)
        gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway", "up", "--home", str(home)], stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(60):
                if subprocess.run(["curl", "-sf", "http://127.0.0.1:8080/readyz"], capture_output=True).returncode == 0:
                    break
                time.sleep(1)
            gone = f"gone.{uuid.uuid4().hex[:6]}"
            await traffic(home, args.minutes, gone)
            await asyncio.sleep(3)
            await screenshot(args.out, home)
            await clean_up(gone)
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(60)
    print(args.out)


if __name__ == "__main__":
    asyncio.run(main())
