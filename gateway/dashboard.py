"""The operators' pages: login, logout and the dashboard at `/` (PROTOCOL §7, §8).

Sessions are signed cookies (HttpOnly, SameSite=Strict); a POST from another site's page is
refused (Origin/Referer), and every POST after login also carries a CSRF token bound to the
session; logins are throttled per account and per address; every
login, failed login and logout goes into the audit journal. This first dashboard shows
readiness, queue depths, circuit breakers and the counts of answers by status and type;
the KPI views are the subject of issue 6.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid

import structlog
from aiohttp import web
from yarl import URL

from gateway.operators import Sessions, Throttle, check_password
from gateway.runtime import Gateway
from gateway.store import AuditEntry

log = structlog.get_logger(__name__)
COOKIE = "gw_session"
SESSIONS_KEY = web.AppKey("sessions", Sessions)
GATEWAY_KEY = web.AppKey("dashboard_gateway", Gateway)
THROTTLE_KEY = web.AppKey("throttle", Throttle)


def _page(title: str, body: str) -> web.Response:
    return web.Response(content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'",
        "X-Frame-Options": "DENY", "Cache-Control": "no-store"}, text=f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2rem;max-width:60rem}}table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:.3rem .6rem;text-align:left}}.bad{{color:#b00}}</style></head>
<body>{body}</body></html>""")


async def _journal(gateway: Gateway, operator: str, action: str, outcome: str | None = None) -> None:
    await gateway.store.record(AuditEntry(
        dt.datetime.now(dt.UTC), str(uuid.uuid4()), "operator", operator, None, None, None, None, None,
        action, outcome, "", "", None), None)


async def login_form(request: web.Request, message: str = "") -> web.Response:
    notice = f'<p class="bad">{html.escape(message)}</p>' if message else ""
    return _page("Connexion", f"""<h1>Passerelle d'échange — connexion des opérateurs</h1>{notice}
<form method="post" action="/login"><p><label>Utilisateur <input name="username" autocomplete="username"></label></p>
<p><label>Mot de passe <input name="password" type="password" autocomplete="current-password"></label></p>
<p><button type="submit">Se connecter</button></p></form>""")


def _same_origin(request: web.Request) -> bool:
    """Browsers name the page a POST comes from (Origin, else Referer); a form posted from
    another site is refused. A client that sends neither (a script) is not a browser victim."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return source is None
    return URL(source).host == request.url.host and URL(source).port == request.url.port


async def login(request: web.Request) -> web.Response:
    gateway: Gateway = request.app[GATEWAY_KEY]
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-site login refused\n")
    throttle = request.app[THROTTLE_KEY]
    form = await request.post()
    name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    keys = (f"user:{name}", f"addr:{request.remote}")
    if throttle.locked(*keys):
        await _journal(gateway, name, "login_refused", "throttled")
        raise web.HTTPTooManyRequests(text="too many failed logins; try again later\n")
    if not check_password(password, await gateway.store.operator_hash(name)):
        throttle.failed(*keys)
        await _journal(gateway, name, "login_failed", "bad_credentials")
        response = await login_form(request, "Identifiants incorrects.")
        response.set_status(401)
        return response
    throttle.succeeded(*keys)
    await _journal(gateway, name, "login")
    cookie = request.app[SESSIONS_KEY].issue(name)
    response = web.HTTPSeeOther("/")
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", path="/",
                        secure=request.secure, max_age=8 * 3600)
    raise response


def _operator(request: web.Request) -> str | None:
    return request.app[SESSIONS_KEY].operator(request.cookies.get(COOKIE))


async def logout(request: web.Request) -> web.Response:
    gateway: Gateway = request.app[GATEWAY_KEY]
    form = await request.post()
    cookie = request.cookies.get(COOKIE)
    operator = _operator(request)
    if (operator is None or not _same_origin(request)
            or not request.app[SESSIONS_KEY].csrf_ok(cookie, str(form.get("csrf", "")))):
        raise web.HTTPForbidden(text="missing or wrong CSRF token\n")
    await _journal(gateway, operator, "logout")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


async def dashboard(request: web.Request) -> web.Response:
    operator = _operator(request)
    if operator is None:
        raise web.HTTPSeeOther("/login")
    gateway: Gateway = request.app[GATEWAY_KEY]
    csrf = request.app[SESSIONS_KEY].csrf(request.cookies.get(COOKIE, ""))
    ready = await gateway.readiness()
    counts: dict[tuple[str, str], float] = {}
    for metric in gateway.metrics.requests.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                key = (sample.labels["document_type"], sample.labels["status"])
                counts[key] = counts.get(key, 0) + sample.value
    statuses = ("issued", "not-found", "refused", "failed")
    types = sorted({t for t, _ in counts})
    rows = "".join(f"<tr><td>{html.escape(t)}</td>" + "".join(
        f"<td>{int(counts.get((t, s), 0))}</td>" for s in statuses) + "</tr>" for t in types)
    breakers = "".join(f"<tr><td>{html.escape(p)}</td><td>{html.escape(state)}</td></tr>"
                       for p, state in (gateway.pipeline.router.breaker_states() if gateway.pipeline else {}).items())
    queues = "".join(f"<tr><td>{html.escape(n)}</td><td>{'absent' if m is None else m}</td><td>{c or 0}</td></tr>"
                     for n, m, c in await gateway.queue_depths())
    checks = ", ".join(f'{k}: <span class="{"" if v else "bad"}">{"ok" if v else "KO"}</span>'
                       for k, v in ready.items())
    return _page("Tableau de bord", f"""<h1>Tableau de bord de la passerelle</h1>
<p>Opérateur : <strong>{html.escape(operator)}</strong>
<form method="post" action="/logout" style="display:inline"><input type="hidden" name="csrf" value="{csrf}">
<button type="submit">Se déconnecter</button></form></p>
<p>Disponibilité : {checks}</p>
<h2>Réponses depuis le démarrage de ce processus</h2>
<table><tr><th>type</th>{''.join(f'<th>{s}</th>' for s in statuses)}</tr>{rows}</table>
<h2>Files</h2><table><tr><th>file</th><th>messages</th><th>consommateurs</th></tr>{queues}</table>
<h2>Disjoncteurs des administrations</h2><table><tr><th>administration</th><th>état</th></tr>{breakers}</table>""")


def add_routes(app: web.Application, gateway: Gateway, sessions: Sessions) -> None:
    app[GATEWAY_KEY] = gateway
    app[SESSIONS_KEY] = sessions
    app[THROTTLE_KEY] = Throttle()
    app.router.add_get("/", dashboard)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
