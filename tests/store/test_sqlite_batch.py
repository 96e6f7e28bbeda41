"""Group commit in the SQLite store: calls that wait together share a transaction, yet each
succeeds or fails alone, and a failure of the connection reaches its callers without
stopping the store."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.store.sqlite_batch import Batcher


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)")
    return db


async def test_a_failing_call_is_rolled_back_alone(tmp_path: Path) -> None:
    """Of 50 writes queued together, the one that raises leaves no row and raises to its caller only."""
    batcher = Batcher(lambda: connect(tmp_path / "s.db"))
    await batcher.start()

    def insert(key: str, fail: bool = False) -> Callable[[sqlite3.Connection], str]:
        def run(db: sqlite3.Connection) -> str:
            db.execute("INSERT INTO t VALUES (?)", (key,))
            if fail:
                raise ValueError("refused after writing")
            return key

        return run

    results = await asyncio.gather(
        *(batcher.run(insert(f"k{i}", fail=i == 7), write=True) for i in range(50)), return_exceptions=True
    )
    rows = await batcher.run(lambda db: {r[0] for r in db.execute("SELECT k FROM t")}, write=False)
    await batcher.stop()
    assert isinstance(results[7], ValueError)
    assert rows == {f"k{i}" for i in range(50) if i != 7}
    assert batcher.calls == 51 and batcher.batches < 51  # the writes shared transactions


async def test_a_broken_connection_reaches_every_caller_and_the_store_goes_on(tmp_path: Path) -> None:
    """When the transaction cannot even start, each caller gets the error; later calls are served."""
    batcher = Batcher(lambda: connect(tmp_path / "s.db"))
    await batcher.start()
    blocker = sqlite3.connect(tmp_path / "s.db", isolation_level=None, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock

    def slow_insert(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO t VALUES ('x')")

    await batcher.run(lambda db: db.execute("PRAGMA busy_timeout=50"), write=False)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await batcher.run(slow_insert, write=True)
    blocker.execute("ROLLBACK")
    blocker.close()
    await batcher.run(slow_insert, write=True)
    assert await batcher.run(lambda db: db.execute("SELECT count(*) FROM t").fetchone()[0], write=False) == 1
    await batcher.stop()


_OPEN_ONE = """
import asyncio, sys
from pathlib import Path
from gateway.store.sqlite import SQLiteStore

async def main() -> None:
    store = SQLiteStore(Path(sys.argv[1]))
    await store.open()
    for n in range(50):  # writes right away, as a worker's first requests do
        await store.claim(f"{sys.argv[2]}-{n}", sys.argv[2], 30)
    await store.close()

asyncio.run(main())
"""


def test_workers_opening_a_new_store_together_all_open(tmp_path: Path) -> None:
    """Eight processes opening a new store file at once (as `gateway up --workers` does) all open:
    the race for WAL mode and the schema is waited out, not reported as `database is locked`."""
    import subprocess
    import sys

    for attempt in range(3):
        path = tmp_path / f"new-{attempt}.sqlite3"
        processes = [
            subprocess.Popen([sys.executable, "-c", _OPEN_ONE, str(path), f"w{n}"], stderr=subprocess.PIPE)
            for n in range(8)
        ]
        failures = [p.communicate(timeout=60)[1].decode()[-300:] for p in processes]
        assert [p.returncode for p in processes] == [0] * 8, [f for f in failures if f]


def test_set_up_steps_wait_out_a_locked_database_and_nothing_else() -> None:
    """`database is locked` during set-up is tried again until it clears; any other error, or a lock
    that outlasts the limit, is raised."""
    from gateway.store.sqlite import _while_locked

    tries: list[int] = []

    def locked_twice() -> None:
        tries.append(1)
        if len(tries) < 3:
            raise sqlite3.OperationalError("database is locked")

    _while_locked(locked_twice)
    assert len(tries) == 3

    def broken() -> None:
        raise sqlite3.OperationalError("no such table: t")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        _while_locked(broken)

    def always_locked() -> None:
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _while_locked(always_locked, seconds=0.2)


def _try_flock(path: Path) -> bool:
    """Whether another open file description gets the writers' lock right now."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing releases a lock taken through it
    return True


async def test_the_writers_lock_is_held_during_a_write_transaction_only(tmp_path: Path) -> None:
    """The batcher holds the writers' flock while its transaction runs, and not between writes."""
    lock = tmp_path / "s.db-writers.lock"
    batcher = Batcher(lambda: connect(tmp_path / "s.db"), writers_lock=lock)
    await batcher.start()

    def insert_and_probe(db: sqlite3.Connection) -> bool:
        db.execute("INSERT INTO t VALUES ('a')")
        return _try_flock(lock)

    others_could_write = await batcher.run(insert_and_probe, write=True)
    free_after = _try_flock(lock)
    await batcher.stop()
    assert others_could_write is False
    assert free_after is True


async def test_a_write_waits_for_another_process_holding_the_writers_lock(tmp_path: Path) -> None:
    """While another writer holds the flock the write does not start; it runs once that writer lets go."""
    lock = tmp_path / "s.db-writers.lock"
    batcher = Batcher(lambda: connect(tmp_path / "s.db"), writers_lock=lock)
    await batcher.start()
    other = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)
    try:
        write = asyncio.ensure_future(batcher.run(lambda db: db.execute("INSERT INTO t VALUES ('b')"), write=True))
        await asyncio.sleep(0.3)
        waiting = not write.done()
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    await asyncio.wait_for(write, 10)
    rows = await batcher.run(lambda db: db.execute("SELECT count(*) FROM t").fetchone()[0], write=False)
    await batcher.stop()
    assert waiting
    assert rows == 1
