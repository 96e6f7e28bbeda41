"""The client library's own distribution: what it imports is what its pyproject declares, and it
keeps to the Python it promises."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "client"
#: Import names of the distributions the client may declare.
IMPORT_NAMES = {"aiohttp": "aiohttp", "aio-pika": "aio_pika", "lxml": "lxml", "cryptography": "cryptography",
                "signxml": "signxml", "yarl": "yarl"}  # fmt: skip


def third_party_imports() -> set[str]:
    """The top-level modules that the client's sources import, outside the standard library and itself."""
    found: set[str] = set()
    for path in (CLIENT / "gateway_client").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("gateway_client", "__future__")}


def declared() -> set[str]:
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip() for d in project["dependencies"]}
    return {IMPORT_NAMES.get(n, n) for n in names}


def test_every_import_of_the_client_is_a_declared_dependency() -> None:
    """A module the client imports but its pyproject does not declare would break `pip install ./client`."""
    missing = third_party_imports() - declared()
    assert not missing, f"client/pyproject.toml does not declare {sorted(missing)}"


def test_the_client_declares_no_server_dependency() -> None:
    """The client's distribution pulls in none of the server's own packages."""
    assert not declared() & {"asyncpg", "structlog", "prometheus_client", "jsonschema", "uvloop"}


def test_the_client_promises_python_3_10_and_lints_for_it() -> None:
    """The client's pyproject says Python >= 3.10 and checks its sources for that version."""
    config = tomllib.loads((CLIENT / "pyproject.toml").read_text())
    assert config["project"]["requires-python"] == ">=3.10"
    assert config["tool"]["ruff"]["target-version"] == "py310"


def test_the_client_does_not_use_what_python_3_10_lacks() -> None:
    """No `datetime.UTC`, `tomllib`, `typing.Self` or exception groups: all appeared in Python 3.11."""
    for path in (CLIENT / "gateway_client").glob("*.py"):
        text = path.read_text()
        for newer in ("dt.UTC", "datetime.UTC", "tomllib", "Self", "except*", "ExceptionGroup", "TaskGroup"):
            assert newer not in text, f"{path.name} uses {newer}"
