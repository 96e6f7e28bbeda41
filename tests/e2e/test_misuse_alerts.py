"""Misuse alerts end to end over the bus: an agency's agents at work, one of whom starts looking
up many unrelated citizens; the gateway that watches the journal raises one alert, naming that
agent and no other, within minutes; an operator acknowledges it on the dashboard."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from pathlib import Path

import pytest

from gateway.config import Config
from gateway.insights.misuse import LOCAL
from gateway.insights.sla import QueueSamples
from gateway.records import AlertRecord, AuditEntry, Journey
from gateway.runtime.worker import Gateway
from gateway.signing.pki import Issued
from gateway.store import Store
from gateway.store.forecast_rows import ForecastRow
from gateway.store.sqlite import SQLiteStore
from gateway_sandbox.civil_registry.records import Registry
from tests.e2e.exchange import BusClient, signed_xml
from tests.e2e.operator_kit import csrf_of, logged_in
from tests.e2e.test_provider_faults import side_gateway

pytestmark = pytest.mark.usefixtures("civil_registry")
AGENTS = 30


async def past_days(store: Store, agency: str, agents: list[str]) -> None:
    """The journal as it would hold 25 working days of the agency's ordinary work: each agent looks up
    six people a day, over office hours."""
    rng = random.Random(4)
    day = dt.datetime.now(LOCAL).date() - dt.timedelta(days=40)
    written = 0
    entries = []
    while written < 25:
        day += dt.timedelta(days=1)
        if day.weekday() in (4, 5):
            continue
        written += 1
        for agent in agents:
            for _ in range(6):
                at = dt.datetime.combine(day, dt.time(8), LOCAL) + dt.timedelta(minutes=rng.uniform(0, 480))
                entries.append(
                    AuditEntry(
                        at=at.astimezone(dt.UTC),
                        request_id=str(uuid.uuid4()),
                        transport="amqp",
                        requester="dz.cnas",
                        agency=agency,
                        agent=agent,
                        document_type="birth-certificate",
                        purpose="family-allowance",
                        provider="dz.interieur.etat-civil",
                        status="issued",
                        request_sha256="a" * 64,
                        response_sha256="b" * 64,
                        subject_ref=f"{rng.randrange(10**12):020x}",
                    )
                )
    entries.sort(key=lambda e: e.at)
    for start in range(0, len(entries), 500):
        await asyncio.gather(*(store.record(e, None) for e in entries[start : start + 500]))


async def test_an_agent_looking_up_many_citizens_is_alerted_within_minutes_and_no_one_else(
    home: Path, test_config: Config, cnas: Issued, gateway: Gateway, http: str
) -> None:
    """Thirty agents at ordinary work and one obtaining 30 citizens' birth certificates in a minute, over the
    bus, to a gateway with a journal of its own: one bulk_lookups alert, for that agent only, kept within 5
    minutes (after 22:00 local, the agent's night work may be alerted too); acknowledged on the dashboard."""
    agency = f"CNAS-{random.Random().randint(1, 58):02d}-{uuid.uuid4().int % 900 + 100}"
    agents = [f"T{uuid.uuid4().hex[:6]}" for _ in range(AGENTS)]
    config = test_config.with_settings(insights_seconds=1, store_path=f"misuse-{uuid.uuid4().hex[:8]}.sqlite3")
    journal = SQLiteStore(home / config.settings.store_path)
    await journal.open()
    await past_days(journal, agency, agents)
    with Registry(home / "sandbox" / "civil-registry.sqlite3") as registry:
        people = registry.examples("birth-certificate", 60)["found"]
    assert len(people) >= 45
    async with side_gateway(home, config) as client:
        await ask_all(client, cnas, agency, [(agent, people[i % 15]) for i, agent in enumerate(agents)])
        culprit = agents[7]
        started, hours = time.monotonic(), {dt.datetime.now(LOCAL).hour}
        await ask_all(client, cnas, agency, [(culprit, person) for person in people[15:45]])
        found: list[AlertRecord] = []
        while time.monotonic() - started < 300 and not any(a.kind == "bulk_lookups" for a in found):
            await asyncio.sleep(0.5)
            found = [a for a in await journal.alerts("open") if a.agency == agency]
        took = time.monotonic() - started
        hours.add(dt.datetime.now(LOCAL).hour)
    await journal.close()
    alerts = [a for a in found if a.kind == "bulk_lookups"]
    assert [(a.agent, a.kind) for a in alerts] == [(culprit, "bulk_lookups")], found
    at_night = any(h >= 22 or h < 6 for h in hours)  # then the culprit's lookups are night work too
    others = {(a.agent, a.kind) for a in found if a.kind != "bulk_lookups"}
    assert others <= ({(culprit, "off_hours")} if at_night else set()), found
    assert took < 300
    assert "distinct citizens in 30 min" in alerts[0].reason
    await gateway.store.add_alert(alerts[0])  # the dashboard below is the session gateway's, on its own store
    session = await logged_in(http, home, "karim")
    async with session:
        async with session.get(http + "/alerts") as response:
            page = await response.text()
        assert response.status == 200 and culprit in page and alerts[0].reason in page
        form = {"csrf": csrf_of(page), "alert_id": alerts[0].alert_id, "decision": "acknowledged", "note": "vu"}
        async with session.post(http + "/alerts/settle", data=form, allow_redirects=False) as response:
            assert response.status == 303
        async with session.post(http + "/alerts/settle", data=form, allow_redirects=False) as response:
            assert response.status == 409
    [settled] = [a for a in await gateway.store.alerts("acknowledged") if a.alert_id == alerts[0].alert_id]
    assert (settled.settled_by, settled.note) == ("karim", "vu")
    journaled = await gateway.store.audit_entries(alerts[0].alert_id)
    assert [(e.requester, e.status) for e in journaled] == [("karim", "alert_acknowledged")]


async def ask_all(client: BusClient, cnas: Issued, agency: str, asks: list[tuple[str, str]]) -> None:
    """Each (agent, NIN): a birth certificate for a family allowance, all issued."""
    replies = []
    for agent, nin in asks:
        rid, body = signed_xml(cnas, subject={"nin": nin}, agency=agency, agent=agent)
        replies.append(client.call(body, message_id=rid, timeout=30))
    assert {r.status for r in await asyncio.gather(*replies)} == {"issued"}


async def test_a_provider_missing_its_deadlines_is_a_breach_foreseen_on_metrics_and_the_alerts_page(
    home: Path, gateway: Gateway, http: str
) -> None:
    """Five minutes of answers from the commercial register mostly past their deadline: the gateway's look
    ahead foresees a breach now for that provider, /metrics shows it, and so does the alerts page."""
    now = dt.datetime.now(dt.UTC)
    for i in range(60):
        entry = AuditEntry(
            at=now - dt.timedelta(seconds=5 * i),
            request_id=str(uuid.uuid4()),
            transport="amqp",
            requester="dz.cnas",
            agency="CNAS-57-901",
            document_type="commercial-register-extract",
            purpose="employer-registration",
            provider="dz.commerce.cnrc",
            status="issued",
            request_sha256="a" * 64,
            response_sha256="b" * 64,
            subject_ref="c" * 20,
        )
        late = i % 4 != 0  # three in four past the deadline
        await gateway.store.record(entry, None, Journey((("route", 12_000.0),), 12_000.0 if late else 900.0, not late))
    outlooks = await gateway.look_ahead()
    assert [(o.subject, o.kind, o.eta_seconds) for o in outlooks if o.subject == "dz.commerce.cnrc"] == [
        ("dz.commerce.cnrc", "provider", 0.0)
    ]
    metrics = gateway.metrics.render().decode()
    assert 'gateway_sla_breach_eta_seconds{kind="provider",subject="dz.commerce.cnrc"} 0.0' in metrics
    session = await logged_in(http, home, "leila")
    async with session, session.get(http + "/alerts") as response:
        page = await response.text()
    assert "Délais menacés" in page and "dz.commerce.cnrc" in page


async def test_the_alerts_page_shows_the_day_s_forecast_and_how_last_week_s_fared(
    home: Path, gateway: Gateway, http: str
) -> None:
    """With today's forecast and the one of 7 days ago in the store, the page gives the next days' expected
    requests, the busiest wilayas by name, and last week's forecast against what happened."""
    today = dt.datetime.now(LOCAL).date()
    rows = []
    for made_on in (today, today - dt.timedelta(days=7)):
        for i in range(14):
            day = (made_on + dt.timedelta(days=i)).isoformat()
            rows.append(
                ForecastRow(made_on.isoformat(), "47", "birth-certificate", day, 120, 100, 140, 90, 150, 110, "ets")
            )
    await gateway.store.put_forecasts(rows)
    session = await logged_in(http, home, "leila")
    async with session, session.get(http + "/alerts") as response:
        page = await response.text()
    assert response.status == 200 and "Charge prévue" in page
    assert "47 — Ghardaïa" in page and ">120<" in page
    assert f"La prévision du {today - dt.timedelta(days=7)}" in page


class FrozenSamples(QueueSamples):
    """Queue depths as a test sets them, whatever the worker samples meanwhile."""

    def __init__(self, depths: dict[str, list[tuple[float, int]]]) -> None:
        super().__init__()
        self._depths = depths

    def add(self, queue: str, at: float, depth: int) -> None: ...

    def of(self, queue: str) -> list[tuple[float, int]]:
        return self._depths.get(queue, [])


async def test_a_partner_queue_that_fills_faster_than_its_partner_answers_is_foreseen(
    gateway: Gateway, test_config: Config
) -> None:
    """The civil registry's queue holding 2,000 queries, grown over the last minute: a breach now for that
    queue, named by the queue, apart from the request queue."""
    queue = str(test_config.providers["dz.interieur.etat-civil"].options["queue"])
    now = time.monotonic()
    sampled = gateway.queue_samples
    gateway.queue_samples = FrozenSamples({queue: [(now - 60 + 5 * i, 200 * (i - 2)) for i in range(2, 13)]})
    try:
        outlooks = await gateway.look_ahead()
    finally:
        gateway.queue_samples = sampled
    [foreseen] = [o for o in outlooks if o.kind == "queue"]
    assert foreseen.subject == queue and foreseen.eta_seconds == 0


async def test_settling_an_alert_needs_a_known_decision_an_alert_id_and_the_csrf_token(
    home: Path, gateway: Gateway, http: str
) -> None:
    """A decision other than acknowledged or dismissed, or no alert id, is 400; without the CSRF token, 403;
    the alert stays open."""
    alert = AlertRecord(
        alert_id=uuid.uuid4().hex[:16],
        agent="T-hostile",
        agency="CNAS-57-902",
        kind="probing",
        day=dt.date.today().isoformat(),
        raised_at=dt.datetime.now(dt.UTC),
        since=dt.datetime.now(dt.UTC),
        reason="9 identifiers that found nobody in 30 min, the agency's agents rarely do",
        evidence={},
        explorer="/requests?agent=T-hostile",
    )
    await gateway.store.add_alert(alert)
    session = await logged_in(http, home, "leila")
    async with session:
        async with session.get(http + "/alerts") as response:
            csrf = csrf_of(await response.text())
        for form, status in (
            ({"csrf": csrf, "alert_id": alert.alert_id, "decision": "deleted"}, 400),
            ({"csrf": csrf, "decision": "dismissed"}, 400),
            ({"alert_id": alert.alert_id, "decision": "dismissed"}, 403),
        ):
            async with session.post(http + "/alerts/settle", data=form, allow_redirects=False) as response:
                assert response.status == status, form
    assert alert.alert_id in [a.alert_id for a in await gateway.store.alerts("open")]
