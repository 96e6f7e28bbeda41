"""Times the stages one request goes through, for the request lookup and the KPIs."""

from __future__ import annotations

import time


class Stopwatch:
    """`enter(stage)` ends the stage under way and starts the next; a failure is thus charged
    to the stage it happened in. Times are in milliseconds."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self._mark = self.started
        self._stage: str | None = None
        self._laps: list[tuple[str, float]] = []

    def enter(self, stage: str) -> None:
        now = time.perf_counter()
        if self._stage is not None:
            self._laps.append((self._stage, round((now - self._mark) * 1000, 3)))
        self._stage, self._mark = stage, now

    def stop(self) -> tuple[tuple[str, float], ...]:
        """Ends the stage under way; the stages in order, each with its time."""
        self.enter("")
        self._stage = None
        return tuple(self._laps)

    @property
    def elapsed(self) -> float:
        """Seconds since the stopwatch started."""
        return time.perf_counter() - self.started
