"""The documentation a user gets with a clone: the contract's table of problem codes says what
the gateway does, and nothing in the README or docs/ points outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.errors import BY_CODE
from gateway.protocol import DeadReason

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "docs" / "protocol.md"
_ROW = re.compile(r"^\| `([a-z_]+)` \| (refused|failed) \| (\d{3}) \| \**(yes|no)\** \|", re.M)


def test_the_contracts_table_of_problem_codes_is_the_gateways() -> None:
    """docs/protocol.md lists every problem code once, with the status, HTTP status and retryability of errors.py."""
    rows = {code: (status, int(http), flag == "yes") for code, status, http, flag in _ROW.findall(PROTOCOL.read_text())}
    assert rows == {code: (str(error.status), error.http_status, error.retryable) for code, error in BY_CODE.items()}


def test_the_contract_names_every_dead_letter_reason() -> None:
    """Each `x-dead-reason` the gateway can write is described in docs/protocol.md."""
    text = PROTOCOL.read_text()
    assert all(f"`{reason}`" in text for reason in DeadReason)


def test_no_document_points_outside_the_repository() -> None:
    """README, CHANGELOG and docs/ send no reader to a folder that a clone does not have."""
    for path in [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert "../" not in path.read_text(), path.name


def test_every_document_the_readme_names_exists() -> None:
    """Each `docs/...` file the README sends a reader to is in the repository."""
    named = set(re.findall(r"`(docs/[\w./-]+)`", (ROOT / "README.md").read_text()))
    assert named and all((ROOT / name).is_file() for name in named), named
