"""Adapters: one module per administration, each translating the canonical query and
answer to and from that administration's own interface.

A module here exposes `create(provider, context) -> Adapter`; providers.toml names the
module. A new administration is one new module plus one block of configuration. `base` holds
the protocol every adapter follows; `resilience` the circuit breaker and retries around each;
`http` what the HTTP adapters share.

May import signing, configuration, errors, ids and the protocol constants; never the
pipeline, which calls adapters, nor anything above it.
"""

from __future__ import annotations

import importlib

from gateway.adapters.base import Adapter, AdapterContext
from gateway.config import Provider

#: Former names of adapters, still accepted in providers.toml.
RENAMED = {"civil_registry": "bus"}


def module_name(adapter: str) -> str:
    """The module of `gateway.adapters` that an adapter name in providers.toml stands for."""
    return RENAMED.get(adapter, adapter)


def create(provider: Provider, context: AdapterContext) -> Adapter:
    """The adapter that providers.toml names for `provider`."""
    module = importlib.import_module(f"gateway.adapters.{module_name(provider.adapter)}")
    adapter: Adapter = module.create(provider, context)
    return adapter
