"""Names shared by the sandbox tests."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

Serve = Callable[..., AbstractAsyncContextManager[int]]
