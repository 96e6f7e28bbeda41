"""`gateway catalogue add FILE` and `gateway catalogue list`: document types added at run time
(docs/onboarding.md). A type is checked and its schemas made and compiled before anything is
stored; every worker serves it within `registry_reload_seconds`; the addition is journaled."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gateway import config as config_module
from gateway.cli.common import add_actor, add_home, journal
from gateway.registry import catalogue, policy
from gateway.registry.enrolment import EnrolmentError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("catalogue", help="the document types: add one, or list them")
    commands = parser.add_subparsers(dest="catalogue_command", required=True)
    add = commands.add_parser("add", help="add a document type described in a TOML file")
    add.add_argument("file", type=argparse.FileType("r", encoding="utf-8"))
    add_actor(add)
    add.set_defaults(func=_add)
    listing = commands.add_parser("list", help="the document types the workers serve")
    add_home(listing)
    listing.set_defaults(func=_list)


def _add(args: argparse.Namespace) -> int:
    try:
        config = policy.effective(config_module.load(), args.home)
        added = catalogue.add(config, args.home, args.file.read(), args.file.name)
    except EnrolmentError as exc:
        print(f"gateway catalogue: refused, nothing changed: {exc}", file=sys.stderr)
        return 2
    journal(args.home, args.by, "catalogue_added", added.name)
    seconds = config.settings.registry_reload_seconds
    print(f"added {added.name}, provided by {added.provider} ({len(added.fields)} fields, SLA {added.sla_seconds:g} s)")
    print(f"schemas: {added.name}.xsd and {added.name}.schema.json, served at /v1/schemas/")
    print(f"every worker serves it within {seconds} s; grant it to requesters with `gateway policy grant`")
    return 0


def _list(args: argparse.Namespace) -> int:
    seed = config_module.load()
    config = policy.effective(seed, args.home)
    for name, t in config.catalogue.items():
        origin = "configuration" if name in seed.catalogue else "added"
        print(f"{name:<32} {t.provider:<28} {t.subject:<4} SLA {t.sla_seconds:>4g} s  {origin}")
    return 0
