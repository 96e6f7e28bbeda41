"""Operator accounts and logged-in web sessions, for the tests of the operators' pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp


def add_operator(home: Path, name: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "operator", "add", name, "--home", str(home), "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


async def logged_in(
    http: str,
    home: Path,
    name: str,
    password: str = "une phrase de passe assez longue",
) -> aiohttp.ClientSession:
    """A web session of a new operator, logged in; the caller closes it."""
    assert add_operator(home, name, password).returncode == 0
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(
        http + "/login", data={"username": name, "password": password}, allow_redirects=False
    ) as response:
        assert response.status == 303, await response.text()
    return session


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"')[0]
