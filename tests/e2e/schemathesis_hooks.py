"""Schemathesis hooks for tests/e2e/test_contracts.py (loaded through SCHEMATHESIS_HOOKS): a compact
JWS (`application/jose`) is sent as the text it is, like `text/plain`."""

from __future__ import annotations

import schemathesis

schemathesis.serializer.alias("application/jose", "text/plain")
