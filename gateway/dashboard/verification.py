"""`/verify`: the public page where anyone shown a printed attestation checks it, in French or
Arabic, with no login and no script.

A clerk types the check code printed under the QR code, or pastes the QR code's text (`DZ1:…`,
what a phone's reader gives). The page says whether the attestation is valid, expired or
revoked, or superseded by a correction of the record it came from (with the attestation issued
since in its place), from the gateway's own record of it:

- with the QR code's text, the visible seal is checked first (`TAMPERED`, `UNKNOWN SIGNER`), then
  the page shows the fields printed on the document, from the seal, for the clerk to compare;
- with the check code, only what the gateway keeps about an attestation, which holds no personal
  data: its type, the administration, its dates and its state.

The form is posted, so that the QR code's text (names, dates) stays out of addresses and access
logs. An address that keeps typing check codes that find nothing (30 in 15 minutes) waits, as
a login does (`throttle.GuessGuard`): a code is 56 random bits, but each try costs a query.
Checks are not journaled: a check reveals nothing the paper in hand does not show.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from gateway.dashboard.page import esc, lang_of, ltr, respond
from gateway.dashboard.throttle import GuessGuard
from gateway.ids import check_code, id_prefix
from gateway.printing.attestation_pdf import value_words
from gateway.records import AttestationRecord
from gateway.runtime.worker import gateway_of
from gateway.signing.visible_seal import PREFIX, Claims, verify
from gateway.store import attestation_state
from gateway.texts.dashboard import t
from gateway.texts.printed import FIELDS, TITLES

#: The longest text the form takes: a visible seal is at most 4,096 characters.
MAX_QUERY = 4096
GUESSES_KEY = web.AppKey("verification_guesses", GuessGuard)


async def form(request: web.Request) -> web.Response:
    lang = lang_of(request)
    return respond(request, t(lang, "verify_title"), _form(lang, ""))


async def check(request: web.Request) -> web.Response:
    lang = lang_of(request)
    posted = await request.post()
    given = str(posted.get("q", "")).strip()[: MAX_QUERY + 1]
    guard, address = request.app[GUESSES_KEY], request.remote or "?"
    wait = guard.wait(address) if not given.startswith(PREFIX) else 0.0
    if wait > 0:  # an address that kept trying codes that find nothing
        body = _form(lang, "") + _banner("bad", t(lang, "verify_wait", seconds=int(wait) + 1))
        response = respond(request, t(lang, "verify_title"), body, status=429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    verdict, found = await _verdict(request, lang, given)
    if not given.startswith(PREFIX) and not found:
        guard.missed(address)
    body = _form(lang, given if not given.startswith(PREFIX) else "") + verdict
    return respond(request, t(lang, "verify_title"), body)


def _form(lang: str, value: str) -> str:
    return f"""<h1>{t(lang, "verify_title")}</h1>
<p>{t(lang, "verify_intro", code=ltr("XXXX-XXXX-XXXX"), prefix=ltr(PREFIX))}</p>
<form method="post" action="/verify"><label>{t(lang, "verify_field")}<br>
<textarea name="q" rows="3" cols="70" maxlength="{MAX_QUERY}" autocomplete="off" dir="ltr">{esc(value)}</textarea>
</label><br><button type="submit">{t(lang, "verify_button")}</button></form>"""


async def _verdict(request: web.Request, lang: str, given: str) -> tuple[str, bool]:
    """The verdict's HTML, and whether an attestation was found."""
    gateway = gateway_of(request)
    now = dt.datetime.now(dt.UTC)
    names = {code: p.name_ar or p.name if lang == "ar" else p.name for code, p in gateway.config.participants.items()}
    if given.startswith(PREFIX):
        verdict = verify(given, gateway.seal_certificates(), now=now)
        if verdict.claims is None:
            return _banner("bad", t(lang, f"verdict_{verdict.status}")), False
        record = await gateway.store.find_attestation(verdict.claims.attestation_id)
        state, replaced_by = (
            await attestation_state(gateway.store, record, now) if record is not None else (verdict.status, None)
        )
        shown = _facts(lang, names, record, verdict.claims, replaced_by)
        return _banner("ok" if state == "valid" else "bad", t(lang, f"verdict_{state}")) + shown, True
    prefix = id_prefix(given)
    if prefix is None:
        return _banner("bad", t(lang, "verdict_bad_code")), False
    found = await gateway.store.find_attestations_by_prefix(prefix)
    if not found:
        return _banner("bad", t(lang, "verdict_unknown")), False
    if len(found) > 1:
        return _banner("bad", t(lang, "verdict_ambiguous")), True
    state, replaced_by = await attestation_state(gateway.store, found[0], now)
    shown = _facts(lang, names, found[0], None, replaced_by) + f"<p>{t(lang, 'fields_by_qr')}</p>"
    return _banner("ok" if state == "valid" else "bad", t(lang, f"verdict_{state}")) + shown, True


def _banner(kind: str, text: str) -> str:
    return f'<p class="{kind}" id="verdict" style="font-size:1.3rem;font-weight:600">{esc(text)}</p>'


def _facts(
    lang: str, names: dict[str, str], record: AttestationRecord | None, claims: Claims | None, replaced_by: str | None
) -> str:
    """What the page may show: the record's facts, and the printed fields when the seal gave them."""
    document_type = claims.document_type if claims else record.document_type if record else ""
    title = TITLES.get(document_type, (document_type, document_type))[1 if lang == "ar" else 0]
    rows = [(t(lang, "verify_document"), esc(title))]
    if claims is not None:
        rows.append((t(lang, "issued_by_admin"), esc(names.get(claims.provider, claims.provider))))
        rows.append((t(lang, "attestation"), ltr(claims.attestation_id)))
        rows.append((t(lang, "issued_on"), ltr(f"{claims.issued_at:%Y-%m-%d}")))
        rows.append((t(lang, "valid_until"), ltr(f"{claims.valid_until:%Y-%m-%d}")))
    elif record is not None:
        rows.append((t(lang, "issued_by_admin"), esc(names.get(record.provider, record.provider))))
        rows.append((t(lang, "attestation"), ltr(record.attestation_id)))
        rows.append((t(lang, "issued_on"), ltr(f"{record.issued_at:%Y-%m-%d}")))
        rows.append((t(lang, "valid_until"), ltr(f"{record.valid_until:%Y-%m-%d}")))
    if replaced_by is not None:
        rows.append((t(lang, "superseded_by"), ltr(f"{replaced_by} ({check_code(replaced_by)})")))
    if record is not None and record.revoked_at is not None:
        rows.append((t(lang, "revoked_on"), ltr(f"{record.revoked_at:%Y-%m-%d %H:%M} UTC")))
    out = _pairs(rows)
    if claims is not None and claims.fields:
        printed = [
            (esc(FIELDS.get(name, (name, name))[1 if lang == "ar" else 0]), esc(_value(lang, value)))
            for name, value in claims.fields.items()
        ]
        out += f"<h2>{t(lang, 'printed_fields')}</h2><p>{t(lang, 'printed_fields_note')}</p>"
        out += _pairs(printed)
    return out


def _pairs(rows: list[tuple[str, str]]) -> str:
    """A table of (label, already-escaped value) rows, labels as row headers."""
    body = "".join(f'<tr><th scope="row">{label}</th><td>{value}</td></tr>' for label, value in rows)
    return f"<table><tbody>{body}</tbody></table>"


def _value(lang: str, value: object) -> str:
    french, arabic = value_words(value)
    return arabic if lang == "ar" else french
