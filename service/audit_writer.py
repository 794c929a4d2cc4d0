"""Group commit of audit entries: requests hand their entries to one writer (the event loop itself on SQLite when
the log's write lock is free, else a writer thread), which appends everything pending in one transaction
(``service.audit.append_many_in``)."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.audit import Appended, append_many_in

log = logging.getLogger("tracerisk.audit")

_LOCK = threading.Lock()  # one writer per process; the head row update serialises processes


@dataclass(frozen=True)
class Pending:
    items: list[Appended]
    done: Future[list[int]]  # the items' sequence numbers, once committed


CHECKPOINT = "checkpoint"  # a writer-thread job: a passive WAL checkpoint (see AuditWriter.CHECKPOINT_EVERY)


def _locked(exc: BaseException) -> bool:
    """SQLite's answer when another connection holds the write lock (busy timeout 0: at once); Prepared raises the
    driver's errors as SQLAlchemy's, like SQLAlchemy's own execution."""
    return isinstance(exc, sa.exc.OperationalError) and "database is locked" in str(exc)


class AuditWriter:
    """Group commit: requests hand their entries to one writer thread, which appends everything pending in one
    transaction and then resolves each hand-over's future. A request answers only after its entry is committed, so
    every read is still audited before the score leaves the service; the commit cost is shared.

    Async routes go through ``append_async``: entries that arrive in the same event-loop iteration are handed over
    together, and while one hand-over is being written the next ones gather on the loop, so a burst of reads costs
    one thread hand-off and one commit instead of one each (measured: the audit was most of a read's cost).

    On a SQLite store the loop writes a gathered batch itself, on a connection of its own, when the audit log's
    write lock is free at once (busy timeout 0: a WAL commit without fsync, tens of microseconds): no thread
    hand-off, and no contention for the GIL between the writer thread and the reads. The audit log lives in the
    service database (store.engine.service_database), so a publishing score run, which holds the store's lock,
    never takes it. When it is taken (the writer thread, or another process writing the service database) the batch
    goes to the writer thread, which waits for it, so the loop never blocks on a lock. That connection never
    checkpoints (a checkpoint syncs the database file); every CHECKPOINT_EVERY loop commits the writer thread runs a
    passive checkpoint instead.

    A write that gives up on a held lock (the store's busy timeout) fails its batch and every hand-over queued while
    it waited, so no request waits much longer than one busy timeout for a lock another process keeps."""

    MAX_BATCH = 2000  # entries per transaction
    CHECKPOINT_EVERY = 100  # loop commits between passive WAL checkpoints (SQLite's own default: every 1,000 pages)

    def __init__(self, engine_of: Any, secret_key: bytes) -> None:
        self._engine_of = engine_of  # callable returning the current engine (the store may reconnect)
        self._secret = secret_key
        self._queue: queue.SimpleQueue[Pending | str | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        # Loop side (only touched from the event loop that runs the async routes):
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gathering: list[tuple[Appended, asyncio.Future[int]]] = []
        self._in_flight = False
        self._loop_conn: Connection | None = None  # the loop's own write connection (SQLite)
        self._loop_commits = 0

    def submit(self, entry: Appended) -> Future[int]:
        """One entry from any thread; the future gives its sequence number once committed."""
        done: Future[int] = Future()
        batch = self._hand_over([entry])
        batch.add_done_callback(lambda f: _settle(done, f, 0))
        return done

    async def append_async(self, entry: Appended) -> int:
        """One entry from the event loop; returns its sequence number once committed."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (a restarted server or test client): nothing of the old one is kept
            self._loop, self._gathering, self._in_flight = loop, [], False
        done: asyncio.Future[int] = loop.create_future()
        self._gathering.append((entry, done))
        if not self._in_flight:
            self._in_flight = True
            loop.call_soon(self._send_gathered)  # next iteration: every entry of this iteration goes with it
        return await done

    def _send_gathered(self) -> None:
        gathered, self._gathering = self._gathering, []
        items = [item for item, _ in gathered]
        here = self._write_on_loop(items)
        if here is not None:
            self._after_write(gathered, here)
            return
        written = asyncio.wrap_future(self._hand_over(items))
        written.add_done_callback(lambda f: self._after_write(gathered, f))

    def _write_on_loop(self, items: list[Appended]) -> Future[list[int]] | None:
        """Append ``items`` on the loop's own connection (SQLite, write lock free at once); the settled result, or
        None to hand them to the writer thread (another store, the lock taken, the store not reachable)."""
        try:
            engine = self._engine_of()
        except Exception:
            return None  # the writer thread meets the same failure and reports it
        if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
            return None
        if not _LOCK.acquire(blocking=False):  # the writer thread is writing: it takes this batch next
            return None
        done: Future[list[int]] = Future()
        try:
            conn = self._loop_connection(engine)
            with conn.begin():
                seqs = append_many_in(conn, self._secret, items)
        except Exception as exc:
            if _locked(exc):  # another process writes (rolled back, the connection is fine): the thread waits for it
                return None
            self._drop_loop_connection()
            done.set_exception(exc)
            return done
        finally:
            _LOCK.release()
        done.set_result(seqs)
        self._loop_commits += 1
        if self._loop_commits % self.CHECKPOINT_EVERY == 0:
            self._start()
            self._queue.put(CHECKPOINT)
        return done

    def _loop_connection(self, engine: Engine) -> Connection:
        if self._loop_conn is None or self._loop_conn.engine is not engine:  # first use, or the store reconnected
            self._drop_loop_connection()
            conn = engine.connect()
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            conn.commit()
            self._loop_conn = conn
        return self._loop_conn

    def _drop_loop_connection(self) -> None:
        conn, self._loop_conn = self._loop_conn, None
        if conn is not None:
            with suppress(Exception):  # a broken connection may fail to close: it is dropped either way
                conn.invalidate()  # never back to the pool with its own pragmas
                conn.close()

    def _after_write(self, gathered: list[tuple[Appended, asyncio.Future[int]]], written: Any) -> None:
        for index, (_, done) in enumerate(gathered):
            if not done.done():  # a request that was cancelled (client went away) no longer waits
                _settle(done, written, index)
        if self._gathering:
            self._send_gathered()
        else:
            self._in_flight = False

    def _start(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                    self._thread.start()

    def _hand_over(self, items: list[Appended]) -> Future[list[int]]:
        self._start()
        done: Future[list[int]] = Future()
        self._queue.put(Pending(items, done))
        return done

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None
        self._drop_loop_connection()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            if first == CHECKPOINT:
                self._checkpoint()
                continue
            assert isinstance(first, Pending)
            batch = [first]
            size = len(first.items)
            stop = checkpoint = False
            while size < self.MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                if item == CHECKPOINT:
                    checkpoint = True
                    continue
                assert isinstance(item, Pending)
                batch.append(item)
                size += len(item.items)
            locked = self._write(batch)
            if locked is not None:
                stop = self._fail_queued(locked) or stop
            if checkpoint:
                self._checkpoint()
            if stop:
                return

    def _fail_queued(self, exc: BaseException) -> bool:
        """Fail every hand-over queued while a write waited for a lock it did not get: their requests answer 503
        now instead of waiting a whole busy timeout more. True when the stop sentinel was among them."""
        stop = False
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return stop
            if item is None:
                stop = True
            elif isinstance(item, Pending):
                item.done.set_exception(exc)

    def _checkpoint(self) -> None:
        """A passive WAL checkpoint (copies what no reader still needs; blocks neither readers nor writers)."""
        try:
            with self._engine_of().connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # the next one, or SQLite's own on the next thread commit, catches up
            log.warning("audit log: WAL checkpoint failed", exc_info=True)

    def _write(self, batch: list[Pending]) -> BaseException | None:
        """Append the batch in one transaction and settle its futures; the failure when it was a lock timeout."""
        try:
            with _LOCK, self._engine_of().begin() as conn:
                seqs = append_many_in(conn, self._secret, [item for p in batch for item in p.items])
        except Exception as exc:  # the whole batch failed: every request waiting on it fails (503)
            for p in batch:
                p.done.set_exception(exc)
            return exc if _locked(exc) else None
        start = 0
        for p in batch:
            p.done.set_result(seqs[start : start + len(p.items)])
            start += len(p.items)
        return None


def _settle(done: Future[int] | asyncio.Future[int], written: Any, index: int) -> None:
    """Resolve one entry's future from its hand-over's result (its sequence number) or failure."""
    exc = written.exception()
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(written.result()[index])
