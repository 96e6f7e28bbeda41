"""The mix of requests the benchmark, the fault harness and the dashboard's screenshot send:
signed by dz.cnas (with `gateway_client`), spread over the document types of the catalogue
and over agencies of several wilayas, about subjects that the sandbox administrations hold."""

from __future__ import annotations

from pathlib import Path

from gateway import config as config_module
from gateway.config import DocumentType
from gateway.runtime import sandboxes
from gateway_client import Identity, request_fields, signed_request

AGENCIES = (
    "CNAS-16-001",
    "CNAS-16-002",
    "CNAS-31-001",
    "CNAS-25-001",
    "CNAS-09-003",
    "CNAS-19-001",
    "CNAS-23-002",
    "CNAS-30-001",
)
CIVIL_REGISTRY = "dz.interieur.etat-civil"


REQUESTER = "dz.cnas"


def catalogue() -> dict[str, DocumentType]:
    """The document types, by name, that the CNAS back office may ask for in the configuration the
    gateway would load here (not those CNAS itself provides to other administrations)."""
    config = config_module.load()
    allowed = config.requesters[REQUESTER].document_types
    return {name: t for name, t in config.catalogue.items() if name in allowed}


def civil_types() -> tuple[str, ...]:
    """The document types that the civil registry (on the bus) provides."""
    return tuple(t.name for t in catalogue().values() if t.provider == CIVIL_REGISTRY)


def subjects(home: Path, n: int = 50) -> dict[str, list[str]]:
    """Subject ids the sandboxes hold, per document type (their databases are built if missing)."""
    from gateway_sandbox.civil_registry.records import Registry
    from gateway_sandbox.commercial_register.records import RegisterRecords
    from gateway_sandbox.tax_directorate.records import TaxRecords

    sandboxes.examples(home)  # builds the three databases
    folder = home / "sandbox"
    with Registry(folder / sandboxes.CIVIL_DB) as registry:
        out = {t: registry.examples(t, n)["found"] for t in civil_types()}
    with TaxRecords(folder / sandboxes.TAX_DB) as taxpayers:
        out |= {t: taxpayers.examples(t, n)["found"] for t in ("tax-status-certificate", "tax-registration")}
    with RegisterRecords(folder / sandboxes.REGISTER_DB) as register:
        out["commercial-register-extract"] = register.examples(n)["found"]
    return out


def signed_requests(
    home: Path, n: int, priority: str | None = None, types: tuple[str, ...] = ()
) -> list[tuple[str, bytes]]:
    """`n` XML requests signed by dz.cnas (its key under `home/pki`), over the `types` (by default
    every type of the catalogue) and the agencies in turn: (request id, body) each."""
    found = subjects(home)
    types_by_name = catalogue()
    identity = Identity.from_folder(home / "pki" / "dz.cnas")
    chosen = tuple(sorted(types or types_by_name))
    out = []
    for i in range(n):
        doc_type = types_by_name[chosen[i % len(chosen)]]
        subject = found[doc_type.name][(i // len(chosen)) % len(found[doc_type.name])]
        fields = request_fields(
            doc_type.name,
            {doc_type.subject.lower(): subject},
            next(iter(doc_type.purposes)),
            agency=AGENCIES[i % len(AGENCIES)],
            priority=priority,
        )
        out.append((fields["requestId"], signed_request(identity, fields)))
    return out
