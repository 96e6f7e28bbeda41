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

from gateway.dashboard import dead_letters as dashboard_dead
from gateway.dashboard import kpis as dashboard_kpi
from gateway.dashboard import lookup as dashboard_lookup
from gateway.dashboard.accounts import Sessions, Throttle, check_password
from gateway.dashboard.page import lang_of, respond
from gateway.dashboard.session import COOKIE, SESSIONS_KEY, THROTTLE_KEY, checked_post, journal, same_origin
from gateway.runtime.worker import Gateway, gateway_of
from gateway.texts.dashboard import t

log = structlog.get_logger(__name__)


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
    gateway = gateway_of(request)
    if not same_origin(request):
        raise web.HTTPForbidden(text="cross-site login refused\n")
    throttle = request.app[THROTTLE_KEY]
    form = await request.post()
    name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    keys = (f"user:{name}", f"addr:{request.remote}")
    if throttle.locked(*keys):
        await journal(gateway, name, "login_refused", "throttled")
        raise web.HTTPTooManyRequests(text="too many failed logins; try again later\n")
    if not check_password(password, await gateway.store.operator_hash(name)):
        throttle.failed(*keys)
        await journal(gateway, name, "login_failed", "bad_credentials")
        return await login_form(request, t(lang_of(request), "bad_credentials"), status=401)
    throttle.succeeded(*keys)
    await journal(gateway, name, "login")
    cookie = request.app[SESSIONS_KEY].issue(name)
    response = web.HTTPSeeOther("/")
    response.set_cookie(
        COOKIE, cookie, httponly=True, samesite="Strict", path="/", secure=request.secure, max_age=8 * 3600
    )
    raise response


async def logout(request: web.Request) -> web.Response:
    operator, _ = await checked_post(request)
    await journal(gateway_of(request), operator, "logout")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


def add_routes(app: web.Application, gateway: Gateway, sessions: Sessions) -> None:
    app[SESSIONS_KEY] = sessions
    app[THROTTLE_KEY] = Throttle()
    dashboard_dead.setup(app)
    app.router.add_get("/", dashboard_kpi.page)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/requests", dashboard_lookup.page)
    app.router.add_get("/dead-letters", dashboard_dead.page)
    app.router.add_post("/dead-letters/replay", dashboard_dead.replay)
    app.router.add_post("/dead-letters/purge", dashboard_dead.purge)
