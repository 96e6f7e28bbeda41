"""The operators' dashboard behind its login (docs/operations.md, the dashboard): accounts made with
`gateway operator add`, a wrong password refused, sessions and CSRF, every action journaled."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from gateway.runtime.worker import Gateway
from tests.e2e.operator_kit import add_operator


async def test_operator_logs_in_sees_the_dashboard_and_logs_out(http: str, home: Path, gateway: Gateway) -> None:
    """A wrong password gets 401; the right one opens `/`; logout needs the CSRF token; all journaled."""
    created = add_operator(home, "amina", "une phrase de passe longue")
    assert created.returncode == 0 and "created" in created.stdout, created.stderr
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(http + "/", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/login"
        async with session.post(
            http + "/login", data={"username": "amina", "password": "wrong password!"}, allow_redirects=False
        ) as response:
            assert response.status == 401
        async with session.post(
            http + "/login", data={"username": "amina", "password": "une phrase de passe longue"}, allow_redirects=False
        ) as response:
            assert response.status == 303
            cookie = response.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        async with session.get(http + "/") as response:
            page = await response.text()
            assert response.status == 200 and "amina" in page and "Disjoncteurs" in page
        async with session.post(http + "/logout", data={"csrf": "forged"}, allow_redirects=False) as response:
            assert response.status == 403
        token = page.split('name="csrf" value="')[1].split('"')[0]
        async with session.post(http + "/logout", data={"csrf": token}, allow_redirects=False) as response:
            assert response.status == 303
    chain, _ = await gateway.store.audit_chain()
    actions = [(c.entry.requester, c.entry.status) for c in chain if c.entry.transport == "operator"]
    assert [a for a in actions if a[0] == "amina"] == [
        ("amina", "operator_added"),
        ("amina", "login_failed"),
        ("amina", "login"),
        ("amina", "logout"),
    ]


async def test_repeated_failed_logins_are_throttled(http: str, home: Path) -> None:
    """After five wrong passwords for one account, even the right one is refused for a while (429)."""
    assert add_operator(home, "karim", "une autre phrase longue").returncode == 0
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        for _ in range(5):
            async with session.post(
                http + "/login", data={"username": "karim", "password": "nope nope nope"}, allow_redirects=False
            ) as response:
                assert response.status == 401
        async with session.post(
            http + "/login", data={"username": "karim", "password": "une autre phrase longue"}, allow_redirects=False
        ) as response:
            assert response.status == 429


async def test_a_login_posted_from_another_site_is_refused(http: str, home: Path) -> None:
    """A login form posted from another site's page (its Origin) is refused, whatever the password."""
    assert add_operator(home, "samir", "encore une phrase longue").returncode == 0
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            http + "/login",
            data={"username": "samir", "password": "encore une phrase longue"},
            headers={"Origin": "https://evil.example"},
            allow_redirects=False,
        ) as response,
    ):
        assert response.status == 403


def test_operator_add_refuses_short_passwords_and_odd_names(home: Path) -> None:
    """Passwords under 12 characters and names outside the pattern are refused with exit code 2."""
    assert add_operator(home, "amina", "short").returncode == 2
    assert add_operator(home, "Amina Admin", "une phrase de passe longue").returncode == 2
