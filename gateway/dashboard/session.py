"""What every operator page shares: the application keys, who is logged in, the checks a
form post must pass (same origin, CSRF token bound to the session), and the journal entry
of each operator action."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from yarl import URL

from gateway.dashboard.accounts import PasswordChecks
from gateway.dashboard.sessions import SessionBook
from gateway.dashboard.throttle import LoginGuard
from gateway.records import AuditEntry
from gateway.runtime.worker import Gateway, gateway_of

COOKIE = "gw_session"
SESSIONS_KEY = web.AppKey("sessions", SessionBook)
GUARD_KEY = web.AppKey("login_guard", LoginGuard)
PASSWORDS_KEY = web.AppKey("password_checks", PasswordChecks)


def same_origin(request: web.Request) -> bool:
    """Browsers name the page a POST comes from (Origin, else Referer); a form posted from
    another site is refused. A client that sends neither (a script) is not a browser victim."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return source is None
    return URL(source).host == request.url.host and URL(source).port == request.url.port


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form, read within the body timeout (408 for a client that sends too slowly)."""
    try:
        async with asyncio.timeout(gateway_of(request).config.settings.body_timeout_seconds):
            return await request.post()
    except TimeoutError:
        raise web.HTTPRequestTimeout(
            text="the form took too long to arrive\n", headers={"Connection": "close"}
        ) from None


async def operator_of(request: web.Request) -> str | None:
    return await request.app[SESSIONS_KEY].operator(request.cookies.get(COOKIE))


async def logged_in(request: web.Request) -> tuple[str, str]:
    """The operator and the CSRF token for their forms; a visitor is sent to the login page."""
    operator = await operator_of(request)
    if operator is None:
        raise web.HTTPSeeOther("/login")
    return operator, request.app[SESSIONS_KEY].csrf(request.cookies.get(COOKIE, ""))


async def checked_post(request: web.Request) -> tuple[str, MultiDictProxy[Any]]:
    """The operator and the form of a POST that passed the session, origin and CSRF checks."""
    form = await read_form(request)
    operator = await operator_of(request)
    if (
        operator is None
        or not same_origin(request)
        or not request.app[SESSIONS_KEY].csrf_ok(request.cookies.get(COOKIE), str(form.get("csrf", "")))
    ):
        raise web.HTTPForbidden(text="missing or wrong CSRF token\n")
    return operator, form


async def journal(
    gateway: Gateway, operator: str, action: str, outcome: str | None = None, subject: str | None = None
) -> None:
    """One audit entry for an operator action; `subject` names what it acted on (a request id)."""
    await gateway.store.record(AuditEntry.operator_action(operator, action, outcome, subject), None)
