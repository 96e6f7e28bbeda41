"""`gateway operator add`: an operator account of the dashboard, or a new password for one."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gateway.cli.common import add_home, opened_store
from gateway.dashboard.accounts import NAME, hash_password
from gateway.records import AuditEntry


def register(subparsers: Any) -> None:
    operator = subparsers.add_parser("operator", help="operator accounts of the dashboard")
    commands = operator.add_subparsers(dest="operator_command", required=True)
    add = commands.add_parser("add", help="create an operator account, or reset its password")
    add.add_argument("name")
    add_home(add)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    if not args.password_stdin:
        print("pass the password on standard input with --password-stdin", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    return asyncio.run(_add(args.home, args.name, password))


async def _add(home: Path, name: str, password: str) -> int:
    if not NAME.match(name):
        print("an operator name is 2 to 40 characters: lowercase letters, digits, '.', '_' or '-'", file=sys.stderr)
        return 2
    if len(password) < 12:
        print("the password must have at least 12 characters", file=sys.stderr)
        return 2
    hashed = await asyncio.to_thread(hash_password, password)
    async with opened_store(home) as store:
        created = await store.put_operator(name, hashed)
        await store.record(AuditEntry.operator_action(name, "operator_added" if created else "password_reset"), None)
    print(f"operator {name}: {'created' if created else 'password reset'}")
    return 0
