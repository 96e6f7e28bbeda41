"""The rows both store back ends write and read for journeys and KPI counts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gateway.kpi import bucket_of, minute_of, wilaya_of
from gateway.records import KPI_DIMENSIONS, AuditEntry, Journey, JourneyRecord, KpiCount

JOURNEY_COLUMNS = (
    "at, request_id, transport, agency, document_type, provider, status, problem, stages, total_ms, detail"
)
#: What an older store lacks, added when it is opened.
JOURNEY_ADDED_COLUMNS = (("detail", "TEXT"),)
#: The key of a KPI count, as the upsert of each back end names it.
KPI_KEY = "minute, provider, document_type, agency, wilaya, status, problem, within_sla, bucket"
_SLOTS = {"minute": "minute", "hour": "substr(minute, 1, 13)", "day": "substr(minute, 1, 10)"}


def kpi_tables(*, time: str, real: str, count: str) -> str:
    """The `journeys` and `kpi` tables, in the column types of a back end."""
    return f"""
CREATE TABLE IF NOT EXISTS journeys (
    request_id    TEXT NOT NULL,
    at            {time} NOT NULL,
    transport     TEXT NOT NULL,
    agency        TEXT,
    document_type TEXT,
    provider      TEXT,
    status        TEXT NOT NULL,
    problem       TEXT,
    stages        TEXT NOT NULL,
    total_ms      {real} NOT NULL,
    detail        TEXT
);
CREATE INDEX IF NOT EXISTS journeys_request ON journeys (request_id);
CREATE INDEX IF NOT EXISTS journeys_at ON journeys (at);
CREATE TABLE IF NOT EXISTS kpi (
    minute        TEXT NOT NULL,
    provider      TEXT NOT NULL,
    document_type TEXT NOT NULL,
    agency        TEXT NOT NULL,
    wilaya        TEXT NOT NULL,
    status        TEXT NOT NULL,
    problem       TEXT NOT NULL,
    within_sla    INTEGER NOT NULL,
    bucket        INTEGER NOT NULL,
    n             {count} NOT NULL,
    PRIMARY KEY ({KPI_KEY})
);
"""


def journey_row(audit: AuditEntry, journey: Journey, at: Any) -> tuple[Any, ...]:
    """The `journeys` columns, in order, for one answered request."""
    return (
        audit.request_id,
        at,
        audit.transport,
        audit.agency,
        audit.document_type,
        audit.provider,
        audit.status,
        audit.problem,
        json.dumps(journey.stages, separators=(",", ":")),
        round(journey.total_ms, 3),
        journey.detail,
    )


def journey_record(row: Any, at: dt.datetime) -> JourneyRecord:
    """A `journeys` row read back (the columns of JOURNEY_COLUMNS), its time already converted."""
    stages = tuple((str(name), float(ms)) for name, ms in json.loads(row[8]))
    return JourneyRecord(
        at=at,
        request_id=row[1],
        transport=row[2],
        agency=row[3],
        document_type=row[4],
        provider=row[5],
        status=row[6],
        problem=row[7],
        stages=stages,
        total_ms=float(row[9]),
        detail=row[10],
    )


def kpi_row(audit: AuditEntry, journey: Journey) -> tuple[Any, ...]:
    """The `kpi` key columns, in order: absent values are '' so that they take part in the key."""
    sla = -1 if journey.within_sla is None else int(journey.within_sla)
    return (
        minute_of(audit.at),
        audit.provider or "",
        audit.document_type or "",
        audit.agency or "",
        wilaya_of(audit.agency) or "",
        audit.status,
        audit.problem or "",
        sla,
        bucket_of(journey.total_ms),
    )


#: Requests per UTC hour, wilaya and document type (the load forecasts' input); `{}` is a placeholder.
HOURLY_LOAD = (
    "SELECT substr(minute, 1, 13), wilaya, document_type, SUM(n) FROM kpi "
    "WHERE minute >= {0} AND minute < {1} AND wilaya <> '' AND document_type <> '' GROUP BY 1, 2, 3"
)


def kpi_column(dimension: str) -> str:
    """The SQL expression to group by: a KPI dimension, or a time slot for trends; anything else is refused."""
    if dimension in KPI_DIMENSIONS:
        return dimension
    if dimension in _SLOTS:
        return _SLOTS[dimension]
    raise ValueError(f"no KPI dimension {dimension!r}")


def kpi_count(row: Any) -> KpiCount:
    key, status, problem, sla, bucket, count = tuple(row)
    return KpiCount(key or None, status, problem or None, None if sla < 0 else bool(sla), int(bucket), int(count))
