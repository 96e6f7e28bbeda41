"""The dead letters page: what waits on `gateway.dead` and why; replay one or all to
`gateway.requests` (a request already answered is answered again byte for byte, by check 8);
purge after a confirmation that names the count the operator saw. Every action is journaled.
Bodies are never shown: they carry personal identifiers."""

from __future__ import annotations

from aiohttp import web

from gateway.dashboard.page import esc, lang_of, ltr, respond, table
from gateway.dashboard.session import checked_post, journal, logged_in
from gateway.runtime.worker import Gateway, gateway_of
from gateway.texts.dashboard import t
from gateway.transports.dead_letters import DeadLetterError, DeadLetters, PurgeMismatch

SHOWN = 100


class _One:
    """The process's one DeadLetters, made on first use (the broker connection comes after the app)."""

    def __init__(self) -> None:
        self.value: DeadLetters | None = None


DEAD_KEY = web.AppKey("dead_letters", _One)


def setup(app: web.Application) -> None:
    app[DEAD_KEY] = _One()


def _dead_letters(request: web.Request) -> DeadLetters:
    """One per process, so that its operations on the queue never interleave."""
    one = request.app[DEAD_KEY]
    if one.value is None:
        gateway: Gateway = gateway_of(request)
        if gateway.connection is None:
            raise web.HTTPServiceUnavailable(text="the broker is not connected\n")
        s = gateway.config.settings
        one.value = DeadLetters(gateway.connection, s.dead_queue, s.request_queue, s.queue_arguments)
    return one.value


_DONE = ("replayed", "purged", "purge_mismatch")


def _done(request: web.Request, lang: str) -> str:
    """The notice of the action just done (Post/Redirect/Get): a known key and a count only."""
    done, n = request.query.get("done", ""), request.query.get("n", "0")
    return t(lang, done, n=int(n) if n.isdigit() else 0) if done in _DONE else ""


async def page(request: web.Request, notice: str = "", status: int = 200) -> web.Response:
    operator, csrf = await logged_in(request)
    lang = lang_of(request)
    notice = notice or _done(request, lang)
    queue = gateway_of(request).config.settings.dead_queue
    try:
        letters, count = await _dead_letters(request).browse(SHOWN)
    except DeadLetterError as exc:
        return respond(
            request,
            t(lang, "dead_letters"),
            f'<h1>{t(lang, "dead_letters")}</h1><p class="bad">{esc(exc)}</p>',
            status=503,
            operator=operator,
            csrf=csrf,
        )
    hidden = f'<input type="hidden" name="csrf" value="{csrf}">'
    parts = [f"<h1>{t(lang, 'dead_letters')} — <code>{esc(queue)}</code></h1>"]
    if notice:
        parts.append(f'<p class="notice" role="status" id="notice">{esc(notice)}</p>')
    if not letters:
        parts.append(f'<p id="dead-count" data-count="0">{t(lang, "dead_empty")}</p>')
        return respond(request, t(lang, "dead_letters"), "".join(parts), status=status, operator=operator, csrf=csrf)
    shown = t(lang, "dead_count", shown=len(letters), total=count)
    parts.append(f'<p id="dead-count" data-count="{count}">{shown}</p>')
    rows = [
        [
            esc(d.message_id or "—"),
            esc(d.reason or "—"),
            esc(d.reply_to or "—"),
            ltr(f"{d.dead_at:%Y-%m-%d %H:%M:%S} UTC" if d.dead_at else "—"),
            str(d.size),
            f"<code>{esc(d.fingerprint)}</code>",
            f'<form method="post" action="/dead-letters/replay" class="inline">{hidden}'
            f'<input type="hidden" name="key" value="{esc(d.key)}">'
            f'<input type="hidden" name="message_id" value="{esc(d.message_id or "")}">'
            f'<button type="submit" data-message-id="{esc(d.message_id or "")}">{t(lang, "replay")}</button></form>',
        ]
        for d in letters
    ]
    parts.append(
        table(
            [
                t(lang, "message_id"),
                t(lang, "reason"),
                t(lang, "reply_to"),
                t(lang, "dead_at"),
                t(lang, "size"),
                t(lang, "fingerprint"),
                "",
            ],
            rows,
            numeric={4},
        )
    )
    parts.append(f"""<p><form method="post" action="/dead-letters/replay" class="inline">{hidden}
<input type="hidden" name="key" value=""><button type="submit" id="replay-all">{t(lang, "replay_all")}</button></form>
<details><summary>{t(lang, "purge")}</summary><form method="post" action="/dead-letters/purge">{hidden}
<input type="hidden" name="expected" value="{count}"><p>{esc(t(lang, "purge_confirm", n=count, queue=queue))}</p>
<button type="submit" id="purge-confirm">{t(lang, "confirm")}</button></form></details></p>""")
    return respond(request, t(lang, "dead_letters"), "".join(parts), status=status, operator=operator, csrf=csrf)


async def replay(request: web.Request) -> web.Response:
    operator, form = await checked_post(request)
    gateway = gateway_of(request)
    key = str(form.get("key", "")) or None
    try:
        replayed = await _dead_letters(request).replay(key)
    except DeadLetterError as exc:
        await journal(gateway, operator, "dead_letter_replay", f"error: {exc}", str(form.get("message_id", "")) or None)
        return await page(request, str(exc), status=503)
    await journal(
        gateway,
        operator,
        "dead_letter_replay_all" if key is None else "dead_letter_replay",
        f"replayed {replayed}",
        str(form.get("message_id", "")) or None,
    )
    raise web.HTTPSeeOther(f"/dead-letters?done=replayed&n={replayed}")


async def purge(request: web.Request) -> web.Response:
    operator, form = await checked_post(request)
    gateway = gateway_of(request)
    try:
        expected = int(str(form.get("expected", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="expected: the message count the operator confirmed\n") from None
    try:
        purged = await _dead_letters(request).purge(expected)
    except PurgeMismatch:
        await journal(gateway, operator, "dead_letter_purge", f"refused: expected {expected}")
        raise web.HTTPSeeOther("/dead-letters?done=purge_mismatch") from None
    except DeadLetterError as exc:
        await journal(gateway, operator, "dead_letter_purge", f"error: {exc}")
        return await page(request, str(exc), status=503)
    await journal(gateway, operator, "dead_letter_purge", f"purged {purged}")
    raise web.HTTPSeeOther(f"/dead-letters?done=purged&n={purged}")
