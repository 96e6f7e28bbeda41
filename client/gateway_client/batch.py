"""Bulk runs for periodic reviews (the yearly proof of life of pensioners, a review of
family-allowance files): every row of a CSV file asks for one document, in the `bulk` lane,
with a bounded number in flight, and gets one line in the results file.

A run can be stopped at any moment (Ctrl-C, `kill -9`) and started again with the same
command. Next to the results file, a journal keeps the batch's id and, before each request
is sent, its signed body. Request ids derive from the batch and the row. Started again, the
run skips the rows that have a result, and sends the rows that were in flight again with
their original signed body, so that the gateway answers them from its memory without asking
the administration twice. That holds while the in-flight bodies are fresh: the gateway
accepts a request up to 300 s after its `IssuedAt`.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gateway_client.client import Client, Form
from gateway_client.errors import InvalidRequest, SealError, TransportError
from gateway_client.results import Attestation, Failed, NotFound, Refused, Result
from gateway_client.subjects import subject_of

#: The columns of the input file (a header row names them; `case_reference` is optional).
INPUT_COLUMNS = ("type", "subject", "purpose")
#: The columns of the results file.
RESULT_COLUMNS = (
    "row",
    "type",
    "subject",
    "purpose",
    "request_id",
    "outcome",
    "problem",
    "message",
    "attestation_id",
    "valid_until",
    "seconds",
    "within_sla",
    "data",
)
#: How long the batch's reply queue outlives a stopped run on the bus.
KEEP_REPLIES_SECONDS = 24 * 3600
OUTCOMES = ("issued", "not-found", "refused", "failed", "invalid", "untrusted")


class BatchError(Exception):
    """The batch cannot run: an unreadable input, missing columns, a results file of another batch."""


@dataclass(frozen=True)
class Row:
    number: int  # 1 for the first row after the header
    document_type: str
    subject: str
    purpose: str
    case_reference: str | None = None


def read_rows(path: Path) -> list[Row]:
    """The rows of a CSV file with a header naming at least `type`, `subject` and `purpose`."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in INPUT_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise BatchError(
                    f"{path}: the header row must name the columns {', '.join(INPUT_COLUMNS)}; "
                    f"missing: {', '.join(missing)}"
                )
            return [
                Row(
                    n,
                    (record.get("type") or "").strip(),
                    (record.get("subject") or "").strip(),
                    (record.get("purpose") or "").strip(),
                    (record.get("case_reference") or "").strip() or None,
                )
                for n, record in enumerate(reader, start=1)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BatchError(f"{path}: cannot be read as CSV: {exc}") from None


# ------------------------------------------------------------------------------ the journal
class Journal:
    """`<results>.journal`: one JSON line naming the batch, then one per request before it is
    sent (`{"row", "form", "body"}`), each written to the file before the request leaves."""

    def __init__(self, path: Path, batch_id: str, pending: Mapping[int, tuple[str, bytes]]) -> None:
        self.path, self.batch_id, self.pending = path, batch_id, dict(pending)
        self._handle: IO[str] = path.open("a", encoding="utf-8")
        self._synced = time.monotonic()

    @classmethod
    def open(cls, path: Path, source: Path) -> Journal:
        """The journal of `path`, created for a new batch of `source` if there is none."""
        if not path.exists():
            header = {"batch": str(uuid.uuid4()), "source": str(source.resolve())}
            with path.open("w", encoding="utf-8") as handle:
                handle.write(json.dumps(header) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            return cls(path, header["batch"], {})
        lines = _complete_lines(path)
        try:
            header = json.loads(lines[0])
            pending = {}
            for line in lines[1:]:
                entry = json.loads(line)
                pending[int(entry["row"])] = (str(entry["form"]), base64.b64decode(entry["body"]))
            return cls(path, str(header["batch"]), pending)
        except (IndexError, KeyError, ValueError) as exc:
            raise BatchError(f"{path}: not a batch journal ({exc}); move it away to start a new batch") from None

    def record(self, row: int, form: str, body: bytes) -> None:
        """Keeps a request's signed body; written out before it is sent, synced at most once a second."""
        self._handle.write(json.dumps({"row": row, "form": form, "body": base64.b64encode(body).decode()}) + "\n")
        self._handle.flush()
        if time.monotonic() - self._synced > 1.0:
            os.fsync(self._handle.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        self._handle.close()

    def forget_bodies(self) -> None:
        """Once every row has its result, only the batch's id is kept."""
        header = _complete_lines(self.path)[0]
        temporary = self.path.with_name(self.path.name + ".new")
        temporary.write_text(header + "\n", encoding="utf-8")
        temporary.replace(self.path)


def _complete_lines(path: Path) -> list[str]:
    """The file's complete lines; a last line cut short by a kill is dropped from the file."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with path.open("r+b") as handle:
            handle.truncate(end)
    return [line for line in data[:end].decode("utf-8").split("\n") if line]


# ------------------------------------------------------------------------------ the results
class Results:
    """The results file: a header, then one line per row as its answer arrives, flushed at once.
    When every row has its line, the file is rewritten in the input's order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[int, dict[str, str]] = {}
        if path.exists() and path.stat().st_size:
            _complete_lines(path)
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                if tuple(reader.fieldnames or ()) != RESULT_COLUMNS:
                    raise BatchError(f"{path}: exists and is not a results file; choose another --out")
                for line in reader:
                    self.done[int(line["row"])] = line
        fresh = not path.exists() or not path.stat().st_size
        self._handle: IO[str] = path.open("a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._handle, RESULT_COLUMNS)
        if fresh:
            self._writer.writeheader()
            self._handle.flush()

    def write(self, line: dict[str, str]) -> None:
        self._writer.writerow(line)
        self._handle.flush()
        self.done[int(line["row"])] = line

    def close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()

    def sort(self) -> None:
        """Rewrites the file in row order (atomically)."""
        temporary = self.path.with_name(self.path.name + ".sorting")
        with temporary.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, RESULT_COLUMNS)
            writer.writeheader()
            for number in sorted(self.done):
                writer.writerow(self.done[number])
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)


def result_line(
    row: Row, request_id: str, outcome: Result | Exception, seconds: float, sla: int | None
) -> dict[str, str]:
    """A row's line in the results file."""
    line = {c: "" for c in RESULT_COLUMNS}
    line.update(
        row=str(row.number), type=row.document_type, subject=row.subject, purpose=row.purpose, request_id=request_id
    )
    if isinstance(outcome, Exception):
        line.update(outcome="invalid" if isinstance(outcome, InvalidRequest) else "untrusted", message=str(outcome))
        return line
    line.update(outcome=outcome.status, seconds=f"{seconds:.3f}")
    if sla is not None:
        line["within_sla"] = "yes" if seconds <= sla else "no"
    if isinstance(outcome, Attestation):  # NotFound too
        line.update(
            attestation_id=outcome.attestation_id,
            valid_until=outcome.valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
            data=json.dumps(dict(outcome.data), ensure_ascii=False, separators=(",", ":")),
        )
    elif isinstance(outcome, Refused | Failed):
        line.update(problem=outcome.problem.code, message=outcome.problem.message_fr)
    return line


# ------------------------------------------------------------------------------ the run
@dataclass
class Progress:
    """Counts, rate and time left, drawn on standard error."""

    total: int
    already: int
    stream: IO[str] = field(default_factory=lambda: sys.stderr)
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    drawn: float = field(default_factory=time.monotonic)

    def tick(self, force: bool = False) -> None:
        self.done += 1
        now = time.monotonic()
        tty = self.stream.isatty()
        if not force and now - self.drawn < (0.2 if tty else 10.0):
            return
        self.drawn = now
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        finished = self.already + self.done
        left = (self.total - finished) / rate if rate else 0.0
        share = finished / self.total if self.total else 1.0
        bar = "#" * int(share * 30)
        text = (
            f"[{bar:<30}] {finished:,}/{self.total:,} rows {share:6.1%}  {rate:,.0f} rows/s  "
            f"left {int(left) // 60}:{int(left) % 60:02d}"
        )
        self.stream.write(("\r" + text) if tty else (text + "\n"))
        self.stream.flush()

    def end(self) -> None:
        if self.stream.isatty():
            self.stream.write("\n")


@dataclass
class Summary:
    """What a run did, for its closing lines (and `--json`)."""

    rows: int
    outcomes: Counter[str]
    problems: Counter[str]
    within_sla: int
    timed: int
    no_answer: int
    seconds: float
    sent: int
    resumed: int

    @property
    def complete(self) -> bool:
        return sum(self.outcomes.values()) == self.rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "outcomes": dict(self.outcomes),
            "problems": dict(self.problems),
            "slaShare": round(self.within_sla / self.timed, 4) if self.timed else None,
            "noAnswer": self.no_answer,
            "seconds": round(self.seconds, 1),
            "sentThisRun": self.sent,
            "resentFromJournal": self.resumed,
            "complete": self.complete,
        }

    def lines(self) -> Iterator[str]:
        yield f"{self.rows:,} rows, {sum(self.outcomes.values()):,} with a result"
        for outcome in OUTCOMES:
            if self.outcomes.get(outcome):
                yield f"  {outcome:<10} {self.outcomes[outcome]:>8,}"
        if self.timed:
            yield f"within the SLA: {self.within_sla / self.timed:.1%} of {self.timed:,} answers"
        if self.problems:
            yield "problems: " + ", ".join(f"{code} {n:,}" for code, n in self.problems.most_common())
        rate = self.sent / self.seconds if self.seconds else 0.0
        yield f"this run sent {self.sent:,} requests in {self.seconds:.1f} s ({rate:,.0f}/s)"
        if self.no_answer:
            yield f"{self.no_answer:,} rows got no answer: run the same command again to resume them"


async def run_batch(
    client: Client,
    source: Path,
    out: Path,
    *,
    in_flight: int = 32,
    timeout: float = 120.0,
    sla: Mapping[str, int] | None = None,
    form: Form | None = None,
    progress: bool = True,
) -> Summary:
    """Runs (or resumes) the batch of `source` into `out`."""
    rows = read_rows(source)
    results = Results(out)
    journal = Journal.open(out.with_name(out.name + ".journal"), source)
    batch = uuid.UUID(journal.batch_id)
    client.transport.keep_replies(f"gateway.client.batch.{batch}", KEEP_REPLIES_SECONDS)
    todo = [r for r in rows if r.number not in results.done]
    meter = Progress(len(rows), len(rows) - len(todo)) if progress else None
    counts = {"sent": 0, "resumed": 0, "no_answer": 0}
    started = time.monotonic()

    async def one(row: Row) -> None:
        request_id = str(uuid.uuid5(batch, f"row-{row.number}"))
        try:
            if row.number in journal.pending:
                row_form, body = journal.pending[row.number]
                fields = _fields_of(row, request_id)
                counts["resumed"] += 1
            else:
                if not row.document_type or not row.purpose:
                    raise InvalidRequest("the row names no type or no purpose")
                row_form = form or client.form
                fields, body = client.build(
                    row.document_type,
                    row.subject,
                    row.purpose,
                    case_reference=row.case_reference,
                    priority="bulk",
                    timeout=timeout,
                    request_id=request_id,
                    form=_form(row_form),
                )
                journal.record(row.number, row_form, body)
            counts["sent"] += 1
            clock = time.monotonic()
            outcome: Result | Exception = await client.send(fields, body, form=_form(row_form), timeout=timeout)
            seconds = time.monotonic() - clock
        except (InvalidRequest, SealError) as exc:
            outcome, seconds = exc, 0.0
        except TransportError:
            counts["no_answer"] += 1
            return
        results.write(result_line(row, request_id, outcome, seconds, (sla or {}).get(row.document_type)))
        if meter:
            meter.tick()

    queue = iter(sorted(todo, key=lambda r: r.number not in journal.pending))  # in-flight rows first: still fresh

    async def worker() -> None:
        for row in queue:
            await one(row)

    try:
        await asyncio.gather(*(worker() for _ in range(max(1, in_flight))))
    finally:
        if meter:
            meter.end()
        results.close()
        journal.close()
    summary = _summary(rows, results, counts, time.monotonic() - started)
    if summary.complete:
        results.sort()
        journal.forget_bodies()
        await client.transport.discard_replies()
    return summary


def _fields_of(row: Row, request_id: str) -> dict[str, Any]:
    """What the answer to a journaled request is checked against."""
    return {
        "requestId": request_id,
        "documentType": row.document_type,
        "purpose": row.purpose,
        "subject": subject_of(row.subject),
    }


def _form(value: str) -> Form:
    if value not in ("xml", "jws"):
        raise InvalidRequest(f"the journal names an unknown form {value!r}")
    return "jws" if value == "jws" else "xml"


def _summary(rows: Sequence[Row], results: Results, counts: Mapping[str, int], seconds: float) -> Summary:
    outcomes: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    within = timed = 0
    for line in results.done.values():
        outcomes[line["outcome"]] += 1
        if line["problem"]:
            problems[line["problem"]] += 1
        if line["within_sla"]:
            timed += 1
            within += line["within_sla"] == "yes"
    return Summary(
        len(rows), outcomes, problems, within, timed, counts["no_answer"], seconds, counts["sent"], counts["resumed"]
    )


__all__ = ["BatchError", "NotFound", "Row", "Summary", "read_rows", "run_batch"]
