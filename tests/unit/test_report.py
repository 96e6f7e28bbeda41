"""The periodic report (`gateway report`): its tables from a real SQLite store, its CSV and
HTML files, its periods and its command."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import config as config_module
from gateway.audit import report
from gateway.cli import main, report_foresight
from gateway.insights import evaluation
from gateway.records import AlertRecord, AuditEntry, Journey
from gateway.store.sqlite import SQLiteStore
from tests.factories import audit_entry

OCTOBER = dt.datetime(2026, 10, 15, 10, 0, 30, tzinfo=dt.UTC)
CIVIL, TAX = "dz.interieur.etat-civil", "dz.finances.dgi"
HOSTILE = "CNAS-09-<A&B>"  # a code that must be escaped in HTML
HEADER = [
    "key",
    "name",
    "volume",
    "issued",
    "not_found",
    "refused",
    "failed",
    "sla_bound",
    "within_sla",
    "sla_percent",
    "p95_ms",
    "failure_causes",
]


def entry(agency: str, provider: str, status: str, problem: str | None, at: dt.datetime) -> AuditEntry:
    return audit_entry(at=at, agency=agency, provider=provider, status=status, problem=problem)


#: (agency, provider, status, problem, total ms, within SLA, when)
ANSWERS = [
    ("CNAS-16-001", CIVIL, "issued", None, 8.0, True, OCTOBER),
    ("CNAS-16-001", CIVIL, "issued", None, 8.0, True, OCTOBER),
    ("CNAS-16-001", CIVIL, "not-found", None, 30.0, True, OCTOBER),
    ("CNAS-16-002", CIVIL, "failed", "provider_timeout", 5200.0, False, OCTOBER),
    ("CNAS-31-001", TAX, "refused", "bad_signature", 3.0, None, OCTOBER),
    ("CNAS-31-001", TAX, "issued", None, 120.0, True, OCTOBER),
    ("CNAS-31-001", TAX, "failed", "provider_timeout", 9000.0, False, OCTOBER),
    (HOSTILE, CIVIL, "issued", None, 8.0, True, OCTOBER),
    # outside October: the first minute of November, and the last second of September
    ("CNAS-16-001", CIVIL, "failed", "provider_down", 8.0, False, dt.datetime(2026, 11, 1, 0, 0, 30, tzinfo=dt.UTC)),
    ("CNAS-16-001", CIVIL, "issued", None, 8.0, True, dt.datetime(2026, 9, 30, 23, 59, 59, tzinfo=dt.UTC)),
]
TOTAL = ["TOTAL", "TOTAL", "8", "4", "1", "1", "2", "7", "5", "71.4", "10000", "provider_timeout:2;bad_signature:1"]


async def populate(path: Path) -> None:
    store = SQLiteStore(path)
    await store.open()
    try:
        for agency, provider, status, problem, ms, within, at in ANSWERS:
            journey = Journey((("intake", 0.1), ("route", ms - 0.1)), ms, within)
            await store.record(entry(agency, provider, status, problem, at), None, journey)
    finally:
        await store.close()


async def october_report(tmp_path: Path) -> tuple[report.Report, list[Path]]:
    await populate(tmp_path / "store.sqlite3")
    store = SQLiteStore(tmp_path / "store.sqlite3")
    await store.open()
    try:
        built = await report.build(store, report.month("2026-10"), now=dt.datetime(2026, 11, 2, 8, tzinfo=dt.UTC))
    finally:
        await store.close()
    return built, report.write(built, tmp_path / "out")


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


async def test_agency_csv_has_the_split_sla_p95_and_causes_of_each_agency(tmp_path: Path) -> None:
    """Each agency's row adds up its October answers only, then a TOTAL row over all of them."""
    _, written = await october_report(tmp_path)
    assert read_csv(tmp_path / "out" / "agency.csv") == [
        HEADER,
        [HOSTILE, HOSTILE, "1", "1", "0", "0", "0", "1", "1", "100.0", "8", ""],
        ["CNAS-16-001", "CNAS-16-001", "3", "2", "1", "0", "0", "3", "3", "100.0", "30", ""],
        ["CNAS-16-002", "CNAS-16-002", "1", "0", "0", "0", "1", "1", "0", "0.0", "6000", "provider_timeout:1"],
        [
            "CNAS-31-001",
            "CNAS-31-001",
            "3",
            "1",
            "0",
            "1",
            "1",
            "2",
            "1",
            "50.0",
            "10000",
            "bad_signature:1;provider_timeout:1",
        ],
        TOTAL,
    ]
    assert [p.name for p in written] == [
        "agency.csv",
        "wilaya.csv",
        "provider.csv",
        "agency.html",
        "wilaya.html",
        "provider.html",
        "index.html",
    ]


async def test_wilaya_and_provider_csv_group_the_same_answers_their_own_way(tmp_path: Path) -> None:
    """The wilaya table names each wilaya; the provider table groups by administration; totals agree."""
    await october_report(tmp_path)
    assert read_csv(tmp_path / "out" / "wilaya.csv")[1:] == [
        ["09", "Blida", "1", "1", "0", "0", "0", "1", "1", "100.0", "8", ""],
        ["16", "Alger", "4", "2", "1", "0", "1", "4", "3", "75.0", "6000", "provider_timeout:1"],
        ["31", "Oran", "3", "1", "0", "1", "1", "2", "1", "50.0", "10000", "bad_signature:1;provider_timeout:1"],
        TOTAL,
    ]
    assert read_csv(tmp_path / "out" / "provider.csv")[1:] == [
        [TAX, TAX, "3", "1", "0", "1", "1", "2", "1", "50.0", "10000", "bad_signature:1;provider_timeout:1"],
        [CIVIL, CIVIL, "5", "3", "1", "0", "1", "5", "4", "80.0", "6000", "provider_timeout:1"],
        TOTAL,
    ]


async def test_answers_outside_the_period_are_left_out(tmp_path: Path) -> None:
    """November's first minute and September's last second count in their own months, not in October."""
    built, _ = await october_report(tmp_path)
    assert "provider_down" not in built.total().problems
    store = SQLiteStore(tmp_path / "store.sqlite3")
    await store.open()
    try:
        november = await report.build(store, report.month("2026-11"))
        september = await report.build(store, report.month("2026-09"))
    finally:
        await store.close()
    assert (november.total().volume, november.total().problems) == (1, {"provider_down": 1})
    assert (september.total().volume, report.percent(september.total())) == (1, "100.0")


async def test_html_is_self_contained_escaped_bilingual_and_flags_low_sla(tmp_path: Path) -> None:
    """Agency codes are escaped, wilayas are named in French and Arabic, rows under 95 % are marked."""
    await october_report(tmp_path)
    out = tmp_path / "out"
    agency = (out / "agency.html").read_text(encoding="utf-8")
    assert "CNAS-09-&lt;A&amp;B&gt;" in agency and "<A&B>" not in agency
    assert "Période" in agency and "2026-10" in agency and "2026-11-02 08:00 UTC" in agency
    wilaya = (out / "wilaya.html").read_text(encoding="utf-8")
    assert "Blida" in wilaya and "البليدة" in wilaya and "الولاية" in wilaya
    assert '<tr class="low"><td>16</td>' in wilaya and "<tr><td>09</td>" in wilaya
    assert '<tr class="total low"><td>TOTAL</td>' in wilaya
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{d}.html"' in index for d in ("agency", "wilaya", "provider"))
    for page in (agency, wilaya, index):
        assert "<script" not in page and "src=" not in page and "http" not in page and "<style>" in page


def test_periods_default_to_the_last_complete_one_in_utc() -> None:
    """Early January reports on December; a week on the previous ISO week; a day on yesterday."""
    now = dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # 2025-12-31 23:30 UTC
    assert report.last_complete("month", now).label == "2025-11"
    assert report.last_complete("day", now).label == "2025-12-30"
    monday = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
    week = report.last_complete("week", monday)
    assert (week.label, week.since, week.until) == (
        "2026-W48",
        dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
    )
    december = report.month("2026-12")
    assert (december.since.month, december.until) == (12, dt.datetime(2027, 1, 1, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--month", "2026-13"], "argument --month: '2026-13' is not a month: expected YYYY-MM"),
        (["--month", "november"], "argument --month: 'november' is not a month"),
        (["--period", "day", "--day", "2026-02-30"], "argument --day: '2026-02-30' is not a day"),
        (["--period", "week", "--week", "2026-W60"], "argument --week: '2026-W60' is not an ISO week"),
        (["--period", "week", "--month", "2026-10"], "argument --month: needs --period month"),
    ],
)
def test_a_bad_period_is_a_usage_error(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A month, week or day that does not exist, or one for another period, exits 2 and writes nothing."""
    with pytest.raises(SystemExit) as exited:
        main(["report", "--home", str(tmp_path), *argv])
    assert exited.value.code == 2
    assert f"gateway report: error: {message}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


async def test_the_command_writes_the_report_under_the_home_folder(tmp_path: Path) -> None:
    """`gateway report --month 2026-10 --home DIR` opens the home's store and writes HOME/reports/2026-10/."""
    home = tmp_path / "home"
    await populate(home / config_module.load().settings.store_path)
    env = {k: v for k, v in os.environ.items() if k not in ("GATEWAY_STORE", "GATEWAY_STORE_DSN")}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "report", "--period", "month", "--month", "2026-10", "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    folder = home / "reports" / "2026-10"
    expected = [folder / f"{d}.{ext}" for ext in ("csv", "html") for d in ("agency", "wilaya", "provider")]
    written = [*expected, folder / "index.html", folder / "alerts.csv", folder / "foresight.html"]
    assert lines[:-1] == [str(p) for p in written]
    assert all(p.is_file() for p in written)
    assert lines[-1] == "report 2026-10: 8 requests, 71.4 % answered within SLA"
    assert read_csv(folder / "agency.csv")[-1] == TOTAL


async def test_the_report_says_which_alerts_were_raised_and_how_the_forecast_fared(tmp_path: Path) -> None:
    """October's report lists October's alerts with how they were settled (not September's), and compares
    the forecast of October made from August and September with what happened."""
    store = SQLiteStore(tmp_path / "store.sqlite3")
    await store.open()
    try:
        raised = AlertRecord(
            alert_id="oct",
            agent="A-1207",
            agency="CNAS-16-001",
            kind="bulk_lookups",
            day="2026-10-10",
            raised_at=dt.datetime(2026, 10, 10, 9, tzinfo=dt.UTC),
            since=dt.datetime(2026, 10, 10, 8, 55, tzinfo=dt.UTC),
            reason="40 distinct citizens in 30 min, 13× the agency median (3)",
            evidence={"value": 40},
            explorer="/requests?agent=A-1207&since=2026-10-10T08:55",
        )
        await store.add_alert(raised)
        await store.add_alert(
            dataclasses.replace(raised, alert_id="sep", raised_at=dt.datetime(2026, 9, 20, tzinfo=dt.UTC))
        )
        await store.settle_alert("oct", "acknowledged", "nadia", "followed up with the agency")
        rng = random.Random(2)
        day = dt.date(2026, 8, 1)
        while day < dt.date(2026, 11, 1):
            level = 0 if day.weekday() == 4 else 15 if day.weekday() == 5 else 50
            if level:
                await store.record(
                    entry("CNAS-16-001", CIVIL, "issued", None, dt.datetime.combine(day, dt.time(11), dt.UTC)),
                    None,
                    Journey((("route", 5.0),), 5.0, True),
                )
                db = sqlite3.connect(tmp_path / "store.sqlite3")
                with db:
                    db.execute("UPDATE kpi SET n = ? WHERE minute = ?", (level + rng.randint(-5, 5), f"{day}T11:00"))
                db.close()
            day += dt.timedelta(days=1)
        foresight = await evaluation.evaluate(store, report.month("2026-10").since, report.month("2026-10").until)
        built = await report.build(store, report.month("2026-10"))
    finally:
        await store.close()
    assert [a.alert_id for a in foresight.alerts] == ["oct"]
    assert foresight.series == 1 and foresight.forecast is not None
    assert foresight.forecast["days_compared"] == 31 and foresight.forecast["relative_mae"] is not None
    paths = report_foresight.write(built, foresight, tmp_path)
    page = (tmp_path / "foresight.html").read_text(encoding="utf-8")
    assert "A-1207" in page and "confirmée" in page and "nadia" in page and "prévision naïve saisonnière" in page
    assert read_csv(paths[0])[1][:3] == ["oct", "2026-10-10T09:00:00+00:00", "A-1207"]
