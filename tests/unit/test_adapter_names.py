"""The names providers.toml gives adapters: the generic bus adapter, and the former name it replaces."""

from __future__ import annotations

import importlib

from gateway import adapters, config


def test_the_former_name_of_the_bus_adapter_is_still_accepted() -> None:
    """`civil_registry`, the bus adapter's former name, loads the same module as `bus`."""
    assert adapters.module_name("civil_registry") == adapters.module_name("bus") == "bus"
    assert hasattr(importlib.import_module(f"gateway.adapters.{adapters.module_name('civil_registry')}"), "create")


def test_the_shipped_providers_name_existing_adapter_modules() -> None:
    """Every adapter that the shipped providers.toml names is a module of gateway.adapters."""
    for provider in config.load().providers.values():
        module = importlib.import_module(f"gateway.adapters.{adapters.module_name(provider.adapter)}")
        assert hasattr(module, "create"), provider.adapter
