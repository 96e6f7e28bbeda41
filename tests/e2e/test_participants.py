"""Joining and leaving the exchange against a running gateway: a participant registered by the
registration authority is trusted at once, and refused `certificate_revoked` once revoked, without a
restart. And `gateway participant` as a command: its outputs and its refusals."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp

from gateway.config import Quota
from gateway.registry import policy
from gateway.registry.enrolment import make_request
from gateway.registry.participants import Registry
from gateway.runtime.worker import Gateway
from gateway_client import Identity, request_fields, signed_request

Examples = dict[str, dict[str, list[str]]]


async def post(http: str, body: bytes) -> tuple[int, str | None]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{http}/v1/requests", data=body, headers={"Content-Type": "application/xml"}) as answer,
    ):
        return answer.status, answer.headers.get("X-Problem")


async def test_a_registered_participant_is_trusted_then_refused_once_revoked(
    home: Path, gateway: Gateway, http: str, examples: Examples
) -> None:
    """A request signed with a freshly issued certificate passes the signature checks (and stops at access,
    having no grant); after revocation the same participant is refused certificate_revoked within the
    CRL reload time, with no restart."""
    seeds = {code: (p.name, p.roles) for code, p in gateway.config.participants.items()}
    registry = Registry(home / "pki", seeds)
    key, csr = make_request("dz.test.anem", "Agence nationale de l'emploi")
    _, cert = registry.register(csr, "requester")
    identity = Identity(key, [cert])
    nin = examples["birth-certificate"]["found"][0]

    def signed() -> bytes:
        fields = request_fields("birth-certificate", {"nin": nin}, "family-allowance", requester="dz.test.anem")
        return signed_request(identity, fields)

    assert await post(http, signed()) == (403, "access_denied")
    registry.revoke("dz.test.anem", "test: the key left the building")
    deadline = time.monotonic() + gateway.config.settings.crl_reload_seconds + 10
    answer = await post(http, signed())
    while answer != (401, "certificate_revoked") and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        answer = await post(http, signed())
    assert answer == (401, "certificate_revoked")


async def test_a_grant_made_at_run_time_applies_without_a_restart(
    home: Path, gateway: Gateway, http: str, examples: Examples
) -> None:
    """A participant registered and granted a type while the gateway runs gets its request issued within
    the reload time; taking the grant back makes the same request access_denied again."""
    seeds = {code: (p.name, p.roles) for code, p in gateway.seed.participants.items()}
    key, csr = make_request("dz.test.pensions", "Caisse des retraites (test)")
    _, cert = Registry(home / "pki", seeds).register(csr, "requester")
    identity = Identity(key, [cert])
    nin = examples["birth-certificate"]["found"][0]

    def signed() -> bytes:
        fields = request_fields("birth-certificate", {"nin": nin}, "family-allowance", requester="dz.test.pensions")
        return signed_request(identity, fields)

    async def answer_becomes(expected: tuple[int, str | None]) -> tuple[int, str | None]:
        deadline = time.monotonic() + gateway.config.settings.registry_reload_seconds + 10
        answer = await post(http, signed())
        while answer != expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            answer = await post(http, signed())
        return answer

    assert await post(http, signed()) == (403, "access_denied")
    policy.grant(gateway.seed, home, "dz.test.pensions", "birth-certificate", ["family-allowance"])
    assert await answer_becomes((200, None)) == (200, None)
    policy.revoke_grant(gateway.seed, home, "dz.test.pensions", "birth-certificate")
    assert await answer_becomes((403, "access_denied")) == (403, "access_denied")


async def test_a_key_rollover_under_load_refuses_no_request(
    home: Path, gateway: Gateway, http: str, examples: Examples
) -> None:
    """While a requester sends a steady stream, it renews its certificate and switches keys: every request
    is issued. Renewed again with no overlap, its previous key is refused certificate_revoked within the
    reload time, and the newest is still issued."""
    seeds = {code: (p.name, p.roles) for code, p in gateway.seed.participants.items()}
    registry = Registry(home / "pki", seeds)
    key, csr = make_request("dz.test.rollover", "Rollover (test)")
    _, cert = registry.register(csr, "requester")
    policy.grant(gateway.seed, home, "dz.test.rollover", "birth-certificate", ["family-allowance"], Quota(500, 1000))
    nin = examples["birth-certificate"]["found"][0]
    current = {"identity": Identity(key, [cert])}

    def signed(identity: Identity) -> bytes:
        fields = request_fields("birth-certificate", {"nin": nin}, "family-allowance", requester="dz.test.rollover")
        return signed_request(identity, fields)

    deadline = time.monotonic() + gateway.config.settings.registry_reload_seconds + 10
    while await post(http, signed(current["identity"])) != (200, None):
        assert time.monotonic() < deadline, "the grant was not applied"
        await asyncio.sleep(0.2)

    answers: list[tuple[int, str | None]] = []
    running = True

    async def stream() -> None:
        while running:
            answers.append(await post(http, signed(current["identity"])))

    streaming = asyncio.create_task(stream())
    await asyncio.sleep(1.0)
    new_key, new_csr = make_request("dz.test.rollover", "Rollover (test)")
    _, new_cert = registry.renew("dz.test.rollover", new_csr, overlap_hours=1)
    await asyncio.sleep(1.0)
    previous = current["identity"]
    current["identity"] = Identity(new_key, [new_cert])
    await asyncio.sleep(1.5)
    running = False
    await streaming
    assert len(answers) > 20 and set(answers) == {(200, None)}

    newest_key, newest_csr = make_request("dz.test.rollover", "Rollover (test)")
    _, newest_cert = registry.renew("dz.test.rollover", newest_csr, overlap_hours=0)
    answer = await post(http, signed(current["identity"]))
    while answer != (401, "certificate_revoked") and time.monotonic() < deadline + 20:
        await asyncio.sleep(0.2)
        answer = await post(http, signed(current["identity"]))
    assert answer == (401, "certificate_revoked")
    assert await post(http, signed(previous)) == (401, "certificate_revoked")
    assert await post(http, signed(Identity(newest_key, [newest_cert]))) == (200, None)


async def run(*argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "participant", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_participant_commands_from_keygen_to_revoke(tmp_path: Path, home: Path) -> None:
    """keygen writes a 0600 key and a request, register issues and records it (and refuses it twice),
    list and show name it, revoke revokes it; a bad code and an overwritten key are refused with exit 2."""
    pki_home = tmp_path / "home"
    (pki_home / "pki").mkdir(parents=True)
    for name in ("ca.pem", "ca-key.pem"):
        (pki_home / "pki" / name).write_bytes((home / "pki" / name).read_bytes())
    kit = tmp_path / "kit"
    status, out, _ = await run("keygen", "dz.caisse-retraite", "--name", "Caisse des retraites", "--out", str(kit))
    assert status == 0 and (kit / "key.pem").stat().st_mode & 0o777 == 0o600
    status, _, err = await run("keygen", "dz.caisse-retraite", "--name", "x", "--out", str(kit))
    assert status == 2 and "never overwritten" in err
    status, _, err = await run("keygen", "Caisse", "--name", "x", "--out", str(tmp_path / "other"))
    assert status == 2 and "participant code 'Caisse'" in err
    enrol = ["register", "--csr", str(kit / "request.csr.pem"), "--role", "provider", "--home", str(pki_home)]
    status, out, err = await run(*enrol, "--out", str(kit / "cert.pem"))
    assert status == 0, err
    assert "registered dz.caisse-retraite" in out and (kit / "cert.pem").read_bytes().startswith(b"-----BEGIN")
    status, _, err = await run(*enrol)
    assert status == 2 and "already a participant" in err
    status, out, _ = await run("list", "--home", str(pki_home))
    assert "dz.caisse-retraite" in out and "dz.cnas" in out
    status, out, _ = await run("revoke", "dz.caisse-retraite", "--reason", "merged", "--home", str(pki_home))
    assert status == 0 and "revoked" in out
    status, out, _ = await run("show", "dz.caisse-retraite", "--home", str(pki_home))
    assert "revoked" in out and "merged" in out
