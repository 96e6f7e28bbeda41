"""Structured JSON logs (structlog), with the request id bound once per request.

Personal identifiers never reach a log in clear: `subject_ref` gives a keyed hash that
lets an auditor with the key link lines about one subject, and nobody else.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import sys
from typing import TextIO

import structlog


def configure(level: str = "INFO", stream: TextIO | None = None, *, for_good: bool = False) -> None:
    """JSON lines to `stream` (default stderr).

    `for_good`: a serving process configures once; each module's logger is then built on its
    first use and kept (structlog otherwise builds a logger, and looks up its stream's lock,
    at every call). Tests that configure again leave it False."""
    stream = stream or sys.stderr
    # the libraries' own messages (aio-pika, aiohttp...) as JSON lines too, with their logger's name
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
            ],
        )
    )
    logging.basicConfig(handlers=[handler], level=getattr(logging, level.upper(), logging.INFO))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        # one write per line: print() writes the line and its newline apart, and the lines of the
        # processes sharing this stream (workers, sandboxes, one journal stream) then interleave
        logger_factory=structlog.WriteLoggerFactory(stream),
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        cache_logger_on_first_use=for_good,
    )


_IDENTIFIER = re.compile(r"[0-9A-Za-z/-]*[0-9]{6,}[0-9A-Za-z/-]*")


def mask_identifiers(text: str) -> str:
    """`text` with every word holding six digits or more in a row (a NIN, a NIF, an RC number)
    replaced by `<identifier>`: safe to keep where operators read it."""
    return _IDENTIFIER.sub("<identifier>", text)


def subject_ref(key: bytes, subject_id: str) -> str:
    """A keyed hash of a NIN, NIF or RC, safe to log."""
    return hmac.new(key, subject_id.encode(), hashlib.sha256).hexdigest()[:20]
