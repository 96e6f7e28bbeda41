"""Document types added at run time: a type file is checked field by field and its schemas made and
compiled before anything is stored; the effective configuration then serves it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import config as config_module
from gateway.config import Config
from gateway.errors import SchemaInvalid
from gateway.registry import catalogue, policy
from gateway.registry.enrolment import EnrolmentError, make_request
from gateway.registry.participants import Registry
from gateway.schemas import SchemaFiles, Schemas, compile_type
from gateway.signing.pki import ensure_development_pki

GOOD = """
[types.pension-status]
provider = "dz.caisse-retraite"
subject = "NIN"
sla_seconds = 5
validity_days = 30
fields = ["pensionStatus", "monthlyAmount", "since"]
[types.pension-status.purposes]
benefit-review = ["pensionStatus", "monthlyAmount"]
[types.pension-status.field_kinds]
monthlyAmount = "decimal"
since = "date"

[providers."dz.caisse-retraite"]
adapter = "bus"
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    seed = config_module.load()
    ensure_development_pki(tmp_path / "pki", ["dz.cnas"])
    seeds = {code: (p.name, p.roles) for code, p in seed.participants.items()}
    Registry(tmp_path / "pki", seeds).register(make_request("dz.caisse-retraite", "CNR")[1], "provider")
    return tmp_path


def effective(home: Path) -> Config:
    return policy.effective(config_module.load(), home)


def test_an_added_type_is_served_with_schemas_made_from_its_fields(home: Path) -> None:
    """The type joins the effective catalogue with its provider, and its schemas check data and requests."""
    catalogue.add(effective(home), home, GOOD, "pension.toml")
    config = effective(home)
    assert config.catalogue["pension-status"].provider == "dz.caisse-retraite"
    assert config.providers["dz.caisse-retraite"].adapter == "bus"
    schemas = Schemas(config.catalogue, catalogue.schema_dir(home))
    schemas.check_json_data("pension-status", {"pensionStatus": "active", "since": "2019-07-01"})
    with pytest.raises(SchemaInvalid, match="does not match"):
        schemas.check_json_data("pension-status", {"monthlyAmount": "a lot"})


def test_a_provider_over_https_is_configuration_only(home: Path) -> None:
    """A type whose provider answers over HTTPS names the `rest` adapter and its URL, and nothing else."""
    rest = GOOD.replace('adapter = "bus"', 'adapter = "rest"\nurl = "https://cnr.example.dz/gateway/queries"')
    catalogue.add(effective(home), home, rest, "pension.toml")
    provider = effective(home).providers["dz.caisse-retraite"]
    assert (provider.adapter, provider.https_url()) == ("rest", "https://cnr.example.dz/gateway/queries")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (GOOD.replace("pension-status", "Pension_Status"), "type name 'Pension_Status'"),
        (GOOD.replace('subject = "NIN"\n', ""), "types.pension-status.subject is missing"),
        (GOOD.replace('"NIN"', '"PASSPORT"'), "subject 'PASSPORT'"),
        (GOOD.replace('"since"]', '"since date"]'), "'since date' is not a field name"),
        (GOOD.replace('since = "date"', 'since = "timestamp"'), "field_kinds.since = 'timestamp'"),
        (GOOD.replace('benefit-review = ["pensionStatus"', 'benefit-review = ["pensionAge"'), "unknown fields"),
        (GOOD.replace("dz.caisse-retraite", "dz.portail-citoyen"), "not a participant with the role provider"),
        (GOOD.replace('adapter = "bus"', 'adapter = "carrier-pigeon"'), "adapter: one of bus, rest"),
        (GOOD.replace('adapter = "bus"', 'adapter = "rest"\nurl = "http://cnr.example.dz/q"'), "must be an https URL"),
        (GOOD.split("[providers")[0], "not configured as a provider yet"),
        (GOOD.replace("pension-status", "birth-certificate"), "already in the catalogue"),
        ("[types", "not TOML"),
    ],
    ids=["name", "missing-key", "subject", "field", "kind", "purpose", "not-provider", "adapter", "rest-http",
         "no-provider", "clash", "toml"],
)  # fmt: skip
def test_a_type_that_does_not_hold_changes_nothing(home: Path, text: str, names: str) -> None:
    """Each wrong part of a type file is refused with a message that names it, and nothing is stored."""
    with pytest.raises(EnrolmentError, match=names):
        catalogue.add(effective(home), home, text, "pension.toml")
    assert not (home / "registry" / "catalogue.json").exists()
    assert not catalogue.schema_dir(home).exists() or not any(catalogue.schema_dir(home).iterdir())


def test_a_schema_that_does_not_compile_is_refused() -> None:
    """An XSD that references a type the envelope does not define fails to compile, with the reason."""
    broken = SchemaFiles("x", '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="A" '
                         'type="nowhere:Type"/></xs:schema>', {"type": "object"})  # fmt: skip
    with pytest.raises(ValueError, match="XSD"):
        compile_type(broken)
    with pytest.raises(ValueError, match="JSON Schema"):
        compile_type(SchemaFiles("x", '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>', {"type": 12}))
