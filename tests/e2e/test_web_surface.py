"""The web surface under attack, against the gateway's real web application: logins guessed in
bursts or from many places, stolen session cookies, deeply nested JSON, forged certificate
chains, claims on another request's id, replayed citizen reports, slow clients, and the headers
of every answer (docs/threat-model.md, T20 to T29)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from lxml import etree

from gateway import config as config_module
from gateway.records import unverified
from gateway.runtime.worker import Gateway
from gateway.signing import chains, pki
from gateway.signing.jws import b64url
from gateway.web.app import make_runner
from tests.e2e.exchange import BusClient, now_iso, request_fields, signed_xml, to_xml
from tests.e2e.operator_kit import add_operator, csrf_of, logged_in

Examples = dict[str, dict[str, list[str]]]
NS = "{urn:dz:exchange:v1}"


@contextlib.contextmanager
def settings(gateway: Gateway, **changes: object) -> Iterator[None]:
    """The gateway's settings changed for the length of a test (the web application reads them per request)."""
    before = gateway.config
    gateway.config = before.with_settings(**changes)
    try:
        yield
    finally:
        gateway.config = before


@contextlib.contextmanager
def behind_a_proxy(gateway: Gateway) -> Iterator[None]:
    """127.0.0.1, where the tests connect from, as a trusted TLS-terminating proxy."""
    with settings(gateway, trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),)):
        yield


async def login(session: aiohttp.ClientSession, http: str, name: str, password: str, **headers: str) -> int:
    async with session.post(
        http + "/login", data={"username": name, "password": password}, headers=headers, allow_redirects=False
    ) as response:
        return response.status


async def journaled(gateway: Gateway, requester: str, action: str) -> int:
    chain, _ = await gateway.store.audit_chain()
    return sum(1 for c in chain if c.entry.requester == requester and c.entry.status == action)


# ---------------------------------------------------------------------------------------- logins


async def test_a_burst_of_guesses_tries_at_most_five_passwords(http: str, home: Path, gateway: Gateway) -> None:
    """Fifty wrong passwords sent at once, the right one last: at most five are checked, the rest get 429,
    and the right one does not get in."""
    assert add_operator(home, "burst", "la bonne phrase de passe").returncode == 0
    attacker = {"X-Forwarded-For": "192.0.2.10"}  # an address of this test's own, not the other tests'
    with behind_a_proxy(gateway):
        async with aiohttp.ClientSession() as session:
            guesses = [login(session, http, "burst", f"mauvaise phrase {i}", **attacker) for i in range(50)]
            right = login(session, http, "burst", "la bonne phrase de passe", **attacker)
            statuses = await asyncio.gather(*guesses, right)
    assert statuses.count(401) <= 5 and statuses.count(429) >= 46 and 303 not in statuses
    assert await journaled(gateway, "burst", "login_failed") <= 5


async def test_healthz_answers_at_once_during_a_burst_of_logins(http: str, gateway: Gateway) -> None:
    """While fifty logins of fifty names from fifty addresses are being checked, /healthz answers in well
    under a second."""
    with behind_a_proxy(gateway):
        async with aiohttp.ClientSession() as session:

            async def health() -> float:
                started = time.perf_counter()
                async with session.get(http + "/healthz") as response:
                    assert response.status == 200
                return time.perf_counter() - started

            burst = [
                asyncio.create_task(
                    login(session, http, f"nobody{i}", "une phrase quelconque", **{"X-Forwarded-For": f"192.0.2.{i}"})
                )
                for i in range(50)
            ]
            await asyncio.sleep(0.05)
            slowest = max([await health() for _ in range(10)])
            statuses = await asyncio.gather(*burst)
    assert slowest < 0.5, f"/healthz took {slowest:.2f} s"
    assert set(statuses) <= {401, 429, 503}


async def test_a_name_of_any_length_is_refused_before_anything_else(http: str, gateway: Gateway) -> None:
    """A 900 KB user name is refused (401), and neither it nor a part of it reaches the journal."""
    name = "a" * 900_000
    async with aiohttp.ClientSession() as session:
        assert await login(session, http, name, "une phrase quelconque") == 401
    chain, _ = await gateway.store.audit_chain()
    assert all(len(c.entry.requester or "") <= 40 for c in chain)
    assert await journaled(gateway, "-", "login_failed") >= 1


async def test_guesses_from_elsewhere_do_not_lock_the_operator_out(http: str, home: Path, gateway: Gateway) -> None:
    """Behind a trusted proxy, five bad guesses from one address lock that address out, not the operator
    logging in from another."""
    assert add_operator(home, "lockout", "la phrase du vrai operateur").returncode == 0
    with behind_a_proxy(gateway):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            attacker = {"X-Forwarded-For": "203.0.113.66"}
            for _ in range(5):
                assert await login(session, http, "lockout", "une mauvaise phrase", **attacker) == 401
            assert await login(session, http, "lockout", "la phrase du vrai operateur", **attacker) == 429
            operator = {"X-Forwarded-For": "198.51.100.7"}
            assert await login(session, http, "lockout", "la phrase du vrai operateur", **operator) == 303


async def test_forwarded_addresses_count_only_from_a_trusted_proxy(http: str, home: Path) -> None:
    """Without a trusted proxy configured, X-Forwarded-For is ignored: changing it does not reset the count."""
    assert add_operator(home, "spoofer", "une phrase tres longue").returncode == 0
    async with aiohttp.ClientSession() as session:
        for i in range(5):
            status = await login(session, http, "spoofer", "faux", **{"X-Forwarded-For": f"198.51.100.{i}"})
            assert status == 401
        assert await login(session, http, "spoofer", "faux", **{"X-Forwarded-For": "198.51.100.99"}) == 429


# ---------------------------------------------------------------------------------------- sessions


async def _cookie_and_csrf(session: aiohttp.ClientSession, http: str) -> tuple[str, str]:
    async with session.get(http + "/dead-letters") as response:
        page = await response.text()
    cookie = next(c.value for c in session.cookie_jar if c.key == "gw_session")
    return cookie, csrf_of(page)


async def _as_thief(http: str, cookie: str, csrf: str) -> tuple[int, int]:
    """(GET / status, POST purge status) for a client that copied a session cookie and its CSRF token."""
    async with aiohttp.ClientSession(cookies={"gw_session": cookie}) as thief:
        async with thief.get(http + "/", allow_redirects=False) as page:
            shown = page.status
        async with thief.post(
            http + "/dead-letters/purge", data={"csrf": csrf, "count": "0"}, allow_redirects=False
        ) as purge:
            return shown, purge.status


async def test_a_captured_cookie_is_refused_after_logout(http: str, home: Path) -> None:
    """A cookie copied before logout opens nothing afterwards, and its CSRF token purges nothing."""
    session = await logged_in(http, home, "thiefvictim")
    async with session:
        cookie, csrf = await _cookie_and_csrf(session, http)
        assert (await _as_thief(http, cookie, csrf))[0] == 200
        async with session.post(http + "/logout", data={"csrf": csrf}, allow_redirects=False) as response:
            assert response.status == 303
    assert await _as_thief(http, cookie, csrf) == (303, 403)


async def test_a_password_reset_ends_the_sessions_already_open(http: str, home: Path) -> None:
    """After `gateway operator add` resets the password, a session opened before it is refused."""
    session = await logged_in(http, home, "resetvictim")
    async with session:
        cookie, csrf = await _cookie_and_csrf(session, http)
    assert add_operator(home, "resetvictim", "un tout nouveau mot de passe").returncode == 0
    assert await _as_thief(http, cookie, csrf) == (303, 403)


# ---------------------------------------------------------------------------------------- parsers


def _deep(levels: int = 50_000) -> bytes:
    return b"[" * levels + b"]" * levels


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _deep_tokens() -> list[bytes]:
    header = _b64(json.dumps({"alg": "ES256", "typ": "dz-exchange+json", "x5c": []}).encode())
    payload = _b64(b'{"a":' + _deep() + b"}")
    return [f"{_b64(_deep())}.{_b64(b'{}')}.{_b64(b'x')}".encode(), f"{header}.{payload}.{_b64(b'x')}".encode()]


async def test_deep_nesting_is_malformed_on_every_endpoint_that_reads_json(
    http: str, bus: BusClient, gateway: Gateway
) -> None:
    """JSON nested 50,000 deep, in a JWS header or payload: `malformed` (400, not retryable) over HTTP and on
    the bus, `valid: false` from the verify endpoint, 400 `malformed` from the citizen report."""
    async with aiohttp.ClientSession() as session:
        for token in _deep_tokens():
            async with session.post(
                http + "/v1/requests", data=token, headers={"Content-Type": "application/jose"}
            ) as response:
                assert response.status == 400 and response.headers["X-Problem"] == "malformed"
            async with session.post(http + "/v1/attestations/verify", data=token) as response:
                verdict = await response.json()
                assert response.status == 200 and not verdict["valid"] and verdict["reason"].startswith("malformed")
            async with session.post(
                http + "/v1/citizen/access-report", data=token, headers={"Content-Type": "application/jose"}
            ) as response:
                assert response.status == 400 and (await response.json())["error"] == "malformed"
            rid = str(uuid.uuid4())
            reply = await bus.call(token, message_id=rid, content_type="application/jose")
            assert reply.status == "refused" and reply.problem == "malformed"


def _forged_chain_token(length: int) -> bytes:
    """A JWS whose x5c is a new chain of `length` certificates, each freshly made, and whose signature is made up."""
    ca = pki.make_ca()
    certs = [pki.issue(ca, f"dz.forger-{uuid.uuid4().hex[:8]}").cert for _ in range(length)]
    x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in certs]
    header = {"alg": "ES256", "typ": "dz-exchange+json", "x5c": x5c}
    payload = request_fields()
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}.{b64url(b'0' * 64)}".encode()


async def test_forged_chains_are_not_kept_and_long_ones_are_refused(http: str) -> None:
    """Twenty requests with chains of their own and bad signatures leave the chain cache as it was; a chain of
    six certificates is refused as `signature_invalid` before it is read."""
    before = chains.remembered()
    async with aiohttp.ClientSession() as session:
        for _ in range(20):
            async with session.post(
                http + "/v1/requests", data=_forged_chain_token(2), headers={"Content-Type": "application/jose"}
            ) as response:
                assert response.headers["X-Problem"] == "signature_invalid"
        async with session.post(
            http + "/v1/requests", data=_forged_chain_token(6), headers={"Content-Type": "application/jose"}
        ) as response:
            assert response.headers["X-Problem"] == "signature_invalid"
            payload = (await response.read()).split(b".")[1]
            sealed = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
            assert "at most 5" in sealed["problem"]["message"]["fr"]
    assert chains.remembered() == before


# ---------------------------------------------------------------------------------------- history and replays


async def test_an_unsigned_claim_on_a_request_id_stays_out_of_its_history(
    http: str, bus: BusClient, cnas: pki.Issued, examples: Examples, gateway: Gateway
) -> None:
    """An unsigned request that claims an answered request's id is refused, and its refusal is journaled apart:
    the real request's journeys and journal entries are only its own."""
    rid, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    assert (await bus.call(body, message_id=rid)).status == "issued"
    unsigned = etree.tostring(to_xml(request_fields(requestId=rid)))
    async with (
        aiohttp.ClientSession() as session,
        session.post(http + "/v1/requests", data=unsigned, headers={"Content-Type": "application/xml"}) as response,
    ):
        assert response.headers["X-Problem"] == "signature_invalid"
        assert etree.fromstring(await response.read()).findtext(f"{NS}InReplyTo") == rid
    assert [j.status for j in await gateway.store.journeys(rid)] == ["issued"]
    assert [e.status for e in await gateway.store.audit_entries(rid)] == ["issued"]
    assert [e.problem for e in await gateway.store.audit_entries(unverified(rid))] == ["signature_invalid"]


async def test_a_citizen_report_request_cannot_be_replayed(
    http: str, identity: Callable[[str], pki.Issued], examples: Examples
) -> None:
    """The same signed report request sent twice: served once, then refused as `duplicate_conflict` (409)."""
    from gateway.signing.jws import JWSSigner

    portal = identity("dz.portail-citoyen")
    payload = {
        "requestId": str(uuid.uuid4()),
        "issuedAt": now_iso(),
        "subject": {"nin": examples["family-record"]["found"][0]},
    }
    token = JWSSigner(portal.key, [portal.cert]).sign(json.dumps(payload).encode())
    answers = []
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.post(
                http + "/v1/citizen/access-report", data=token, headers={"Content-Type": "application/jose"}
            ) as response:
                answers.append((response.status, await response.read()))
    assert answers[0][0] == 200
    assert answers[1][0] == 409 and json.loads(answers[1][1])["error"] == "duplicate_conflict"


# ---------------------------------------------------------------------------------------- slow clients


@contextlib.asynccontextmanager
async def served(gateway: Gateway) -> AsyncIterator[int]:
    """The gateway's web application on a port of its own, with the settings of the moment."""
    runner = make_runner(gateway)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _dribble(port: int, head: bytes, tail: bytes, every: float, seconds: float) -> tuple[float, bytes]:
    """Sends `head`, then `tail` a byte every `every` s, until the server answers or closes; (seconds until
    then, what it answered)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(head)
    answer = b""
    try:
        for byte in tail:
            writer.write(bytes([byte]))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    chunk = await reader.read(65536)
                    answer += chunk
                    break
            if answer or time.monotonic() - started > seconds:
                break
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
    return time.monotonic() - started, answer


async def test_a_client_that_sends_its_headers_slowly_is_cut_off(gateway: Gateway) -> None:
    """A byte of headers every 0.2 s: the connection is closed once the header timeout (1 s here) passed."""
    with settings(gateway, header_timeout_seconds=1.0):
        async with served(gateway) as port:
            took, _ = await _dribble(port, b"GET /healthz HTTP/1.1\r\n", b"X-Slow: " + b"a" * 200, 0.2, 15)
    assert took < 5, f"still open after {took:.1f} s"


async def test_a_client_that_sends_its_body_slowly_gets_408(http: str, gateway: Gateway) -> None:
    """A request body sent a byte every 0.2 s is answered 408 once the body timeout (1 s here) passed."""
    port = int(http.rsplit(":", 1)[1])
    head = b"POST /v1/requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 500\r\n\r\n"
    with settings(gateway, body_timeout_seconds=1.0):
        took, answer = await _dribble(port, head, b"<" * 500, 0.2, 15)
    assert answer.startswith(b"HTTP/1.1 408") and took < 5, (took, answer[:80])


# ---------------------------------------------------------------------------------------- headers


async def test_every_answer_carries_the_security_headers(http: str, cnas: pki.Issued, examples: Examples) -> None:
    """nosniff, a CSP that forbids framing, forms elsewhere and <base>, no-store on answers with personal data,
    no HSTS over plain HTTP, and a Server header without versions."""
    _, body = signed_xml(cnas, subject={"nin": examples["birth-certificate"]["found"][0]})
    async with aiohttp.ClientSession() as session:
        for method, path, data in (("GET", "/healthz", None), ("GET", "/login", None), ("POST", "/v1/requests", body)):
            async with session.request(
                method, http + path, data=data, headers={"Content-Type": "application/xml"}
            ) as response:
                headers = response.headers
                assert headers["X-Content-Type-Options"] == "nosniff", path
                csp = headers["Content-Security-Policy"]
                assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp and "base-uri 'none'" in csp
                assert headers["Cache-Control"] == "no-store", path
                assert "Strict-Transport-Security" not in headers
                assert headers["Server"] == "dz-exchange-gateway"


async def test_behind_a_tls_proxy_the_cookie_is_secure_and_hsts_is_sent(
    http: str, home: Path, gateway: Gateway
) -> None:
    """From a trusted proxy that says https, the session cookie is Secure and HSTS is sent; a spoofed
    X-Forwarded-Proto from any other peer changes nothing."""
    assert add_operator(home, "proxied", "une phrase derriere un proxy").returncode == 0
    form = {"username": "proxied", "password": "une phrase derriere un proxy"}
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.20"}
    async with aiohttp.ClientSession() as session:
        async with session.post(http + "/login", data=form, headers=https, allow_redirects=False) as response:
            assert "Secure" not in response.headers["Set-Cookie"]
            assert "Strict-Transport-Security" not in response.headers
        with behind_a_proxy(gateway):
            async with session.post(http + "/login", data=form, headers=https, allow_redirects=False) as response:
                assert response.status == 303 and "Secure" in response.headers["Set-Cookie"]
                assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_shipped_settings_time_out_slow_clients() -> None:
    """`gateway up`'s defaults cut slow headers after 10 s and slow bodies after 30 s, and trust no proxy."""
    shipped = config_module.load(env={}).settings
    assert shipped.header_timeout_seconds == 10 and shipped.body_timeout_seconds == 30
    assert shipped.trusted_proxies == ()
