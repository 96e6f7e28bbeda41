"""Names shared by the store tests."""

from __future__ import annotations

from collections.abc import Callable

from gateway.store import Store

StoreFactory = Callable[[], Store]
