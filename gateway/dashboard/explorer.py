"""The request explorer: the journal's entries filtered by requester, agency, agent, document
type, status, problem code and time, newest first, fifty to a page; each entry opens on the
request lookup. No personal data: the journal keeps subjects only as keyed hashes, and they
are not shown. Each search is itself journaled, with its filters."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from aiohttp import web

from gateway.dashboard.page import esc, lang_of, ltr, respond, table
from gateway.dashboard.session import journal
from gateway.logs import mask_identifiers
from gateway.protocol import Transport
from gateway.runtime.worker import gateway_of
from gateway.store.search import AuditQuery
from gateway.texts.dashboard import t

#: The filters of the form, by query parameter, in the order shown.
FILTERS = ("requester", "agency", "agent", "document_type", "status", "problem", "since", "until")
STATUSES = ("issued", "not-found", "refused", "failed", "dead")
UNVERIFIED = "unverified:"


class BadFilter(ValueError):
    """A filter the explorer cannot use, said in the operator's language."""


def query_of(params: dict[str, str]) -> AuditQuery:
    """The search a form asks for; times are UTC (`2026-12-04T09:30`, as a datetime-local field sends)."""
    values = {name: params.get(name, "").strip() for name in FILTERS}
    times: dict[str, dt.datetime | None] = {}
    for name in ("since", "until"):
        try:
            times[name] = dt.datetime.fromisoformat(values[name]).replace(tzinfo=dt.UTC) if values[name] else None
        except ValueError:
            raise BadFilter(name) from None
    before = params.get("before", "").strip()
    if before and not before.isdigit():
        raise BadFilter("before")
    return AuditQuery(
        requester=values["requester"] or None,
        agency=values["agency"] or None,
        agent=values["agent"] or None,
        document_type=values["document_type"] or None,
        status=values["status"] or None,
        problem=values["problem"] or None,
        since=times["since"],
        until=times["until"],
        before=int(before) if before else None,
    )


def summary(query: AuditQuery) -> str:
    """The filters of a search in one line, as the journal keeps it (`all` for none), with anything
    that looks like an identifier typed into a filter masked."""
    words = [
        f"{name}={value:%Y-%m-%dT%H:%M}" if isinstance(value, dt.datetime) else f"{name}={value}"
        for name, value in query.given().items()
    ]
    return mask_identifiers(" ".join(words)) or "all"


def link(params: dict[str, str], **changes: str) -> str:
    """The explorer's address for `params` with `changes` (empty values left out)."""
    merged = {k: v for k, v in (params | changes).items() if v and k in (*FILTERS, "before", "lang")}
    return "/requests?" + urlencode(merged)


def _form(lang: str, params: dict[str, str]) -> str:
    def field(name: str, kind: str = "text") -> str:
        return (
            f'<label>{t(lang, name)} <input name="{name}" type="{kind}" value="{esc(params.get(name, ""))}" '
            f'size="16" autocomplete="off"></label>'
        )

    chosen = params.get("status", "")
    options = "".join(
        f'<option value="{s}"{" selected" if s == chosen else ""}>{esc(t(lang, s))}</option>' for s in STATUSES
    )
    status = f'<label>{t(lang, "status")} <select name="status"><option value="">—</option>{options}</select></label>'
    return (
        f'<h2>{t(lang, "explorer")}</h2><form method="get" action="/requests" class="filters">'
        + " ".join(field(name) for name in ("requester", "agency", "agent", "document_type"))
        + f" {status} {field('problem')} {field('since', 'datetime-local')} {field('until', 'datetime-local')}"
        + f' <button type="submit">{t(lang, "search")}</button></form>'
    )


def _opens(request_id: str) -> str:
    """The lookup link of an entry's request id (an unverified claim opens on the id it claims)."""
    wanted = request_id.removeprefix(UNVERIFIED)
    return f'<a href="/requests?id={esc(wanted)}"><code>{esc(request_id)}</code></a>'


async def page(request: web.Request, operator: str, csrf: str, lookup_form: str) -> web.Response:
    gateway, lang = gateway_of(request), lang_of(request)
    params = dict(request.query)
    try:
        query = query_of(params)
    except BadFilter as bad:
        body = (
            lookup_form + _form(lang, params) + f'<p class="bad">{t(lang, "bad_filter")} : {esc(t(lang, str(bad)))}</p>'
        )
        return respond(request, t(lang, "lookup"), body, status=400, operator=operator, csrf=csrf)
    entries = await gateway.store.audit_search(query)
    given = query.given()
    await journal(
        gateway,
        operator,
        "request_search",
        " ".join(f"{k}={v:%Y-%m-%dT%H:%M}" if isinstance(v, dt.datetime) else f"{k}={v}" for k, v in given.items())
        or "all",
    )
    rows = [
        [
            ltr(f"{e.at:%Y-%m-%d %H:%M:%S}"),
            _opens(e.request_id),
            esc(e.transport if e.transport != Transport.OPERATOR else f"{e.transport} {e.requester}"),
            esc(e.requester or "—") if e.transport != Transport.OPERATOR else "—",
            esc(e.agency or "—"),
            esc(e.agent or "—"),
            esc(e.document_type or "—"),
            esc(t(lang, e.status)),
            esc(e.problem or "—"),
        ]
        for _, e in entries
    ]
    headers = [
        t(lang, "at") + " (UTC)",
        t(lang, "request_id"),
        t(lang, "transport"),
        t(lang, "requester"),
        t(lang, "agency"),
        t(lang, "agent"),
        t(lang, "document_type"),
        t(lang, "status"),
        t(lang, "problem"),
    ]
    results = table(headers, rows, numeric=()) if rows else f'<p class="notice">{t(lang, "no_entries")}</p>'
    if len(entries) == query.limit:
        results += f'<p><a href="{esc(link(params, before=str(entries[-1][0])))}">{t(lang, "older")}</a></p>'
    return respond(
        request, t(lang, "lookup"), lookup_form + _form(lang, params) + results, operator=operator, csrf=csrf
    )
