"""The dashboard at `/`: KPIs of the last hour or day, from the counts every worker writes,
per provider, document type, wilaya and agency; trends as charts; queues; circuit breakers.
It refreshes itself every 15 seconds."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

from aiohttp import web

from gateway.dashboard import charts
from gateway.dashboard.page import esc, lang_of, ltr, respond, table
from gateway.dashboard.session import logged_in
from gateway.kpi import Summary, summarise, total
from gateway.protocol import STATUSES
from gateway.runtime.worker import Gateway, gateway_of
from gateway.texts.dashboard import t
from gateway.texts.wilayas import wilaya_name

WINDOWS = {"1h": dt.timedelta(hours=1), "24h": dt.timedelta(hours=24)}
AGENCY_ROWS = 50
REFRESH_SECONDS = 15


def _ms(value: float | None) -> str:
    return "—" if value is None else "∞" if value == float("inf") else f"{value:g}"


def _percent(summary: Summary) -> str:
    value = summary.sla_percent
    if value is None:
        return "—"
    return f'<span class="{"bad" if value < 95 else "ok"}">{ltr(f"{value:.1f} %")}</span>'


def _kpi_table(
    lang: str, first: str, summaries: dict[str, Summary], names: dict[str, str] | None = None, limit: int | None = None
) -> str:
    if not summaries:
        return f"<p>{t(lang, 'no_data')}</p>"
    ordered = sorted(summaries.values(), key=lambda s: -s.volume)[:limit] if limit else list(summaries.values())
    headers = [
        first,
        t(lang, "volume"),
        *(t(lang, s) for s in STATUSES),
        "p50",
        "p95",
        "p99",
        t(lang, "sla"),
        t(lang, "main_refusal"),
        t(lang, "main_cause"),
    ]
    rows = []
    for s in [*ordered, total(summaries.values(), t(lang, "total"))]:
        rows.append(
            [
                esc((names or {}).get(s.key, s.key)),
                str(s.volume),
                *(str(s.statuses[x]) for x in STATUSES),
                _ms(s.percentile(0.5)),
                _ms(s.percentile(0.95)),
                _ms(s.percentile(0.99)),
                _percent(s),
                _first(s.refusal_causes),
                _first(s.failure_causes),
            ]
        )
    return table(headers, rows)


def _first(causes: Counter[str]) -> str:
    """The most frequent cause and its count, or a dash."""
    ranked = causes.most_common(1)
    return esc(f"{ranked[0][0]} ({ranked[0][1]})") if ranked else "—"


def _slots(now: dt.datetime, count: int, step: dt.timedelta, fmt: str) -> list[str]:
    return [(now - step * (count - 1 - i)).strftime(fmt) for i in range(count)]


async def _gather(gateway: Gateway, since: dt.datetime, now: dt.datetime) -> dict[str, dict[str, Summary]]:
    store, until = gateway.store, now + dt.timedelta(minutes=1)
    names = ("provider", "document_type", "wilaya", "agency")
    results = await asyncio.gather(
        *(store.kpi_counts(since, until, d) for d in names),
        store.kpi_counts(now - dt.timedelta(minutes=59), until, "minute"),
        store.kpi_counts(now - dt.timedelta(hours=23), until, "hour"),
    )
    return {name: summarise(rows) for name, rows in zip([*names, "minute", "hour"], results, strict=True)}


def _overview(lang: str, everything: Summary) -> str:
    cards = [(t(lang, "volume"), str(everything.volume))]
    cards += [(t(lang, s), str(everything.statuses[s])) for s in STATUSES]
    cards += [(q, _ms(everything.percentile(v))) for q, v in (("p50 ms", 0.5), ("p95 ms", 0.95), ("p99 ms", 0.99))]
    cards.append((t(lang, "sla"), _percent(everything)))
    items = "".join(f'<div class="card">{esc(label)}<b>{value}</b></div>' for label, value in cards)
    return f'<div class="cards" id="overview">{items}</div>'


async def page(request: web.Request) -> web.Response:
    operator, csrf = await logged_in(request)
    gateway, lang = gateway_of(request), lang_of(request)
    window = request.query.get("window", "1h")
    window = window if window in WINDOWS else "1h"
    now = dt.datetime.now(dt.UTC)
    data = await _gather(gateway, now - WINDOWS[window], now)
    ready = await gateway.readiness()
    labels: dict[str, str] = {s: t(lang, s) for s in STATUSES}
    wilayas = {code: wilaya_name(code, lang) for code in data["wilaya"]}
    queues = await gateway.queue_depths()
    breakers = gateway.pipeline.router.breaker_states() if gateway.pipeline else {}
    checks = ", ".join(
        f'{esc(k)} : <span class="{"ok" if v else "bad"}">{"ok" if v else "KO"}</span>' for k, v in ready.items()
    )
    windows = " · ".join(
        f"<strong>{t(lang, key)}</strong>" if w == window else f'<a href="/?window={w}">{t(lang, key)}</a>'
        for w, key in (("1h", "last_hour"), ("24h", "last_day"))
    )
    hour = charts.trend(
        _slots(now, 60, dt.timedelta(minutes=1), "%Y-%m-%dT%H:%M"),
        data["minute"],
        labels,
        tick_every=10,
        tick_label=slice(11, 16),
        title=t(lang, "trend_hour"),
    )
    day = charts.trend(
        _slots(now, 24, dt.timedelta(hours=1), "%Y-%m-%dT%H"),
        data["hour"],
        labels,
        tick_every=3,
        tick_label=slice(11, 13),
        title=t(lang, "trend_day"),
    )
    queue_rows = [
        [
            esc(name),
            t(lang, "absent")
            if count is None
            else (
                f'<span class="bad">{count}</span>'
                if count and name == gateway.config.settings.dead_queue
                else str(count)
            ),
            str(consumers or 0),
        ]
        for name, count, consumers in queues
    ]
    breaker_rows = [
        [esc(p), f'<span class="{"ok" if s == "closed" else "bad"}">{esc(t(lang, s))}</span>']
        for p, s in breakers.items()
    ]
    body = f"""<h1>{t(lang, "dashboard")}</h1>
<p>{t(lang, "readiness")} : {checks}</p>
<p>{t(lang, "window")} : {windows} <small>({ltr(f"{now:%Y-%m-%d %H:%M} UTC")})</small></p>
{_overview(lang, total(data["provider"].values()))}
<div class="grid"><section><h2>{t(lang, "trend_hour")}</h2>{hour}</section>
<section><h2>{t(lang, "trend_day")}</h2>{day}</section></div>{charts.legend(labels, t(lang, "sla"))}
<div class="grid"><section><h2>{t(lang, "queues")}</h2>
{table([t(lang, "queue"), t(lang, "messages"), t(lang, "consumers")], queue_rows)}</section>
<section><h2>{t(lang, "breakers")}</h2>{table([t(lang, "provider"), t(lang, "state")], breaker_rows)}</section></div>
<h2>{t(lang, "by_provider")}</h2>{_kpi_table(lang, t(lang, "provider"), data["provider"])}
<h2>{t(lang, "by_document_type")}</h2>{_kpi_table(lang, t(lang, "document_type"), data["document_type"])}
<h2>{t(lang, "by_wilaya")}</h2>{_kpi_table(lang, "wilaya", data["wilaya"], wilayas)}
<h2>{t(lang, "by_agency")}</h2>{_kpi_table(lang, t(lang, "agency"), data["agency"], limit=AGENCY_ROWS)}
<p><small>{t(lang, "latency")}</small></p>"""
    return respond(request, t(lang, "dashboard"), body, refresh=REFRESH_SECONDS, operator=operator, csrf=csrf)
