"""The frame of every operator page: language and direction, navigation, styles, headers.

Pages are rendered on the server, with no script at all: the content security policy allows
none, charts are inline SVG, and the dashboard refreshes itself with a meta refresh.
"""

from __future__ import annotations

import html
from collections.abc import Container, Iterable, Sequence

from aiohttp import web

from gateway.texts import LANGS
from gateway.texts.dashboard import t

STYLE = """
body{font-family:system-ui,"Noto Sans","Noto Naskh Arabic",sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#0b5d3b;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a,header button{color:#fff;background:none;border:0;font:inherit;cursor:pointer;text-decoration:underline}
header .who{margin-inline-start:auto}
main{padding:1rem 1.2rem;max-width:110rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;background:#fff;margin:.4rem 0}
td,th{border:1px solid #c9ced6;padding:.25rem .55rem;text-align:start;font-variant-numeric:tabular-nums}
th{background:#eef1f4}
td.n{text-align:end}
.bad{color:#b00020;font-weight:600}.ok{color:#0b6b2e}
.cards{display:flex;gap:.8rem;flex-wrap:wrap}
.card{background:#fff;border:1px solid #c9ced6;padding:.5rem .9rem;min-width:8rem}
.card b{display:block;font-size:1.5rem}
.notice{background:#fff4d6;border:1px solid #e0b84c;padding:.5rem .8rem}
svg{background:#fff;border:1px solid #c9ced6;max-width:100%;height:auto}
.legend span{display:inline-block;margin-inline-end:1rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-inline-end:.3rem;vertical-align:middle}
form.inline{display:inline}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(30rem,1fr));gap:0 1.5rem}
"""


LANG_COOKIE = "gw_lang"


def lang_of(request: web.Request) -> str:
    """`?lang=` first, then the cookie it set, then French."""
    for value in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGS:
            return value
    return "fr"


def respond(
    request: web.Request,
    title: str,
    body: str,
    *,
    status: int = 200,
    refresh: int | None = None,
    operator: str | None = None,
    csrf: str | None = None,
) -> web.Response:
    """A whole page in the request's language, right to left in Arabic, with the navigation
    when an operator is logged in; `?lang=` is remembered in a cookie."""
    lang = lang_of(request)
    direction = "rtl" if lang == "ar" else "ltr"
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    nav = _nav(request, lang, operator, csrf) if operator else _switch(request, lang)
    page = f"""<!doctype html>
<html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">{meta}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} — {html.escape(t(lang, "gateway"))}</title><style>{STYLE}</style></head>
<body><header>{nav}</header><main>{body}</main></body></html>"""
    response = web.Response(
        text=page,
        status=status,
        content_type="text/html",
        charset="utf-8",
    )  # its security headers (no script, no framing, no cache) are the web application's: gateway.web.hardening
    if request.query.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="Strict", path="/", max_age=365 * 86400)
    return response


def _switch(request: web.Request, lang: str) -> str:
    other = "ar" if lang == "fr" else "fr"
    target = request.rel_url.update_query(lang=other)
    return (
        f"<strong>{html.escape(t(lang, 'gateway'))}</strong>"
        f'<a href="{html.escape(str(target))}" lang="{other}" id="lang-switch">{t(lang, "switch")}</a>'
    )


def _nav(request: web.Request, lang: str, operator: str, csrf: str | None) -> str:
    links = "".join(
        f'<a href="{path}">{html.escape(t(lang, key))}</a>'
        for path, key in (
            ("/", "dashboard"),
            ("/dead-letters", "dead_letters"),
            ("/requests", "lookup"),
            ("/alerts", "alerts"),
        )
    )
    return f"""{_switch(request, lang)}{links}
<span class="who">{html.escape(t(lang, "operator"))} : <strong>{html.escape(operator)}</strong></span>
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{csrf or ""}">
<button type="submit">{html.escape(t(lang, "logout"))}</button></form>"""


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Container[int] | None = None) -> str:
    """A table of already-escaped cells; the `numeric` columns (by default all but the first)
    are aligned as numbers."""

    def cell(index: int, value: str) -> str:
        is_number = index > 0 if numeric is None else index in numeric
        return f'<td class="n">{value}</td>' if is_number else f"<td>{value}</td>"

    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def esc(value: object) -> str:
    return html.escape(str(value))


def ltr(value: object) -> str:
    """Escaped text kept left to right inside an Arabic page (dates, percentages, units)."""
    return f'<bdi dir="ltr">{html.escape(str(value))}</bdi>'
