"""The operators' web interface (docs/operations.md, the dashboard): login, logout, and the routes of its pages.

Sessions are signed cookies (HttpOnly, SameSite=Strict); a POST from another site's page is
refused (Origin/Referer), and every POST after login also carries a CSRF token bound to the
session; logins are throttled per account and per address; every login, failed login,
logout and operator action goes into the audit journal. The pages: the KPI dashboard at
`/` (dashboard_kpi), the dead letters (dashboard_dead) and the request lookup
(dashboard_lookup), in French and Arabic.
"""

from __future__ import annotations

import html

import structlog
from aiohttp import web

from gateway.dashboard import alerts as dashboard_alerts
from gateway.dashboard import dead_letters as dashboard_dead
from gateway.dashboard import kpis as dashboard_kpi
from gateway.dashboard import lookup as dashboard_lookup
from gateway.dashboard import verification as dashboard_verification
from gateway.dashboard.accounts import MAX_PASSWORD_BYTES, NAME, Busy, PasswordChecks
from gateway.dashboard.page import lang_of, respond
from gateway.dashboard.session import (
    COOKIE,
    GUARD_KEY,
    PASSWORDS_KEY,
    SESSIONS_KEY,
    checked_post,
    journal,
    read_form,
    same_origin,
)
from gateway.dashboard.sessions import LIFETIME_SECONDS, SessionBook
from gateway.dashboard.throttle import GuessGuard, LoginGuard, Refused
from gateway.runtime.worker import Gateway, gateway_of
from gateway.texts.dashboard import t

log = structlog.get_logger(__name__)
#: How the journal names a login attempt whose user name is outside the pattern of names.
UNNAMED = "-"


async def login_form(request: web.Request, message: str = "", status: int = 200) -> web.Response:
    lang = lang_of(request)
    notice = f'<p class="bad" role="alert">{html.escape(message)}</p>' if message else ""
    return respond(
        request,
        t(lang, "login_title"),
        f"""<h1>{t(lang, "login_title")}</h1>{notice}
<form method="post" action="/login"><p><label>{t(lang, "username")}
<input name="username" autocomplete="username" required></label></p>
<p><label>{t(lang, "password")} <input name="password" type="password" autocomplete="current-password" required>
</label></p><p><button type="submit">{t(lang, "login")}</button></p></form>""",
        status=status,
    )


async def login(request: web.Request) -> web.Response:
    """Checks an operator's password and opens a session. The attempt is counted before the password
    is checked (see `throttle`), and the check runs off the event loop (`accounts.PasswordChecks`)."""
    gateway = gateway_of(request)
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-site login refused\n")
    form = await read_form(request)
    name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    valid = NAME.match(name) is not None and len(password.encode()) <= MAX_PASSWORD_BYTES
    shown = name if valid else UNNAMED  # a name outside the pattern is never written anywhere
    guard = request.app[GUARD_KEY]
    try:
        attempt = guard.reserve(name if valid else "", request.remote or "?")
    except Refused as refused:
        if refused.first:
            await journal(gateway, shown, "login_refused", "throttled")
        raise web.HTTPTooManyRequests(
            text="too many failed logins; try again later\n", headers={"Retry-After": str(refused.retry_after)}
        ) from None
    if not valid:
        await journal(gateway, shown, "login_failed", "invalid_name")
        return await login_form(request, t(lang_of(request), "bad_credentials"), status=401)
    try:
        genuine = await request.app[PASSWORDS_KEY].check(password, await gateway.store.operator_hash(name))
    except Busy:
        guard.release(attempt)
        raise web.HTTPServiceUnavailable(
            text="too many logins at once; try again\n", headers={"Retry-After": "1"}
        ) from None
    if not genuine:
        await journal(gateway, name, "login_failed", "bad_credentials")
        return await login_form(request, t(lang_of(request), "bad_credentials"), status=401)
    guard.succeeded(attempt)
    await journal(gateway, name, "login")
    token = await request.app[SESSIONS_KEY].open(name)
    response = web.HTTPSeeOther("/")
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", path="/", secure=request.secure, max_age=LIFETIME_SECONDS
    )
    raise response


async def logout(request: web.Request) -> web.Response:
    operator, _ = await checked_post(request)
    await request.app[SESSIONS_KEY].close(request.cookies.get(COOKIE, ""))
    await journal(gateway_of(request), operator, "logout")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


def add_routes(app: web.Application, gateway: Gateway, session_key: bytes) -> None:
    """The dashboard's routes, with its sessions (in `gateway`'s store), login guard and password checks."""
    app[SESSIONS_KEY] = SessionBook(gateway.store, session_key)
    app[GUARD_KEY] = LoginGuard()
    app[PASSWORDS_KEY] = PasswordChecks()
    dashboard_dead.setup(app)
    app.router.add_get("/", dashboard_kpi.page)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/requests", dashboard_lookup.page)
    app.router.add_get("/dead-letters", dashboard_dead.page)
    app.router.add_get("/alerts", dashboard_alerts.page)
    app[dashboard_verification.GUESSES_KEY] = GuessGuard()
    app.router.add_get("/verify", dashboard_verification.form)
    app.router.add_post("/verify", dashboard_verification.check)
    app.router.add_post("/alerts/settle", dashboard_alerts.settle)
    app.router.add_post("/dead-letters/replay", dashboard_dead.replay)
    app.router.add_post("/dead-letters/purge", dashboard_dead.purge)
