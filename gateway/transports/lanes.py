"""Priority lanes: `urgent`, `normal` and `bulk` (docs/protocol.md §2 and §3, `Priority`).

Two mechanisms keep a flood of bulk requests from starving urgent ones:

- On intake, a `bulk` request is moved at once from `gateway.requests` to the internal lane
  queue `gateway.lane.bulk`, which workers consume with a small prefetch. Moving costs a
  peek and one publish, so the public queue drains fast and what is behind a flood is
  reached quickly.
- Inside a worker, requests wait for one of a bounded number of processing slots, and a
  free slot goes to an urgent request first, then normal, then bulk.

The priority is peeked before the signature is checked: it only orders work, it grants
nothing. The request is verified in full when its turn comes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import heapq
import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.errors import Malformed
from gateway.protocol import JOSE, Priority
from gateway.signing import safe_json

LANES = tuple(Priority)
RANK: dict[str, int] = {lane: rank for rank, lane in enumerate(LANES)}
_XML_PRIORITY = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Priority\s*>\s*(urgent|normal|bulk)\s*</")


def peek_priority(body: bytes, content_type: str | None) -> Priority:
    """The lane a request asks for, read without verifying anything; `normal` when unclear."""
    if (content_type or "").startswith(JOSE):
        try:
            payload = body.split(b".")[1]
            value = safe_json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4))).get("priority")
        except (IndexError, ValueError, binascii.Error, AttributeError, Malformed):
            return Priority.NORMAL
        return Priority(value) if isinstance(value, str) and value in RANK else Priority.NORMAL
    match = _XML_PRIORITY.search(body[:8192])
    return Priority(match.group(1).decode()) if match else Priority.NORMAL


class PriorityGate:
    """At most `slots` holders at once; a freed slot goes to the most urgent waiter, then the oldest."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @asynccontextmanager
    async def slot(self, lane: str) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiters:
            self._free -= 1
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiters, (RANK.get(lane, 1), next(self._order), future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release()  # the slot was handed over just as we were cancelled
                else:
                    self._waiters = [w for w in self._waiters if w[2] is not future]
                    heapq.heapify(self._waiters)
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)  # the slot passes straight to this waiter
                return
        self._free += 1
