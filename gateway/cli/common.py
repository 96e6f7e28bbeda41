"""What the commands share: the home folder argument, and the store opened for one command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from gateway import config as config_module
from gateway.records import AuditEntry
from gateway.store import Store, open_store


def home_path(value: str) -> Path:
    return Path(value).resolve()


def add_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home", default="var", type=home_path, help="state folder: the store and the development PKI (default ./var)"
    )


def add_actor(parser: argparse.ArgumentParser) -> None:
    """`--home`, and `--by`: who acts, as the change is journaled."""
    add_home(parser)
    parser.add_argument("--by", default=getpass.getuser(), help="who acts, as journaled (default: your login)")


def journal(home: Path, by: str, action: str, outcome: str) -> None:
    """Journals a change of the registry (a registration, a grant, a type) in the audit chain."""

    async def record() -> None:
        async with opened_store(home) as store:
            await store.record(AuditEntry.operator_action(by, action, outcome), None)

    asyncio.run(record())


@asynccontextmanager
async def opened_store(home: Path) -> AsyncIterator[Store]:
    """The store the configuration names, open for the length of the block."""
    store = open_store(config_module.load(), home)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
