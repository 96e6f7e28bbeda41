"""Misuse alerts (docs/foresight.md): the open ones first, each with its reason, its evidence and
the explorer's link to the lookups behind it; an operator acknowledges an alert (the misuse
is real, followed up) or dismisses it (the behaviour was legitimate), with a note. Each
decision is journaled."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from gateway.dashboard.page import esc, lang_of, ltr, respond, table
from gateway.dashboard.session import checked_post, journal, logged_in
from gateway.insights.forecast import daily_series, fared
from gateway.insights.misuse import LOCAL
from gateway.insights.sla import Outlook
from gateway.records import AlertRecord
from gateway.runtime.worker import gateway_of
from gateway.store import Store
from gateway.texts.dashboard import t
from gateway.texts.wilayas import WILAYAS

DECISIONS = {"acknowledged": "alert_acknowledged", "dismissed": "alert_dismissed"}
MAX_NOTE = 500


def _evidence(alert: AlertRecord) -> str:
    return "; ".join(f"{esc(k)}: {esc(v)}" for k, v in sorted(alert.evidence.items()))


def _open(lang: str, alert: AlertRecord, csrf: str) -> str:
    hidden = f'<input type="hidden" name="csrf" value="{esc(csrf)}"><input type="hidden" name="alert_id" ' \
        f'value="{esc(alert.alert_id)}">'  # fmt: skip
    return f"""<section class="alert" id="alert-{esc(alert.alert_id)}">
<h3>{esc(t(lang, "misuse_" + alert.kind))} — <code>{esc(alert.agent)}</code> ({esc(alert.agency)})</h3>
<p><strong>{esc(alert.reason)}</strong></p>
<p>{t(lang, "raised_at")} {ltr(f"{alert.raised_at.astimezone(LOCAL):%Y-%m-%d %H:%M}")} ·
<a href="{esc(alert.explorer)}">{t(lang, "see_requests")}</a></p>
<p class="evidence">{_evidence(alert)}</p>
<form method="post" action="/alerts/settle">{hidden}
<label>{t(lang, "note")} <input name="note" size="40" maxlength="{MAX_NOTE}"></label>
<button type="submit" name="decision" value="acknowledged">{t(lang, "acknowledge")}</button>
<button type="submit" name="decision" value="dismissed">{t(lang, "dismiss")}</button></form></section>"""


def _outlooks(lang: str, outlooks: list[Outlook]) -> str:
    """The SLA breaches foreseen at this worker's last look (every `insights_seconds`)."""
    heading = f"<h2>{t(lang, 'sla_outlook')}</h2>"
    if not outlooks:
        return heading + f'<p class="notice">{t(lang, "no_outlook")}</p>'
    rows = [
        [
            f"<code>{esc(o.subject)}</code>",
            esc(t(lang, o.kind)),
            esc(t(lang, "now")) if o.eta_seconds == 0 else ltr(f"{o.eta_seconds / 60:.0f} min"),
            esc(o.reason),
        ]
        for o in sorted(outlooks, key=lambda o: o.eta_seconds)
    ]
    return heading + table(
        [t(lang, "subject"), t(lang, "kind"), t(lang, "breach_in"), t(lang, "reason")], rows, numeric=()
    )


async def _load(lang: str, store: Store) -> str:
    """The latest daily forecast: the next 7 days in all and the 10 busiest wilayas, and how the
    forecast made 7 days before fared against what happened."""
    heading = f"<h2>{t(lang, 'load_forecast')}</h2>"
    rows = await store.forecasts()
    if not rows:
        return heading + f'<p class="notice">{t(lang, "no_forecast")}</p>'
    days = sorted({r.day for r in rows})[:7]
    by_day: dict[str, list[float]] = {d: [0.0, 0.0, 0.0] for d in days}
    by_wilaya: dict[str, float] = {}
    for r in rows:
        if r.day in by_day:
            by_day[r.day][0] += r.mean
            by_day[r.day][1] += r.low80
            by_day[r.day][2] += r.high80
            by_wilaya[r.wilaya] = by_wilaya.get(r.wilaya, 0.0) + r.mean
    national = table(
        [t(lang, "day"), t(lang, "expected"), t(lang, "interval80")],
        [[ltr(d), f"{v[0]:.0f}", ltr(f"{v[1]:.0f} – {v[2]:.0f}")] for d, v in by_day.items()],
    )
    busiest = sorted(by_wilaya.items(), key=lambda kv: -kv[1])[:10]
    wilayas = table(
        [t(lang, "wilaya"), t(lang, "expected_week")],
        [[esc(f"{w} — {WILAYAS[w][1 if lang == 'ar' else 0]}" if w in WILAYAS else w), f"{n:.0f}"] for w, n in busiest],
    )
    made_on = dt.date.fromisoformat(rows[0].made_on)
    return (
        heading
        + f"<p>{t(lang, 'forecast_made')} {ltr(made_on.isoformat())}</p>"
        + national
        + wilayas
        + await _fared(lang, store, made_on - dt.timedelta(days=7))
    )


async def _fared(lang: str, store: Store, made_on: dt.date) -> str:
    """The forecast made on `made_on`, over its first 7 days, against what happened."""
    rows = [
        r for r in await store.forecasts(made_on.isoformat()) if r.day < (made_on + dt.timedelta(days=7)).isoformat()
    ]
    if not rows:
        return ""
    start = dt.datetime.combine(made_on, dt.time(), LOCAL)
    actual = daily_series(
        await store.hourly_load(start, start + dt.timedelta(days=7)), made_on + dt.timedelta(days=7), 7
    )
    figures = fared(
        (
            actual.get((r.wilaya, r.document_type), [0.0] * 7)[(dt.date.fromisoformat(r.day) - made_on).days],
            r.mean,
            r.naive,
            r.low80,
            r.high80,
            r.low95,
            r.high95,
        )
        for r in rows
    )
    ratio = "—" if figures["relative_mae"] is None else f"{figures['relative_mae']:.2f}"
    held = f"{figures['coverage_80'] or 0:.0%}"
    return f"<p>{t(lang, 'forecast_fared', made_on=made_on.isoformat(), ratio=ratio, held=held)}</p>"


async def page(request: web.Request) -> web.Response:
    operator, csrf = await logged_in(request)
    gateway, lang = gateway_of(request), lang_of(request)
    alerts = await gateway.store.alerts(limit=200)
    opened = [a for a in alerts if a.state == "open"]
    settled = [a for a in alerts if a.state != "open"]
    parts = [f"<h1>{t(lang, 'alerts')}</h1>", _outlooks(lang, gateway.outlooks), await _load(lang, gateway.store)]
    parts.append(f"<h2>{t(lang, 'misuse')}</h2><p>{t(lang, 'alerts_intro')}</p>")
    parts += [_open(lang, a, csrf) for a in opened] or [f'<p class="notice">{t(lang, "no_alerts")}</p>']
    if settled:
        parts.append(f"<h2>{t(lang, 'settled_alerts')}</h2>")
        parts.append(
            table(
                [
                    t(lang, "raised_at"),
                    "agent",
                    t(lang, "kind"),
                    t(lang, "reason"),
                    t(lang, "decision"),
                    t(lang, "note"),
                ],
                [
                    [
                        ltr(f"{a.raised_at.astimezone(LOCAL):%Y-%m-%d %H:%M}"),
                        f"<code>{esc(a.agent)}</code>",
                        esc(t(lang, "misuse_" + a.kind)),
                        esc(a.reason),
                        esc(f"{t(lang, a.state)} ({a.settled_by})"),
                        esc(a.note or "—"),
                    ]
                    for a in settled
                ],
                numeric=(),
            )
        )
    return respond(request, t(lang, "alerts"), "".join(parts), operator=operator, csrf=csrf)


async def settle(request: web.Request) -> web.Response:
    """Acknowledges or dismisses an open alert; the decision and its note are journaled."""
    operator, form = await checked_post(request)
    gateway = gateway_of(request)
    decision = str(form.get("decision", ""))
    alert_id = str(form.get("alert_id", ""))
    note = str(form.get("note", "")).strip()[:MAX_NOTE] or None
    if decision not in DECISIONS or not alert_id:
        raise web.HTTPBadRequest(text="decision: acknowledged or dismissed, with the alert_id\n")
    settled = await gateway.store.settle_alert(alert_id, decision, operator, note)
    if settled is None:
        raise web.HTTPConflict(text="this alert is not open: another operator settled it, or it does not exist\n")
    await journal(gateway, operator, DECISIONS[decision], f"{settled.kind} {settled.agent}: {note or '-'}", alert_id)
    raise web.HTTPSeeOther(f"/alerts?done={decision}&at={dt.datetime.now(dt.UTC):%H%M%S}")
