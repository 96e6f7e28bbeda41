"""What `gateway up` and `gateway sandbox examples` get from gateway.runtime.sandboxes: the sandbox
programs' command lines (run here for real, on free ports) and example ids for all nine types."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import pytest

from gateway import adapters as adapter_registry
from gateway import config as config_module
from gateway.adapters.base import AdapterContext
from gateway.config import Config
from gateway.runtime import sandboxes
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import ensure_development_pki, load_identity
from gateway.signing.trust import TrustStore
from tests.adapters.adapter_kit import CNRC, DGI, GATEWAY, query

SEVEN = {
    "birth-certificate",
    "family-record",
    "death-record",
    "residence-certificate",
    "tax-status-certificate",
    "tax-registration",
    "commercial-register-extract",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_urls(config: Config, urls: dict[str, str]) -> Config:
    providers = {
        code: dataclasses.replace(p, options=MappingProxyType({**p.options, "url": urls[code]})) if code in urls else p
        for code, p in config.providers.items()
    }
    return dataclasses.replace(config, providers=MappingProxyType(providers))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gateway home with its development PKI, as `gateway up` writes it."""
    folder = tmp_path_factory.mktemp("home")
    ensure_development_pki(folder / "pki", config_module.load().participants)
    return folder


def test_commands_follow_the_provider_urls(home: Path) -> None:
    """The shipped configuration starts the four sandboxes, DGI on 8443 and CNRC on 8444, with HOME's PKI,
    and CNAS on its bus queue with its database under HOME."""
    config = config_module.load()
    by_module = {command[2]: command for command in sandboxes.commands(home, config)}
    assert set(by_module) == {
        "gateway_sandbox.civil_registry",
        "gateway_sandbox.tax_directorate",
        "gateway_sandbox.commercial_register",
        "gateway_sandbox.cnas",
    }
    cnas = by_module["gateway_sandbox.cnas"]
    assert cnas[cnas.index("--queue") + 1] == "partner.dz.cnas.requests"
    assert Path(cnas[cnas.index("--db") + 1]).parent == home / "sandbox"
    tax, register = by_module["gateway_sandbox.tax_directorate"], by_module["gateway_sandbox.commercial_register"]
    assert tax[tax.index("--port") + 1] == "8443" and register[register.index("--port") + 1] == "8444"
    assert tax[tax.index("--cert") + 1] == str(home / "pki" / DGI / "cert.pem")
    assert tax[tax.index("--ca") + 1] == str(home / "pki" / "ca.pem")
    assert tax[tax.index("--allow-client") + 1] == GATEWAY
    assert register[register.index("--key") + 1] == str(home / "pki" / CNRC / "key.pem")
    assert Path(tax[tax.index("--db") + 1]).parent == home / "sandbox"


def test_remote_providers_get_no_sandbox(home: Path) -> None:
    """A provider whose URL names another machine is a real administration: no sandbox is started for it."""
    config = _with_urls(config_module.load(), {DGI: "https://dgi.example.dz", CNRC: "http://cnrc.example.dz/soap"})
    modules = [command[2] for command in sandboxes.commands(home, config)]
    assert modules == ["gateway_sandbox.civil_registry", "gateway_sandbox.cnas"]


def test_examples_cover_all_nine_document_types(home: Path) -> None:
    """`sandbox examples` lists at least three found and three missing well-formed ids for each of the seven v1
    types and CNAS's two."""
    examples = sandboxes.examples(home)
    assert set(examples) == SEVEN | {"affiliation-certificate", "contribution-status-certificate"}
    for ids in examples.values():
        assert len(ids["found"]) >= 3 and len(ids["missing"]) >= 3
        assert not set(ids["found"]) & set(ids["missing"])
    assert json.loads(json.dumps(examples)) == examples


@pytest.fixture(scope="module")
def programs(home: Path) -> Iterator[Config]:
    """The DGI and CNRC sandbox programs started from `commands()`, on free ports, stopped afterwards."""
    config = _with_urls(
        config_module.load(), {DGI: f"https://127.0.0.1:{_free_port()}", CNRC: f"http://127.0.0.1:{_free_port()}/soap"}
    )
    on_http = ("gateway_sandbox.tax_directorate", "gateway_sandbox.commercial_register")
    commands = [c for c in sandboxes.commands(home, config) if c[2] in on_http]
    children = [subprocess.Popen(c, stderr=subprocess.PIPE, text=True) for c in commands]
    try:
        for command, child in zip(commands, children, strict=True):
            assert child.stderr is not None
            for line in child.stderr:
                if '"listening"' in line:
                    break
            else:
                pytest.fail(f"{command[2]} did not start")
        yield config
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)
            assert child.stderr is not None
            child.stderr.close()
    assert all(child.returncode == 0 for child in children)


async def test_started_programs_answer_the_adapters(programs: Config, home: Path) -> None:
    """The programs started as `gateway up` starts them answer the DGI and CNRC adapters with HOME's PKI."""
    key, chain = load_identity(home / "pki" / GATEWAY)
    context = AdapterContext(
        None, JWSSigner(key, chain), TrustStore.from_pem_file(home / "pki" / "ca.pem"), GATEWAY, home / "pki"
    )
    examples = await asyncio.to_thread(sandboxes.examples, home)
    for code, doc_type in (
        (DGI, "tax-status-certificate"),
        (DGI, "tax-registration"),
        (CNRC, "commercial-register-extract"),
    ):
        adapter = adapter_registry.create(programs.providers[code], context)
        await adapter.start()
        try:
            found = await adapter.fetch(query(doc_type, examples[doc_type]["found"][0]), 5)
            missing = await adapter.fetch(query(doc_type, examples[doc_type]["missing"][0]), 5)
        finally:
            await adapter.close()
        assert found.found and not missing.found
