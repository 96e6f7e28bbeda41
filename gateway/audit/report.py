"""The periodic evaluation report (`gateway report`): per agency, per wilaya and per provider.

For one period (a UTC calendar month, ISO week or day) it reads the KPI counts of the store
(`gateway/kpi.py`) and writes, in one folder, `agency.csv`, `wilaya.csv`, `provider.csv`, the
same three tables as `agency.html`, `wilaya.html`, `provider.html` (self-contained: inline
CSS, no script, no external resource), and `index.html` linking them. No personal data:
keys are agency codes, wilaya codes and provider codes.

CSV columns (UTF-8, comma-separated, one header line; this order is stable):

- `key`: the agency code, wilaya code or provider code (`—` when the request named none);
- `name`: the wilaya's French name for the wilaya table, otherwise the key;
- `volume`: requests answered in the period;
- `issued`, `not_found`, `refused`, `failed`: the split of `volume` by response status;
- `sla_bound`: requests bound by their type's deadline (refusals and unknown types are not);
- `within_sla`: of those, the ones answered (issued or not-found) within the deadline;
- `sla_percent`: 100 × within_sla / sla_bound, one decimal; empty when sla_bound is 0;
- `p95_ms`: the 95th percentile of latency in ms, as the upper bound of its latency bucket
  ("at most"); `>60000` beyond the last bound; empty without requests;
- `failure_causes`: problem codes with their counts, most frequent first
  (`provider_timeout:3;bad_signature:1`); empty when there is none.

The last row is `TOTAL`, over every request of the period. The HTML tables show the same
formatted values and highlight rows whose SLA compliance is under 95 %.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.kpi import BUCKET_BOUNDS_MS, Summary, summarise, total
from gateway.store import Store
from gateway.texts.report import (
    CHECKPOINTS,
    GENERATED,
    HEADINGS,
    KEY_HEADINGS,
    P95,
    PERIOD,
    REPORT,
    TITLES,
    VOLUME,
    WITHIN_SLA,
)
from gateway.texts.wilayas import WILAYAS

COLUMNS = (
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
)
#: The report's tables, in order: the store dimension each one groups by.
DIMENSIONS = ("agency", "wilaya", "provider")
PERIODS = ("month", "week", "day")
SLA_TARGET = 95.0
TOTAL_KEY = "TOTAL"
#: The journal's checkpoints a report carries: the last of each day of its period.
CHECKPOINTS_FILE = "checkpoints.jsonl"

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class Period:
    """A reporting period in UTC: [since, until), and its label (`2026-11`, `2026-W47`, `2026-11-29`)."""

    kind: str
    label: str
    since: dt.datetime
    until: dt.datetime


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def month(value: str) -> Period:
    """The calendar month `YYYY-MM`; ValueError when it is not one."""
    match = _MONTH.match(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"{value!r} is not a month: expected YYYY-MM, e.g. 2026-11")
    year, number = int(match.group(1)), int(match.group(2))
    first = dt.date(year, number, 1)
    following = dt.date(year + number // 12, number % 12 + 1, 1)
    return Period("month", value, _utc(first), _utc(following))


def week(value: str) -> Period:
    """The ISO week `YYYY-Www` (Monday to Monday); ValueError when it is not one."""
    match = _WEEK.match(value)
    try:
        if not match:
            raise ValueError
        monday = dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO week: expected YYYY-Www, e.g. 2026-W47") from None
    return Period("week", value, _utc(monday), _utc(monday + dt.timedelta(days=7)))


def day(value: str) -> Period:
    """The calendar day `YYYY-MM-DD`; ValueError when it is not one."""
    try:
        if not _DAY.match(value):
            raise ValueError
        date = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a day: expected YYYY-MM-DD, e.g. 2026-11-29") from None
    return Period("day", value, _utc(date), _utc(date + dt.timedelta(days=1)))


def last_complete(kind: str, now: dt.datetime) -> Period:
    """The last complete month, ISO week or day before `now` (UTC)."""
    today = now.astimezone(dt.UTC).date()
    if kind == "month":
        last_month = today.replace(day=1) - dt.timedelta(days=1)
        return month(f"{last_month:%Y-%m}")
    if kind == "week":
        year, number, _ = (today - dt.timedelta(days=7)).isocalendar()
        return week(f"{year:04d}-W{number:02d}")
    if kind == "day":
        return day((today - dt.timedelta(days=1)).isoformat())
    raise ValueError(f"no period {kind!r}: one of {', '.join(PERIODS)}")


@dataclass(frozen=True)
class Report:
    """The three tables of one period: for each dimension, one Summary per key, sorted by key."""

    period: Period
    generated_at: dt.datetime
    tables: dict[str, dict[str, Summary]]

    def total(self) -> Summary:
        """Every request of the period (each table partitions the same requests)."""
        return total(self.tables[DIMENSIONS[0]].values(), TOTAL_KEY)


async def build(store: Store, period: Period, now: dt.datetime | None = None) -> Report:
    """Reads the KPI counts of `period` from the store, grouped by agency, wilaya and provider."""
    tables = {d: summarise(await store.kpi_counts(period.since, period.until, d)) for d in DIMENSIONS}
    return Report(period, now or dt.datetime.now(dt.UTC), tables)


# ---------------------------------------------------------------------- formatting, shared by CSV and HTML
def percent(summary: Summary) -> str:
    """SLA compliance with one decimal (`71.4`); empty without an SLA-bound request."""
    value = summary.sla_percent
    return "" if value is None else f"{value:.1f}"


def p95(summary: Summary) -> str:
    """The p95 latency bound in ms (`6000`, or `>60000` past the last bucket); empty without requests."""
    value = summary.percentile(0.95)
    if value is None:
        return ""
    return f">{BUCKET_BOUNDS_MS[-1]}" if value == float("inf") else f"{value:g}"


def causes(summary: Summary) -> str:
    """Problem codes with counts, most frequent first, ties by code: `provider_timeout:2;bad_signature:1`."""
    ranked = sorted(summary.problems.items(), key=lambda item: (-item[1], item[0]))
    return ";".join(f"{code}:{count}" for code, count in ranked if count)


def _name(dimension: str, key: str) -> str:
    if dimension == "wilaya" and key in WILAYAS:
        return WILAYAS[key][0]
    return key


def row(dimension: str, summary: Summary) -> tuple[str, ...]:
    """One report row, in the order of COLUMNS, every value formatted."""
    s = summary.statuses
    return (
        summary.key,
        _name(dimension, summary.key),
        str(summary.volume),
        str(s["issued"]),
        str(s["not-found"]),
        str(s["refused"]),
        str(s["failed"]),
        str(summary.sla_bound),
        str(summary.within_sla),
        percent(summary),
        p95(summary),
        causes(summary),
    )


def rows(report: Report, dimension: str) -> list[tuple[str, ...]]:
    """The rows of one table, by key, then the TOTAL row."""
    table = report.tables[dimension]
    return [row(dimension, s) for s in table.values()] + [row(dimension, total(table.values(), TOTAL_KEY))]


# ---------------------------------------------------------------------- HTML
_STYLE = """body{font-family:sans-serif;margin:2rem}table{border-collapse:collapse}
td,th{border:1px solid #bbb;padding:.3rem .6rem;text-align:left;vertical-align:top}
td.n{text-align:right}tr.low td{background:#fde2e2}tr.total td{font-weight:bold}
[lang=ar]{display:block;direction:rtl;font-size:.9em;color:#444}"""


def bilingual(fr: str, ar: str) -> str:
    """French, then Arabic right to left, both escaped."""
    return f'{html.escape(fr)}<span lang="ar" dir="rtl">{html.escape(ar)}</span>'


def _when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def page(report: Report, title: tuple[str, str], body: str) -> str:
    """A self-contained bilingual page of the report, with the period and when it was made."""
    p = report.period
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{html.escape(f"{title[0]} — {p.label}")}</title>
<style>{_STYLE}</style></head>
<body><h1>{bilingual(*title)}</h1>
<p>{bilingual(*PERIOD)} <strong>{html.escape(p.label)}</strong> : {html.escape(_when(p.since))}
→ {html.escape(_when(p.until))} (exclu)<br>{bilingual(*GENERATED)}
{html.escape(_when(report.generated_at))}</p>
{body}
</body></html>
"""


def _cells(dimension: str, values: tuple[str, ...]) -> str:
    """The cells of one row: numbers right-aligned, a wilaya's name in French and Arabic."""
    arabic = WILAYAS[values[0]][1] if dimension == "wilaya" and values[0] in WILAYAS else None
    cells = []
    for index, value in enumerate(values):
        if index == 1 and arabic:
            cells.append(f"<td>{bilingual(value, arabic)}</td>")
        else:
            numeric = COLUMNS[index] not in ("key", "name", "failure_causes")
            cells.append(f"<td{' class=n' if numeric else ''}>{html.escape(value)}</td>")
    return "".join(cells)


def table_page(report: Report, dimension: str) -> str:
    """One table of the report as a self-contained page; rows under SLA_TARGET % are highlighted."""
    headings = (KEY_HEADINGS[dimension], *HEADINGS)
    head = "".join(f"<th>{bilingual(fr, ar)}</th>" for fr, ar in headings)
    lines = []
    for values in rows(report, dimension):
        classes = ["total"] if values[0] == TOTAL_KEY else []
        sla = values[COLUMNS.index("sla_percent")]
        if sla and float(sla) < SLA_TARGET:
            classes.append("low")
        attribute = f' class="{" ".join(classes)}"' if classes else ""
        lines.append(f"<tr{attribute}>{_cells(dimension, values)}</tr>")
    title = (f"{REPORT[0]} — {TITLES[dimension][0].lower()}", f"{REPORT[1]} — {TITLES[dimension][1]}")
    body = f'<p><a href="index.html">Sommaire</a></p>\n<table>\n<tr>{head}</tr>\n' + "\n".join(lines) + "\n</table>"
    return page(report, title, body)


def index_page(report: Report, checkpoints: Sequence[str] = (), sections: Sequence[tuple[str, str, str]] = ()) -> str:
    """The report's index: the period's totals, a link to each table and its CSV, to each further
    section (page, French title, Arabic title), and the journal's checkpoints it carries."""
    overall = report.total()
    links = "".join(
        f'<li><a href="{d}.html">{bilingual(*TITLES[d])}</a> (<a href="{d}.csv">CSV</a>)</li>' for d in DIMENSIONS
    ) + "".join(f'<li><a href="{html.escape(href)}">{bilingual(fr, ar)}</a></li>' for href, fr, ar in sections)
    facts = (
        f"<p>{bilingual(*VOLUME)} {overall.volume} — "
        f"{bilingual(*WITHIN_SLA)} {html.escape(percent(overall) or '—')} — "
        f"{bilingual(*P95)} {html.escape(p95(overall) or '—')}</p>"
    )
    anchors = (
        f'<p>{bilingual(*CHECKPOINTS)} : <a href="{CHECKPOINTS_FILE}">{len(checkpoints)}</a></p>' if checkpoints else ""
    )
    return page(report, REPORT, f"{facts}\n<ul>{links}</ul>{anchors}")


# ---------------------------------------------------------------------- writers
def write_csv(path: Path, report: Report, dimension: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows(report, dimension))


def write(
    report: Report, out: Path, checkpoints: Sequence[str] = (), sections: Sequence[tuple[str, str, str]] = ()
) -> list[Path]:
    """Writes the CSV and HTML files of the report, index.html (linking `sections` too: page, French
    and Arabic title), and the journal's `checkpoints` (one sealed checkpoint per line, see
    `gateway.audit.checkpoints`) in `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for dimension in DIMENSIONS:
        write_csv(out / f"{dimension}.csv", report, dimension)
        written.append(out / f"{dimension}.csv")
    for dimension in DIMENSIONS:
        (out / f"{dimension}.html").write_text(table_page(report, dimension), encoding="utf-8")
        written.append(out / f"{dimension}.html")
    if checkpoints:
        (out / CHECKPOINTS_FILE).write_text("".join(f"{token}\n" for token in checkpoints), encoding="ascii")
        written.append(out / CHECKPOINTS_FILE)
    (out / "index.html").write_text(index_page(report, checkpoints, sections), encoding="utf-8")
    written.append(out / "index.html")
    return written
