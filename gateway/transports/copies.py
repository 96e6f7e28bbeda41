"""A message taken from one queue, published again to another unchanged: to the bulk lane,
to `gateway.dead`, or from there back to `gateway.requests`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aio_pika
import aio_pika.abc


def copy_of(message: aio_pika.abc.AbstractIncomingMessage, headers: Mapping[str, Any]) -> aio_pika.Message:
    """`message`'s body and properties, persistent, with `headers` in place of its own."""
    return aio_pika.Message(
        message.body,
        headers=dict(headers),
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        correlation_id=message.correlation_id,
        message_id=message.message_id,
        reply_to=message.reply_to,
        type=message.type,
        app_id=message.app_id,
        timestamp=message.timestamp,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
