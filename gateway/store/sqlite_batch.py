"""Group commit for the SQLite store: one thread owns the connection and runs every call of
its process; the writes waiting when it wakes share one transaction.

Under load, a request's four store calls would each cost a trip to a worker thread and
back, and a transaction. Here the thread takes every call queued so far, runs the writes
inside one `BEGIN IMMEDIATE … COMMIT` (when one of them fails, that transaction is rolled
back and each write runs again alone, so that only the failing one raises, to its own
caller), runs the reads outside it, and hands all
the results back to the event loop in one wake-up. A call's effects are committed before
its caller resumes, so durability and ordering are those of one transaction per call.

Several processes (the workers of one host) write the same file. A writer that finds the
file locked is made by SQLite to sleep and try again, 1, 2, 5, 10 … 100 ms at a time,
however soon the lock is freed: under the benchmark's load, with two workers committing in
turn, the longest wait of a run was 0.24 s and 0.63 s (two runs), and every request of its
worker waited with it. So the batchers of one file first take an advisory `flock` on a file
beside it (`writers_lock`), and the kernel wakes the next one as soon as the lock is free:
the longest wait of a run fell to 0.05–0.16 s (eight runs). What remains is the holder's
own time, often a thread preempted on two busy cores; the total time waited did not change.
SQLite's lock still guards the data: a writer that does not take the `flock` (a command run
by an operator) is waited for as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")
MAX_BATCH = 256

Call = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]", bool]
Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


class Batcher:
    """Runs calls on one connection, on one thread, writes grouped into one transaction."""

    def __init__(
        self, connect: Callable[[], sqlite3.Connection], name: str = "sqlite-store", writers_lock: Path | None = None
    ) -> None:
        self._connect = connect
        self._writers_lock = writers_lock
        self._lock_fd: int | None = None
        self._queue: queue.SimpleQueue[list[Call] | None] = queue.SimpleQueue()
        self._pending: list[Call] = []  # calls made during this turn of the event loop, handed over at its end
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._name = name
        self.batches = 0
        self.calls = 0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[Any] = self._loop.create_future()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name=self._name, daemon=True)
        self._thread.start()
        await ready

    async def run(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """The result of `fn(connection)`, run on the store's thread (in the shared transaction when `write`)."""
        if self._thread is None or self._loop is None:
            raise RuntimeError("store is not open")
        future: asyncio.Future[T] = self._loop.create_future()
        if not self._pending:
            self._loop.call_soon(self._hand_over)
        self._pending.append((fn, future, write))
        return await future

    def _hand_over(self) -> None:
        """One wake-up of the store's thread for all the calls of a turn of the loop."""
        calls, self._pending = self._pending, []
        if calls:
            self._queue.put(calls)

    async def stop(self) -> None:
        if self._thread is not None:
            self._hand_over()  # calls made in this very turn go before the end
            self._queue.put(None)
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
            self._thread = None

    # ------------------------------------------------------------------ the store's thread
    def _serve(self, ready: asyncio.Future[Any]) -> None:
        assert self._loop is not None
        try:
            db = self._connect()
            if self._writers_lock is not None:
                self._lock_fd = os.open(self._writers_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except BaseException as exc:
            failed: list[Outcome] = [(ready, None, exc)]
            self._loop.call_soon_threadsafe(_settle, failed)
            return
        opened: list[Outcome] = [(ready, None, None)]
        self._loop.call_soon_threadsafe(_settle, opened)
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch, stop = list(first), False
                while len(batch) < MAX_BATCH:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    batch.extend(more)
                try:
                    outcomes = self._writes(db, [c for c in batch if c[2]]) + [_call(db, c) for c in batch if not c[2]]
                except Exception as exc:  # the connection itself failed: every caller hears it, the thread goes on
                    log.error("store_batch_failed", calls=len(batch), error=str(exc))
                    if db.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            db.execute("ROLLBACK")
                    outcomes = [(future, None, exc) for _, future, _ in batch]
                self.batches += 1
                self.calls += len(batch)
                self._loop.call_soon_threadsafe(_settle, outcomes)
                if stop:
                    return
        finally:
            db.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """This process's turn among the writers of the file (see the module's text)."""
        if self._lock_fd is None:
            yield
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _writes(self, db: sqlite3.Connection, calls: list[Call]) -> list[Outcome]:
        """All the writes in one transaction. Should one of them fail, the transaction is rolled
        back and each write runs again in a transaction of its own, so that only the failing one
        fails (the rare case pays; the common one has no savepoint per call)."""
        if not calls:
            return []
        with self._writing():
            return self._transaction(db, calls)

    @classmethod
    def _transaction(cls, db: sqlite3.Connection, calls: list[Call]) -> list[Outcome]:
        try:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time across the processes of this host
        except sqlite3.Error as exc:
            return [(future, None, exc) for _, future, _ in calls]
        outcomes: list[Outcome] = []
        for fn, future, _ in calls:
            try:
                outcomes.append((future, fn(db), None))
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                return cls._one_by_one(db, calls)
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("store_commit_failed", calls=len(calls), error=str(exc))
            if db.in_transaction:
                db.execute("ROLLBACK")
            return [(future, None, exc) for _, future, _ in calls]
        return outcomes

    @staticmethod
    def _one_by_one(db: sqlite3.Connection, calls: list[Call]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for fn, future, _ in calls:
            try:
                db.execute("BEGIN IMMEDIATE")
                result = fn(db)
                db.execute("COMMIT")
            except BaseException as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                outcomes.append((future, None, exc))
            else:
                outcomes.append((future, result, None))
        return outcomes


def _call(db: sqlite3.Connection, call: Call) -> Outcome:
    fn, future, _ = call
    try:
        return future, fn(db), None
    except BaseException as exc:
        return future, None, exc


def _settle(outcomes: list[Outcome]) -> None:
    """On the event loop: every caller of the batch gets its result or its exception."""
    for future, result, error in outcomes:
        if future.done():  # its caller was cancelled
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
