"""Request lookup: by request id or attestation id, every answer given to the request with
the time spent in each pipeline stage, and the journal entries about it (dead-lettering,
operators' replays). No personal data is shown: the journal keeps none in clear."""

from __future__ import annotations

from aiohttp import web

from gateway.dashboard import explorer
from gateway.dashboard.page import esc, lang_of, ltr, respond, table
from gateway.dashboard.session import journal, logged_in
from gateway.protocol import UUID_PATTERN, Transport
from gateway.records import AuditEntry, JourneyRecord, unverified
from gateway.runtime.worker import gateway_of
from gateway.texts.dashboard import t

BAR_PX = 320


def _journey(lang: str, record: JourneyRecord) -> str:
    facts = table(
        [
            t(lang, "at"),
            t(lang, "transport"),
            t(lang, "document_type"),
            t(lang, "provider"),
            t(lang, "agency"),
            t(lang, "status"),
            t(lang, "problem"),
            "total (ms)",
        ],
        [
            [
                ltr(f"{record.at:%Y-%m-%d %H:%M:%S} UTC"),
                esc(record.transport),
                esc(record.document_type or "—"),
                esc(record.provider or "—"),
                esc(record.agency or "—"),
                esc(t(lang, record.status)),
                esc(record.problem or "—"),
                f"{record.total_ms:.1f}",
            ]
        ],
        numeric={7},
    )
    if record.detail:
        facts += f'<p class="detail">{t(lang, "detail")} : <code>{esc(record.detail)}</code></p>'
    longest = max([ms for _, ms in record.stages] + [0.001])
    rows = [
        [
            esc(t(lang, f"stage_{name}")),
            f"{ms:.2f}",
            f'<span style="display:inline-block;background:#0b5d3b;height:.7rem;'
            f'width:{max(1, round(BAR_PX * ms / longest))}px"></span>',
        ]
        for name, ms in record.stages
    ]
    return facts + table([t(lang, "stage"), t(lang, "duration"), ""], rows, numeric={1})


async def page(request: web.Request) -> web.Response:
    operator, csrf = await logged_in(request)
    gateway, lang = gateway_of(request), lang_of(request)
    wanted = request.query.get("id", "").strip().lower()
    form = f"""<h1>{t(lang, "lookup")}</h1>
<form method="get" action="/requests"><label>{t(lang, "lookup_field")}
<input name="id" value="{esc(wanted)}" size="40" autocomplete="off"></label>
<button type="submit">{t(lang, "search")}</button></form>"""
    if not wanted:
        return await explorer.page(request, operator, csrf, form)
    if not UUID_PATTERN.match(wanted):
        return respond(
            request,
            t(lang, "lookup"),
            form + f'<p class="bad">{t(lang, "bad_id")}</p>',
            status=400,
            operator=operator,
            csrf=csrf,
        )
    store = gateway.store
    request_id, sections = wanted, []
    attestation = await store.find_attestation(wanted)
    if attestation is not None:
        request_id = attestation.request_id
        sections.append(
            f"<h2>{t(lang, 'attestation')}</h2>"
            + table(
                ["id", t(lang, "status"), t(lang, "document_type"), "sha256"],
                [
                    [
                        esc(attestation.attestation_id),
                        esc(attestation.status),
                        esc(attestation.document_type),
                        f"<code>{esc(attestation.sha256[:16])}…</code>",
                    ]
                ],
                numeric=(),
            )
        )
    journeys = await store.journeys(request_id)
    entries = await store.audit_entries(request_id)
    claims = await store.audit_entries(unverified(request_id))
    claimed_journeys = await store.journeys(unverified(request_id)) if claims else []
    found = journeys or entries or claims
    await journal(gateway, operator, "request_lookup", "found" if found else "unknown", request_id)
    if not found and attestation is None:
        return respond(
            request,
            t(lang, "lookup"),
            form + f'<p class="notice">{t(lang, "not_found_id")}</p>',
            status=404,
            operator=operator,
            csrf=csrf,
        )
    sections.append(f"<h2>{t(lang, 'journey')} — <code>{esc(request_id)}</code></h2>")
    sections += [_journey(lang, record) for record in journeys]
    sections.append(f"<h2>{t(lang, 'journal')}</h2>" + _entries(lang, entries))
    if claims:
        sections.append(f"<h2>{t(lang, 'unverified_claims')}</h2><p>{t(lang, 'unverified_note')}</p>")
        sections.append(_entries(lang, claims))
        sections += [_journey(lang, record) for record in claimed_journeys]
    return respond(request, t(lang, "lookup"), form + "".join(sections), operator=operator, csrf=csrf)


def _entries(lang: str, entries: list[AuditEntry]) -> str:
    """Journal entries as a table: when, from where (or which operator), what, why."""
    return table(
        [t(lang, "at"), t(lang, "transport"), t(lang, "status"), t(lang, "problem")],
        [
            [
                ltr(f"{e.at:%Y-%m-%d %H:%M:%S} UTC"),
                esc(e.transport if e.transport != Transport.OPERATOR else f"{e.transport} {e.requester}"),
                esc(e.status),
                esc(e.problem or "—"),
            ]
            for e in entries
        ],
        numeric=(),
    )
