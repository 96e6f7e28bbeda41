"""The foresight section of `gateway report`: `foresight.html` and `alerts.csv`, from
`gateway.insights.evaluation` (the period's misuse alerts and how they were settled; the
forecast of the period's load made from the history before it, against what happened)."""

from __future__ import annotations

import csv
import html
from pathlib import Path

from gateway.audit.report import Report, bilingual, page
from gateway.insights.evaluation import Foresight
from gateway.insights.misuse import LOCAL
from gateway.texts.report import (
    ALERT_HEADINGS,
    ALERT_STATES,
    ALERTS_RAISED,
    FORECAST_FACTS,
    FORESIGHT,
    LOAD_FORECAST,
    NO_ALERTS,
    NO_FORECAST,
)

ALERT_COLUMNS = ("alert_id", "raised_at", "agent", "agency", "kind", "reason", "state", "settled_by", "note")
PAGE, CSV_FILE = "foresight.html", "alerts.csv"


def write(report: Report, foresight: Foresight, out: Path) -> list[Path]:
    """Writes foresight.html and alerts.csv in `out`; returns their paths."""
    with (out / CSV_FILE).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(ALERT_COLUMNS)
        for a in foresight.alerts:
            writer.writerow(
                (a.alert_id, a.raised_at.isoformat(), a.agent, a.agency, a.kind, a.reason, a.state, a.settled_by or "",
                 a.note or "")
            )  # fmt: skip
    (out / PAGE).write_text(page(report, FORESIGHT, _body(foresight)), encoding="utf-8")
    return [out / CSV_FILE, out / PAGE]


def _body(foresight: Foresight) -> str:
    parts = [f"<h2>{bilingual(*ALERTS_RAISED)}</h2>"]
    if foresight.alerts:
        head = "".join(f"<th>{bilingual(*h)}</th>" for h in ALERT_HEADINGS)
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{cell}</td>"
                for cell in (
                    html.escape(f"{a.raised_at.astimezone(LOCAL):%Y-%m-%d %H:%M}"),
                    html.escape(a.agent),
                    html.escape(a.agency),
                    html.escape(a.kind),
                    html.escape(a.reason),
                    bilingual(*ALERT_STATES.get(a.state, (a.state, a.state)))
                    + (html.escape(f" ({a.settled_by}: {a.note or '-'})") if a.settled_by else ""),
                )
            )
            + "</tr>"
            for a in foresight.alerts
        )
        parts.append(f'<table>\n<tr>{head}</tr>\n{rows}\n</table><p><a href="{CSV_FILE}">CSV</a></p>')
    else:
        parts.append(f"<p>{bilingual(*NO_ALERTS)}</p>")
    parts.append(f"<h2>{bilingual(*LOAD_FORECAST)}</h2>")
    fared = foresight.forecast
    if fared is None:
        parts.append(f"<p>{bilingual(*NO_FORECAST)}</p>")
    else:
        values = (
            str(foresight.series),
            _figure(fared.get("relative_mae")),
            _figure(fared.get("coverage_80")),
            _figure(fared.get("coverage_95")),
        )
        facts = "".join(
            f"<li>{bilingual(*label)} : {html.escape(v)}</li>" for label, v in zip(FORECAST_FACTS, values, strict=True)
        )
        parts.append(f"<ul>{facts}</ul>")
    return "\n".join(parts)


def _figure(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
