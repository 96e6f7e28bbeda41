"""The misuse alerts' table, the same on both back ends (times as ISO text in UTC, the evidence
as JSON), and its rows."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gateway.records import AlertRecord

ALERTS_TABLE = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id   TEXT PRIMARY KEY,
    agent      TEXT NOT NULL,
    agency     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    day        TEXT NOT NULL,
    raised_at  TEXT NOT NULL,
    since      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    evidence   TEXT NOT NULL,
    explorer   TEXT NOT NULL,
    state      TEXT NOT NULL,
    settled_by TEXT,
    settled_at TEXT,
    note       TEXT
);
CREATE INDEX IF NOT EXISTS alerts_raised ON alerts (raised_at);
"""
ALERT_COLUMNS = (
    "alert_id, agent, agency, kind, day, raised_at, since, reason, evidence, explorer, state, settled_by, "
    "settled_at, note"
)
STATES = ("open", "acknowledged", "dismissed")


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None


def alert_row(alert: AlertRecord) -> tuple[Any, ...]:
    """The columns of ALERT_COLUMNS, in order."""
    return (
        alert.alert_id,
        alert.agent,
        alert.agency,
        alert.kind,
        alert.day,
        _iso(alert.raised_at),
        _iso(alert.since),
        alert.reason,
        json.dumps(dict(alert.evidence), sort_keys=True, ensure_ascii=False),
        alert.explorer,
        alert.state,
        alert.settled_by,
        _iso(alert.settled_at),
        alert.note,
    )


def alert_of(row: Any) -> AlertRecord:
    """A row of ALERT_COLUMNS read back."""
    return AlertRecord(
        alert_id=row[0],
        agent=row[1],
        agency=row[2],
        kind=row[3],
        day=row[4],
        raised_at=dt.datetime.fromisoformat(row[5]),
        since=dt.datetime.fromisoformat(row[6]),
        reason=row[7],
        evidence=json.loads(row[8]),
        explorer=row[9],
        state=row[10],
        settled_by=row[11],
        settled_at=dt.datetime.fromisoformat(row[12]) if row[12] else None,
        note=row[13],
    )
