"""`gateway sandbox examples`: subject ids to try against the sandbox administrations."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gateway.cli.common import add_home
from gateway.runtime import sandboxes


def register(subparsers: Any) -> None:
    sandbox = subparsers.add_parser("sandbox", help="the sandbox partner administrations")
    commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    examples = commands.add_parser("examples", help="subject ids to try, found and missing, per document type")
    add_home(examples)
    examples.add_argument("--json", action="store_true")
    examples.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    examples = sandboxes.examples(args.home)
    if args.json:
        print(json.dumps(examples, indent=2))
    else:
        for doc_type, ids in examples.items():
            print(f"{doc_type}: found {', '.join(ids['found'])}; missing {', '.join(ids['missing'])}")
    return 0
