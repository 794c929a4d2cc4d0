"""Append-only, hash-chained audit log of every read of a score or worklist (and every outcome recorded).

Each entry's hash is HMAC-SHA256(secret key, previous hash + canonical JSON of the entry), and ``audit_head``
holds the newest link, so ``verify`` detects an edited entry (its hash no longer matches), a deleted one (a gap
in the sequence or a broken link) and deleted newest entries (the head no longer matches the last entry).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import queue
import threading
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.store import Prepared, audit_head, audit_log, now_iso

log = logging.getLogger("tracerisk.audit")

GENESIS = "0" * 64
_LOCK = threading.Lock()  # one writer per process; the head row update serialises processes


# The canonical JSON of an entry (what its hash covers): json.dumps(entry, sort_keys=True, separators=(",", ":"),
# default=str), from one encoder built once (json.dumps builds a new one per call when given options).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
_DETAIL = json.JSONEncoder(sort_keys=True, default=str)  # json.dumps(detail, sort_keys=True, default=str)


def _digest(secret_key: bytes, prev_hash: str, entry: dict[str, Any]) -> str:
    # hmac.new, not the one-shot hmac.digest: that releases the GIL around OpenSSL's HMAC, and the writer thread
    # then waits for the event loop to hand it back once per entry
    return hmac.new(secret_key, (prev_hash + _CANONICAL.encode(entry)).encode(), hashlib.sha256).hexdigest()


def _entry(row: Any) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at,
        "actor": row.actor,
        "role": row.role,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "detail": row.detail,
    }


def append_in(
    conn: Connection,
    secret_key: bytes,
    actor: str,
    role: str,
    action: str,
    entity_type: str | None = None,
    entity_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    return append_many_in(conn, secret_key, [(actor, role, action, entity_type, entity_id, detail)])[0]


Appended = tuple[str, str, str, str | None, str | None, dict[str, Any] | None]  # actor, role, action, type, id, detail


# The append's statements, compiled once per dialect (an audited read appends one entry: this is on its path).
_CLAIM = Prepared(
    sa.update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq + sa.bindparam("n", type_=sa.Integer))
)
_START = Prepared(sa.insert(audit_head).values(id=1, seq=sa.bindparam("n"), hash=GENESIS))
_HEAD = Prepared(sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1))
_INSERT = Prepared(sa.insert(audit_log).values({c.name: sa.bindparam(c.name) for c in audit_log.columns}))
_MOVE = Prepared(sa.update(audit_head).where(audit_head.c.id == 1).values(hash=sa.bindparam("hash")))


def append_many_in(conn: Connection, secret_key: bytes, items: list[Appended]) -> list[int]:
    """Append ``items`` in order inside the caller's transaction; returns their sequence numbers. Four statements
    whatever the number of items: the head is claimed (which takes the write lock on SQLite, the row lock on
    PostgreSQL) and read, the entries are inserted in one executemany, and the head moves to the last one."""
    n = len(items)
    if _CLAIM.execute(conn, n=n) == 0:
        _START.execute(conn, n=n)
    seq, prev = _HEAD.rows(conn)[0]
    first = int(seq) - n + 1
    at = now_iso()
    rows = []
    for number, (actor, role, action, entity_type, entity_id, detail) in enumerate(items, start=first):
        entry = {
            "seq": number,
            "at": at,
            "actor": actor,
            "role": role,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "detail": _DETAIL.encode(detail) if detail else "{}",
        }
        digest = _digest(secret_key, prev, entry)
        rows.append({**entry, "prev_hash": prev, "hash": digest})
        prev = digest
    _INSERT.execute_many(conn, rows)
    _MOVE.execute(conn, hash=prev)
    return list(range(first, first + n))


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    problems: list[str]


def verify(engine: Engine, secret_key: bytes) -> Verification:
    """Walk the chain from the first entry; every edit, deletion or insertion shows up as a problem."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    count = 0
    with engine.connect() as conn:
        for row in conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).yield_per(5000):
            count += 1
            if row.seq != expected_seq:
                problems.append(f"entries {expected_seq}..{row.seq - 1} are missing")
            if row.prev_hash != prev:
                problems.append(f"entry {row.seq}: link to the previous entry is broken")
            if _digest(secret_key, row.prev_hash, _entry(row)) != row.hash:
                problems.append(f"entry {row.seq}: content does not match its hash (edited)")
            prev = row.hash
            expected_seq = row.seq + 1
        head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).first()
    if head is None:
        if count:
            problems.append("the chain head is missing")
    elif head.seq != expected_seq - 1 or head.hash != prev:
        problems.append(f"the chain ends at entry {expected_seq - 1} but its head says {head.seq} (entries deleted)")
    return Verification(not problems, count, problems)


def entries(engine: Engine, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
    """Newest entries first (for GET /v1/audit)."""
    query = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(audit_log.c.seq < before)
    with engine.connect() as conn:
        return [{**_entry(r), "detail": json.loads(r.detail), "hash": r.hash} for r in conn.execute(query)]


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

    On a SQLite store the loop writes a gathered batch itself, on a connection of its own, when the write lock is
    free at once (busy timeout 0: a WAL commit without fsync, tens of microseconds): no thread hand-off, and no
    contention for the GIL between the writer thread and the reads. When the lock is taken (the writer thread, or
    another process such as a publishing score run) the batch goes to the writer thread, which waits for it, so
    the loop never blocks on a lock. That connection never checkpoints (a checkpoint syncs the database file);
    every CHECKPOINT_EVERY loop commits the writer thread runs a passive checkpoint instead."""

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
            self._write(batch)
            if checkpoint:
                self._checkpoint()
            if stop:
                return

    def _checkpoint(self) -> None:
        """A passive WAL checkpoint (copies what no reader still needs; blocks neither readers nor writers)."""
        try:
            with self._engine_of().connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # the next one, or SQLite's own on the next thread commit, catches up
            log.warning("audit log: WAL checkpoint failed", exc_info=True)

    def _write(self, batch: list[Pending]) -> None:
        try:
            with _LOCK, self._engine_of().begin() as conn:
                seqs = append_many_in(conn, self._secret, [item for p in batch for item in p.items])
        except Exception as exc:  # the whole batch failed: every request waiting on it fails (503)
            for p in batch:
                p.done.set_exception(exc)
            return
        start = 0
        for p in batch:
            p.done.set_result(seqs[start : start + len(p.items)])
            start += len(p.items)


def _settle(done: Future[int] | asyncio.Future[int], written: Any, index: int) -> None:
    """Resolve one entry's future from its hand-over's result (its sequence number) or failure."""
    exc = written.exception()
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(written.result()[index])
