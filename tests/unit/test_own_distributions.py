"""The distributions of their own (the client library and the partner kit): what each imports is what
its pyproject declares, none pulls in the server, and each keeps to the Python it promises."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: (folder of the distribution, its package)
DISTRIBUTIONS = [("client", "gateway_client"), ("partner", "gateway_partner")]
#: Import names of the distributions they may declare.
IMPORT_NAMES = {"aiohttp": "aiohttp", "aio-pika": "aio_pika", "lxml": "lxml", "cryptography": "cryptography",
                "signxml": "signxml", "yarl": "yarl"}  # fmt: skip
each = pytest.mark.parametrize(("folder", "package"), DISTRIBUTIONS, ids=[d[0] for d in DISTRIBUTIONS])


def third_party_imports(folder: str, package: str) -> set[str]:
    """The top-level modules that a package's sources import, outside the standard library and itself."""
    found: set[str] = set()
    for path in (ROOT / folder / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in (package, "__future__")}


def declared(folder: str) -> set[str]:
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip() for d in project["dependencies"]}
    return {IMPORT_NAMES.get(n, n) for n in names}


@each
def test_every_import_is_a_declared_dependency(folder: str, package: str) -> None:
    """A module the package imports but its pyproject does not declare would break `pip install ./<folder>`."""
    missing = third_party_imports(folder, package) - declared(folder)
    assert not missing, f"{folder}/pyproject.toml does not declare {sorted(missing)}"


@each
def test_no_server_dependency_is_declared(folder: str, package: str) -> None:
    """The distribution pulls in none of the server's own packages."""
    assert not declared(folder) & {"asyncpg", "structlog", "prometheus_client", "jsonschema", "uvloop"}


@each
def test_python_3_10_is_promised_and_linted_for(folder: str, package: str) -> None:
    """The pyproject says Python >= 3.10 and checks its sources for that version."""
    config = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())
    assert config["project"]["requires-python"] == ">=3.10"
    assert config["tool"]["ruff"]["target-version"] == "py310"


@each
def test_nothing_python_3_10_lacks_is_used(folder: str, package: str) -> None:
    """No `datetime.UTC`, `tomllib`, `typing.Self` or exception groups: all appeared in Python 3.11."""
    for path in (ROOT / folder / package).glob("*.py"):
        text = path.read_text()
        for newer in ("dt.UTC", "datetime.UTC", "tomllib", "Self", "except*", "ExceptionGroup", "TaskGroup"):
            assert newer not in text, f"{path.name} uses {newer}"


def test_every_package_of_the_tree_is_listed_for_installation() -> None:
    """A package missing from pyproject's list runs from the checkout but not once installed (as `gateway up`
    runs the sandboxes): every folder with an __init__.py is listed."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    for top in ("gateway", "gateway_sandbox", "benchmarks"):
        for init in (ROOT / top).rglob("__init__.py"):
            package = ".".join(init.parent.relative_to(ROOT).parts)
            assert package in listed, f"{package} is not in pyproject.toml's packages"
