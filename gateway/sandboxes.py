"""The sandbox partner administrations that `gateway up` runs beside the gateway.

Each is a separate program (`python -m gateway_sandbox.<name>`) with its own database
under HOME/sandbox/, reached by the gateway only through its real transport.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gateway.config import Config


def commands(home: Path, config: Config) -> list[list[str]]:
    """The command line of each sandbox whose provider is configured."""
    out: list[list[str]] = []
    if "dz.interieur.etat-civil" in config.providers:
        out.append([sys.executable, "-m", "gateway_sandbox.civil_registry", "--home", str(home),
                    "--amqp-url", config.settings.amqp_url])
    return out


def examples(home: Path) -> dict[str, dict[str, list[str]]]:
    """Subject ids the sandboxes hold (`found`) and well-formed ones they don't (`missing`)."""
    from gateway_sandbox.civil_registry.records import Registry, build

    db = home / "sandbox" / "civil-registry.sqlite3"
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        build(db)
    out: dict[str, dict[str, list[str]]] = {}
    with Registry(db) as registry:
        for doc_type in ("birth-certificate", "family-record", "death-record", "residence-certificate"):
            out[doc_type] = registry.examples(doc_type, 3)
    return out
