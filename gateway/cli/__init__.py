"""The `gateway` command (`python -m gateway` is the same): `up`, `sandbox examples`,
`operator add`, `audit verify|subject`, `report`, `verify`, `attestation revoke`, and the
commands other installed packages add (`bench`, from the benchmark).

Each command is one module here with `register(subparsers)`; a package outside the gateway
adds its own through the `gateway.commands` entry point group, with the same function.

The top of the gateway: it may import any part of it, and nothing in the gateway imports it.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

from gateway.cli import (
    attestation,
    audit,
    catalogue,
    insights,
    operator,
    participant,
    partner,
    policy,
    report,
    sandbox,
    up,
    verify,
)

COMMANDS = (
    up,
    sandbox,
    operator,
    participant,
    policy,
    catalogue,
    partner,
    audit,
    report,
    insights,
    verify,
    attestation,
)
PLUGINS = "gateway.commands"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="gateway", description="Inter-administration document exchange gateway.")
    subparsers = top.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    for plugin in sorted(entry_points(group=PLUGINS), key=lambda e: e.name):
        plugin.load()(subparsers)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    code: int = args.func(args)
    return code
