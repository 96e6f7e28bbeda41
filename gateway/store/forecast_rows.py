"""The load forecasts' table, the same on both back ends: one row per forecast day of one
(wilaya, document type) series, by the local day the forecast was made."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

FORECASTS_TABLE = """
CREATE TABLE IF NOT EXISTS forecasts (
    made_on       TEXT NOT NULL,
    wilaya        TEXT NOT NULL,
    document_type TEXT NOT NULL,
    day           TEXT NOT NULL,
    mean          REAL NOT NULL,
    low80         REAL NOT NULL,
    high80        REAL NOT NULL,
    low95         REAL NOT NULL,
    high95        REAL NOT NULL,
    naive         REAL NOT NULL,
    method        TEXT NOT NULL,
    PRIMARY KEY (made_on, wilaya, document_type, day)
);
"""
FORECAST_COLUMNS = "made_on, wilaya, document_type, day, mean, low80, high80, low95, high95, naive, method"


@dataclass(frozen=True)
class ForecastRow:
    """One forecast day of one series: the value, its intervals and the seasonal-naive value."""

    made_on: str  # the local day the forecast was made (its first day), YYYY-MM-DD
    wilaya: str
    document_type: str
    day: str
    mean: float
    low80: float
    high80: float
    low95: float
    high95: float
    naive: float
    method: str

    def row(self) -> tuple[Any, ...]:
        """The values in the order of FORECAST_COLUMNS."""
        return dataclasses.astuple(self)
