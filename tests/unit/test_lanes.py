"""Priority lanes: reading the lane a request asks for, and handing slots to urgent work first."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from gateway.transports.lanes import PriorityGate, peek_priority


@pytest.mark.parametrize(
    ("body", "lane"),
    [
        (b'<DocumentRequest xmlns="urn:dz:exchange:v1"><Priority>bulk</Priority></DocumentRequest>', "bulk"),
        (
            b'<x:DocumentRequest xmlns:x="urn:dz:exchange:v1"><x:Priority> urgent </x:Priority></x:DocumentRequest>',
            "urgent",
        ),
        (b'<DocumentRequest xmlns="urn:dz:exchange:v1"/>', "normal"),
        (b"<DocumentRequest><Priority>immediately</Priority></DocumentRequest>", "normal"),
        (b"\x00junk", "normal"),
    ],
)
def test_xml_priority_is_peeked(body: bytes, lane: str) -> None:
    """The lane comes from the Priority element; anything unclear is normal."""
    assert peek_priority(body, "application/xml") == lane


def test_jws_priority_is_peeked() -> None:
    """A JWS payload's `priority` gives the lane; a broken token is normal."""
    payload = base64.urlsafe_b64encode(json.dumps({"priority": "bulk"}).encode()).rstrip(b"=")
    assert peek_priority(b"e30." + payload + b".sig", "application/jose") == "bulk"
    assert peek_priority(b"not-a-token", "application/jose") == "normal"


async def test_freed_slots_go_to_urgent_work_first() -> None:
    """With one slot busy, waiters get it urgent first, then normal, then bulk, each in arrival order."""
    gate = PriorityGate(1)
    order: list[str] = []
    release = asyncio.Event()

    async def work(name: str, lane: str, hold: asyncio.Event | None = None) -> None:
        async with gate.slot(lane):
            order.append(name)
            if hold is not None:
                await hold.wait()

    first = asyncio.create_task(work("first", "bulk", release))
    await asyncio.sleep(0)
    others = [
        asyncio.create_task(work(n, lane))
        for n, lane in [("b1", "bulk"), ("n1", "normal"), ("u1", "urgent"), ("b2", "bulk"), ("u2", "urgent")]
    ]
    await asyncio.sleep(0)
    assert gate.waiting == 5
    release.set()
    await asyncio.gather(first, *others)
    assert order == ["first", "u1", "u2", "n1", "b1", "b2"]


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    """A waiter cancelled while queued does not keep a slot from the others."""
    gate = PriorityGate(1)
    hold = asyncio.Event()

    async def holder() -> None:
        async with gate.slot("normal"):
            await hold.wait()

    task = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(gate.slot("urgent").__aenter__())
    await asyncio.sleep(0)
    waiter.cancel()
    hold.set()
    await task
    async with asyncio.timeout(1):
        async with gate.slot("bulk"):
            pass
