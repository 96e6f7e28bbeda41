"""What the commands share: the home folder argument, and the store opened for one command."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from gateway import config as config_module
from gateway.store import Store, open_store


def home_path(value: str) -> Path:
    return Path(value).resolve()


def add_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home", default="var", type=home_path, help="state folder: the store and the development PKI (default ./var)"
    )


@asynccontextmanager
async def opened_store(home: Path) -> AsyncIterator[Store]:
    """The store the configuration names, open for the length of the block."""
    store = open_store(config_module.load(), home)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
