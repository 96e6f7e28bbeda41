"""One connection over several brokers: the nodes of a RabbitMQ cluster, given as AMQP URLs
separated by commas (`AMQP_URL=amqp://…@node1:5672/,amqp://…@node2:5672/`).

The connection is made to the first broker that answers. When that broker goes, the robust
connection is made again to the next one that answers, in turn, where its channels, queues
and consumers are declared again. Connection options (`heartbeat`, …) are those of the first URL.

This module is the same in the gateway, the client library and the partner kit, which each
install alone; a test keeps the copies identical.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

import aio_pika.abc
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from aio_pika.robust_connection import RobustConnection
from yarl import URL

#: How long one broker may take to accept a connection before the next is tried.
ATTEMPT_SECONDS = 5.0
_PASSWORD = re.compile(r"(//[^/:@]*:)[^@/]*@")
_ONE_ATTEMPT = RobustConnection._RobustConnection__connect_transport  # type: ignore[attr-defined]
#: What a failed attempt raises (asyncio's timeout is not the builtin one before Python 3.11).
FAILED_ATTEMPT = (asyncio.TimeoutError, TimeoutError, *CONNECTION_EXCEPTIONS)


def broker_urls(value: str | Sequence[str]) -> list[str]:
    """The AMQP URLs in `value` (comma-separated, or a list), each checked; ValueError names a bad one."""
    items = value.split(",") if isinstance(value, str) else list(value)
    urls = [item.strip() for item in items if item.strip()]
    if not urls:
        raise ValueError("no broker URL given")
    for url in urls:
        try:
            parsed = URL(url)
        except ValueError:
            parsed = URL()
        if parsed.scheme not in ("amqp", "amqps") or not parsed.host or url.count("://") > 1:
            raise ValueError(f"{safe_url(url)!r} is not an amqp:// or amqps:// URL with a host")
    return urls


def safe_url(url: str) -> str:
    """`url` with every password hidden (`//user:***@`), fit to be shown or logged."""
    return _PASSWORD.sub(r"\1***@", url)


def safe_urls(value: str | Sequence[str]) -> str:
    """Every URL of `value`, passwords hidden, comma-separated."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return ",".join(safe_url(item.strip()) for item in items if item.strip())


class BrokerList(RobustConnection):
    """A robust connection whose every (re)connection tries the brokers in turn, from the one last
    used: the one in use first (a dropped connection to a live broker comes back there), then the next."""

    def __init__(self, url: URL, loop: Any = None, *, brokers: Sequence[str], **kwargs: Any) -> None:
        super().__init__(url, loop=loop, **kwargs)
        self.brokers = [URL(b) for b in brokers]
        self.broker_index = 0

    async def _RobustConnection__connect_transport(self) -> None:  # the robust connection's one attempt
        failures: list[str] = []
        for step in range(len(self.brokers)):
            index = (self.broker_index + step) % len(self.brokers)
            self.url = self.brokers[index]
            if getattr(self, "_RobustConnection__connect_timeout", None) is None:
                # Bounds the handshake with one broker only: restoring the channels afterwards may take
                # longer on a node that has just come back, and cutting it short would start over forever.
                self._RobustConnection__connect_timeout = ATTEMPT_SECONDS
            try:
                await _ONE_ATTEMPT(self)
            except FAILED_ATTEMPT as exc:
                failures.append(f"{self} ({type(exc).__name__}: {exc})")
                continue
            self.broker_index = index
            return
        raise ConnectionError("no broker answers: " + "; ".join(failures))

    @property
    def broker(self) -> str:
        """The broker in use (or last tried), password hidden."""
        return str(self)


async def connect(
    urls: str | Sequence[str], *, timeout: float | None = None, **kwargs: Any
) -> aio_pika.abc.AbstractRobustConnection:
    """A robust connection to the first of `urls` that answers, moving to the next when it goes.

    `kwargs` are those of `aio_pika.connect_robust` (`reconnect_interval`, …). Raises
    ConnectionError naming every broker tried when none answers.
    """
    brokers = broker_urls(urls)
    connection = BrokerList(URL(brokers[0]), brokers=brokers, **kwargs)
    await connection.connect(timeout=timeout)
    return connection
