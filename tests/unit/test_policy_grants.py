"""Grants made at run time: checked against the catalogue and the participants before they are
stored, refused with the field named, and overlaid on the configuration's access policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import config as config_module
from gateway.config import Config, Quota
from gateway.registry import policy
from gateway.registry.enrolment import EnrolmentError, make_request
from gateway.registry.participants import Registry
from gateway.signing.pki import ensure_development_pki


@pytest.fixture
def config() -> Config:
    return config_module.load()


@pytest.fixture
def home(tmp_path: Path, config: Config) -> Path:
    ensure_development_pki(tmp_path / "pki", ["dz.cnas"])
    seeds = {code: (p.name, p.roles) for code, p in config.participants.items()}
    Registry(tmp_path / "pki", seeds).register(make_request("dz.anem", "ANEM")[1], "requester")
    return tmp_path


def test_a_grant_overlays_the_policy_for_its_requester(config: Config, home: Path) -> None:
    """After a grant, the effective configuration lets the new requester ask for the type, at its quota."""
    policy.grant(config, home, "dz.anem", "birth-certificate", ["family-allowance"], Quota(5, 10))
    requester = policy.effective(config, home).requesters["dz.anem"]
    assert requester.document_types == {"birth-certificate"} and requester.purposes == {"family-allowance"}
    assert requester.quota == Quota(5, 10)
    assert policy.effective(config, home).requesters["dz.cnas"] == config.requesters["dz.cnas"]


@pytest.mark.parametrize(
    ("requester", "document_type", "purposes", "names"),
    [
        ("dz.nobody", "birth-certificate", ["family-allowance"], "not a participant"),
        ("dz.commerce.cnrc", "birth-certificate", ["family-allowance"], "not requester"),
        ("dz.anem", "pension-status", ["family-allowance"], "'pension-status' is not in the catalogue"),
        ("dz.anem", "tax-registration", ["family-allowance"], "does not release tax-registration"),
        ("dz.anem", "birth-certificate", [], "at least one --purpose"),
    ],
    ids=["unknown-requester", "provider", "unknown-type", "purpose", "no-purpose"],
)
def test_a_grant_that_does_not_hold_changes_nothing(
    config: Config, home: Path, requester: str, document_type: str, purposes: list[str], names: str
) -> None:
    """An unknown requester, a provider, an unknown type or a purpose that does not release the type is
    refused with a message naming it, and no grant is stored."""
    with pytest.raises(EnrolmentError, match=names):
        policy.grant(config, home, requester, document_type, purposes)
    assert not policy.policy_file(home).exists()


def test_a_bad_quota_is_refused(config: Config, home: Path) -> None:
    """A quota of zero per second is refused and no grant is stored."""
    with pytest.raises(EnrolmentError, match="positive rate"):
        policy.grant(config, home, "dz.anem", "birth-certificate", ["family-allowance"], Quota(0, 10))
    assert not policy.policy_file(home).exists()


def test_taking_back_a_type_that_was_never_granted_is_refused(config: Config, home: Path) -> None:
    """Revoking a grant the requester does not hold says so and writes nothing."""
    with pytest.raises(EnrolmentError, match="holds no grant for death-record"):
        policy.revoke_grant(config, home, "dz.anem", "death-record")
    assert not policy.policy_file(home).exists()


def test_the_fingerprint_changes_with_a_grant(config: Config, home: Path) -> None:
    """What the workers watch changes when a grant is stored."""
    before = policy.fingerprint(home)
    policy.grant(config, home, "dz.anem", "birth-certificate", ["family-allowance"])
    assert policy.fingerprint(home) != before
