"""Grants made at run time, and the configuration as the workers apply it (`effective`).

Grants say which document types a requester may ask for, for which purposes,
and how fast (docs/onboarding.md). They overlay the access policy of `config/policy.toml`
for the requesters they name, and every worker applies them within
`registry_reload_seconds` without a restart.

The grants live in `HOME/registry/policy.json`, changed under a file lock and replaced
atomically. Each change is checked against the configuration as it would stand after it,
and refused, leaving the file as it was, if anything in it does not hold.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gateway.config import Config, ConfigError, Participant, Quota, Requester, check
from gateway.registry.catalogue import CATALOGUE, read_added
from gateway.registry.enrolment import EnrolmentError
from gateway.registry.participants import Registry

FOLDER = "registry"
POLICY = "policy.json"


def policy_file(home: Path) -> Path:
    return home / FOLDER / POLICY


def read_grants(home: Path) -> dict[str, Requester]:
    """The requesters that run-time grants define, by code."""
    path = policy_file(home)
    if not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {code: _requester(code, r) for code, r in raw["requesters"].items()}


def _requester(code: str, raw: Mapping[str, Any]) -> Requester:
    return Requester(
        code=code,
        document_types=frozenset(raw["document_types"]),
        purposes=frozenset(raw["purposes"]),
        quota=Quota(float(raw["quota"]["per_second"]), int(raw["quota"]["burst"])),
    )


def _raw(requester: Requester) -> dict[str, Any]:
    return {
        "document_types": sorted(requester.document_types),
        "purposes": sorted(requester.purposes),
        "quota": {"per_second": requester.quota.per_second, "burst": requester.quota.burst},
    }


def effective(config: Config, home: Path) -> Config:
    """`config` with the participants registered in `home` and the grants made there, checked."""
    registered = Registry(home / "pki").participants()
    participants = dict(config.participants)
    for code, p in registered.items():
        if not p.seeded and code not in participants:  # revoked ones too: their grants still name them
            participants[code] = Participant(code, p.name, p.roles, p.name_ar)
    requesters = {**config.requesters, **read_grants(home)}
    added_types, added_providers = read_added(home)
    changed = dataclasses.replace(
        config,
        participants=MappingProxyType(participants),
        requesters=MappingProxyType(requesters),
        catalogue=MappingProxyType({**config.catalogue, **added_types}),
        providers=MappingProxyType({**config.providers, **added_providers}),
    )
    check(changed)
    return changed


def fingerprint(home: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a grant or a registration does: name, mtime and size of the files."""
    out = []
    for path in (policy_file(home), home / "pki" / "registry.json", home / FOLDER / CATALOGUE):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        out.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(out)


@contextmanager
def _changing(home: Path) -> Iterator[dict[str, Requester]]:
    folder = home / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / (POLICY + ".lock")).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        grants = read_grants(home)
        yield grants
        temporary = folder / (POLICY + ".new")
        body = {"requesters": {code: _raw(r) for code, r in sorted(grants.items())}}
        temporary.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, policy_file(home))


def grant(
    config: Config, home: Path, requester: str, document_type: str, purposes: list[str], quota: Quota | None = None
) -> Requester:
    """Lets `requester` ask for `document_type` for `purposes` (and sets its quota); returns its new grant."""
    base = effective(config, home)
    participant = base.participants.get(requester)
    if participant is None:
        raise EnrolmentError(f"requester {requester!r} is not a participant: register it first")
    if "requester" not in participant.roles:
        raise EnrolmentError(f"{requester} has the roles {', '.join(participant.roles)}, not requester")
    doc_type = base.catalogue.get(document_type)
    if doc_type is None:
        raise EnrolmentError(f"document type {document_type!r} is not in the catalogue ({', '.join(base.catalogue)})")
    if not purposes:
        raise EnrolmentError("name at least one --purpose")
    for purpose in purposes:
        if purpose not in doc_type.purposes:
            raise EnrolmentError(
                f"purpose {purpose!r} does not release {document_type}; it releases it for "
                f"{', '.join(doc_type.purposes)}"
            )
    if quota is not None and (quota.per_second <= 0 or quota.burst < 1):
        raise EnrolmentError("--quota needs a positive rate per second and a burst of at least 1")
    with _changing(home) as grants:
        current = (
            grants.get(requester)
            or base.requesters.get(requester)
            or Requester(requester, frozenset(), frozenset(), Quota(10.0, 20))
        )
        updated = Requester(
            requester,
            current.document_types | {document_type},
            current.purposes | set(purposes),
            quota or current.quota,
        )
        _checked(base, requester, updated)
        grants[requester] = updated
    return updated


def revoke_grant(config: Config, home: Path, requester: str, document_type: str) -> Requester:
    """Takes `document_type` away from `requester`; its purposes stay for its other types."""
    base = effective(config, home)
    current = base.requesters.get(requester)
    if current is None or document_type not in current.document_types:
        raise EnrolmentError(f"{requester} holds no grant for {document_type}")
    with _changing(home) as grants:
        updated = dataclasses.replace(current, document_types=current.document_types - {document_type})
        _checked(base, requester, updated)
        grants[requester] = updated
    return updated


def _checked(base: Config, code: str, requester: Requester) -> None:
    try:
        check(dataclasses.replace(base, requesters=MappingProxyType({**base.requesters, code: requester})))
    except ConfigError as exc:
        raise EnrolmentError(f"the policy would not hold: {exc}") from None
