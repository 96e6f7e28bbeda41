"""The sandbox partner administrations that `gateway up` runs beside the gateway.

Each is a separate program (`python -m gateway_sandbox.<name>`) with its own database
under HOME/sandbox/, reached by the gateway only through its real transport:

- the civil registry on the bus;
- the tax directorate (JSON REST, mutual TLS) at the host and port of its provider's `url`;
- the commercial register (SOAP over HTTP) at the host and port of its provider's `url`;
- CNAS itself, as a provider on the bus (built on the partner kit).

A provider whose `url` names another machine is a real administration: no sandbox is
started for it. Certificates come from HOME/pki (written by `ensure_development_pki`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from gateway.adapters import module_name
from gateway.config import Config, Provider

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TAX_DB = "dgi.sqlite3"
REGISTER_DB = "cnrc.sqlite3"
CIVIL_DB = "civil-registry.sqlite3"
CNAS_DB = "cnas.sqlite3"


def _local_address(provider: Provider, default_port: int) -> tuple[str, int] | None:
    """The (host, port) a sandbox should listen on for `provider`, or None for a remote URL."""
    parts = urlsplit(str(provider.options.get("url", "")))
    if parts.hostname not in LOCAL_HOSTS:
        return None
    return parts.hostname or "127.0.0.1", parts.port or default_port


def commands(home: Path, config: Config) -> list[list[str]]:
    """The command line of each sandbox whose provider is configured (and local)."""
    pki, sandbox = home / "pki", home / "sandbox"
    out: list[list[str]] = []
    for provider in config.providers.values():
        identity = pki / provider.code
        if module_name(provider.adapter) == "bus" and provider.code == "dz.interieur.etat-civil":
            out.append(
                [
                    sys.executable,
                    "-m",
                    "gateway_sandbox.civil_registry",
                    "--home",
                    str(home),
                    "--amqp-url",
                    config.settings.amqp_url,
                    "--queue-type",
                    config.settings.queue_type,
                ]
            )
        elif module_name(provider.adapter) == "bus" and provider.code == "dz.cnas":
            out.append(
                [
                    sys.executable,
                    "-m",
                    "gateway_sandbox.cnas",
                    "--home",
                    str(home),
                    "--db",
                    str(sandbox / CNAS_DB),
                    "--amqp-url",
                    config.settings.amqp_url,
                    "--queue",
                    str(provider.options.get("queue", "partner.dz.cnas.requests")),
                    "--queue-type",
                    config.settings.queue_type,
                ]
            )
        elif provider.adapter == "tax_directorate" and (address := _local_address(provider, 443)):
            out.append(
                [
                    sys.executable,
                    "-m",
                    "gateway_sandbox.tax_directorate",
                    "--db",
                    str(sandbox / TAX_DB),
                    "--host",
                    address[0],
                    "--port",
                    str(address[1]),
                    "--cert",
                    str(identity / "cert.pem"),
                    "--key",
                    str(identity / "key.pem"),
                    "--ca",
                    str(pki / "ca.pem"),
                    "--allow-client",
                    config.settings.participant,
                ]
            )
        elif provider.adapter == "commercial_register" and (address := _local_address(provider, 80)):
            out.append(
                [
                    sys.executable,
                    "-m",
                    "gateway_sandbox.commercial_register",
                    "--db",
                    str(sandbox / REGISTER_DB),
                    "--host",
                    address[0],
                    "--port",
                    str(address[1]),
                    "--cert",
                    str(identity / "cert.pem"),
                    "--key",
                    str(identity / "key.pem"),
                ]
            )
    return out


def prepare(home: Path) -> None:
    """Builds the sandboxes' databases that are missing (CNAS's draws on the civil registry's and
    the tax directorate's, so it comes last)."""
    from gateway_sandbox.civil_registry import records as civil
    from gateway_sandbox.cnas import records as cnas
    from gateway_sandbox.commercial_register import records as register
    from gateway_sandbox.tax_directorate import records as tax

    sandbox = home / "sandbox"
    sandbox.mkdir(parents=True, exist_ok=True)
    for name, build in ((CIVIL_DB, civil.build), (TAX_DB, tax.build), (REGISTER_DB, register.build)):
        if not (sandbox / name).exists():
            build(sandbox / name)
    if not (sandbox / CNAS_DB).exists():
        cnas.build(sandbox / CNAS_DB, sandbox / CIVIL_DB, sandbox / TAX_DB)


def examples(home: Path) -> dict[str, dict[str, list[str]]]:
    """Subject ids the sandboxes hold (`found`) and well-formed ones they don't (`missing`), per type."""
    from gateway_sandbox.civil_registry import records as civil
    from gateway_sandbox.cnas import records as cnas
    from gateway_sandbox.commercial_register import records as register
    from gateway_sandbox.tax_directorate import records as tax

    prepare(home)
    sandbox = home / "sandbox"
    out: dict[str, dict[str, list[str]]] = {}
    with civil.Registry(sandbox / CIVIL_DB) as registry:
        for doc_type in ("birth-certificate", "family-record", "death-record", "residence-certificate"):
            out[doc_type] = registry.examples(doc_type, 3)
    with tax.TaxRecords(sandbox / TAX_DB) as taxpayers:
        for doc_type in tax.KINDS:
            out[doc_type] = taxpayers.examples(doc_type, 3)
    with register.RegisterRecords(sandbox / REGISTER_DB) as entries:
        out["commercial-register-extract"] = entries.examples(3)
    with cnas.CnasRecords(sandbox / CNAS_DB) as insurer:
        for doc_type in cnas.KINDS:
            out[doc_type] = insurer.examples(doc_type, 3)
    return out
