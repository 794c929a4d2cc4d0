"""Append-only, hash-chained audit log of every read of a score or worklist (and every outcome recorded).

Each entry's hash is HMAC-SHA256(secret key, previous hash + canonical JSON of the entry), so ``verify`` detects an
edited entry (its hash no longer matches) and a deleted one (a gap in the sequence or a broken link).

``audit_head`` holds the newest sequence number and its seal, HMAC-SHA256(secret key, "audit-head:" + seq + ":" +
the newest entry's hash): deleting the newest entries and moving the head back needs the key. Anchors kept outside
the database (a JSON line per checkpoint in the anchor file, and the same line in the service's log: sequence
number, entry hash, time, seal) catch what the database alone cannot: a log wiped together with its head, or a chain
re-hashed by someone who holds the key (the development mode's built-in secret is public).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import queue
import threading
from concurrent.futures import Future
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
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


def seal(secret_key: bytes, seq: int, entry_hash: str) -> str:
    """The keyed seal of "entry ``seq`` is the newest and has hash ``entry_hash``" (the head's and an anchor's)."""
    return hmac.new(secret_key, f"audit-head:{seq}:{entry_hash}".encode(), hashlib.sha256).hexdigest()


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
_HEAD = Prepared(sa.select(audit_head.c.seq).where(audit_head.c.id == 1))
_LINK = Prepared(sa.select(audit_log.c.hash).where(audit_log.c.seq == sa.bindparam("seq")))
_INSERT = Prepared(sa.insert(audit_log).values({c.name: sa.bindparam(c.name) for c in audit_log.columns}))
_MOVE = Prepared(sa.update(audit_head).where(audit_head.c.id == 1).values(hash=sa.bindparam("hash")))


def append_many_in(conn: Connection, secret_key: bytes, items: list[Appended]) -> list[int]:
    """Append ``items`` in order inside the caller's transaction; returns their sequence numbers. Five statements
    whatever the number of items: the head is claimed (which takes the write lock on SQLite, the row lock on
    PostgreSQL) and read, the previous newest entry's hash read, the entries inserted in one executemany, and the
    head moved to the last one with its seal."""
    n = len(items)
    if _CLAIM.execute(conn, n=n) == 0:
        _START.execute(conn, n=n)
    seq = int(_HEAD.rows(conn)[0][0])
    first = seq - n + 1
    link = _LINK.rows(conn, seq=first - 1) if first > 1 else []
    prev = str(link[0][0]) if link else GENESIS  # no previous entry: a first entry, or a broken log verify reports
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
    _MOVE.execute(conn, hash=seal(secret_key, first + n - 1, prev))
    return list(range(first, first + n))


@dataclass(frozen=True)
class Anchor:
    """A checkpoint of the chain kept outside the database: entry ``seq`` had hash ``hash`` at time ``at``."""

    seq: int
    hash: str
    at: str  # ISO UTC time the anchor was taken
    seal: str  # seal(secret key, seq, hash)

    def line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


def newest_anchor(conn: Connection, secret_key: bytes) -> Anchor | None:
    """The newest entry as an anchor; None while the log is empty."""
    row = conn.execute(sa.select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
    if row is None:
        return None
    return Anchor(int(row.seq), str(row.hash), now_iso(), seal(secret_key, int(row.seq), str(row.hash)))


def append_anchor(path: Path, anchor: Anchor) -> None:
    """Append ``anchor`` as one JSON line (one write on an O_APPEND descriptor: processes sharing the file do not
    interleave lines), synced to disk before returning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (anchor.line() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_anchors(path: Path) -> tuple[list[Anchor], list[str]]:
    """The anchors of an anchor file and a problem per line that is not one (a file that does not exist: none)."""
    anchors: list[Anchor] = []
    problems: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return anchors, problems
    except (OSError, UnicodeDecodeError) as exc:
        return anchors, [f"the anchor file {path} cannot be read ({exc.__class__.__name__})"]
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
            anchors.append(Anchor(int(fields["seq"]), str(fields["hash"]), str(fields["at"]), str(fields["seal"])))
        except (ValueError, KeyError, TypeError):
            problems.append(f"anchor file line {number} is not an anchor")
    return anchors, problems


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    problems: list[str]
    warnings: list[str] = field(default_factory=list)  # limits of what this verification can detect


def verify(engine: Engine, secret_key: bytes, anchors: list[Anchor] | None = None) -> Verification:
    """Walk the chain from the first entry; every edit, deletion or insertion shows up as a problem, and so does a
    head whose seal does not match the newest entry. Each of ``anchors`` (None: no anchor file was given) must
    name an entry that is still there with the hash it had: a shortened, wiped or re-hashed log fails."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    count = 0
    anchored: dict[int, list[Anchor]] = {}
    for anchor in anchors or ():
        if not hmac.compare_digest(anchor.seal, seal(secret_key, anchor.seq, anchor.hash)):
            problems.append(f"anchor of entry {anchor.seq} taken {anchor.at} does not carry this key's seal")
        else:
            anchored.setdefault(anchor.seq, []).append(anchor)
    with engine.connect() as conn:
        # the head first: entries appended while the walk runs come after it and are checked as links only
        head = conn.execute(sa.select(audit_head).where(audit_head.c.id == 1)).first()
        head_hash = None  # the hash of the entry the head names
        for row in conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).yield_per(5000):
            count += 1
            if row.seq != expected_seq:
                problems.append(f"entries {expected_seq}..{row.seq - 1} are missing")
            if row.prev_hash != prev:
                problems.append(f"entry {row.seq}: link to the previous entry is broken")
            if _digest(secret_key, row.prev_hash, _entry(row)) != row.hash:
                problems.append(f"entry {row.seq}: content does not match its hash (edited)")
            for anchor in anchored.pop(row.seq, ()):
                if anchor.hash != row.hash:
                    problems.append(f"entry {row.seq} differs from its anchor taken {anchor.at} (chain rewritten)")
            if head is not None and row.seq == head.seq:
                head_hash = row.hash
            prev = row.hash
            expected_seq = row.seq + 1
    last = expected_seq - 1
    if head is None:
        if count:
            problems.append("the chain head is missing")
    elif head.seq > last or head_hash is None:
        problems.append(f"the chain ends at entry {last} but its head says {head.seq} (entries deleted)")
    elif not hmac.compare_digest(head.hash, seal(secret_key, head.seq, head_hash)):
        unsealed = head.hash == head_hash  # the form of a head written before heads were sealed, and of a moved one
        problems.append(
            f"the chain head at entry {head.seq} carries no seal: entries after it were deleted and the head moved, "
            "or it was written by an older version (`tracerisk audit seal` seals it once that is established)"
            if unsealed
            else f"the chain head's seal does not match entry {head.seq} (the head was moved: entries deleted)"
        )
    if anchored:
        newest = max(anchored)
        problems.append(
            f"{len(anchored)} anchored entries are gone, the newest {newest} (anchored {anchored[newest][-1].at}); "
            f"the log ends at entry {last} (entries deleted)"
        )
    warnings = []
    if anchors is None or not anchors:
        warnings.append(
            "no anchor checked: a log wiped together with its head, or one re-hashed with the key, is not detected"
        )
    return Verification(not problems, count, problems, warnings)


def seal_head(engine: Engine, secret_key: bytes) -> None:
    """Write the head's seal for the newest entry (a store whose head was written before heads were sealed)."""
    with engine.begin() as conn:
        anchor = newest_anchor(conn, secret_key)
        if anchor is not None:
            conn.execute(sa.update(audit_head).where(audit_head.c.id == 1).values(seq=anchor.seq, hash=anchor.seal))


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

    On a SQLite store the loop writes a gathered batch itself, on a connection of its own, when the audit log's
    write lock is free at once (busy timeout 0: a WAL commit without fsync, tens of microseconds): no thread
    hand-off, and no contention for the GIL between the writer thread and the reads. The audit log lives in the
    service database (service.store.service_database), so a publishing score run, which holds the store's lock,
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


def take_anchor(engine: Engine, secret_key: bytes, path: Path, after: int = 0) -> Anchor | None:
    """Append the newest entry to the anchor file at ``path`` and to the log, when it is newer than entry
    ``after``; the anchor taken, or None."""
    with engine.connect() as conn:
        anchor = newest_anchor(conn, secret_key)
    if anchor is None or anchor.seq <= after:
        return None
    append_anchor(path, anchor)
    log.info("audit anchor %s", anchor.line())
    return anchor


class AnchorKeeper:
    """A thread that takes an anchor every ``interval_s`` seconds while the log grows, and one more on stop."""

    def __init__(self, engine_of: Any, secret_key: bytes, path: Path, interval_s: float) -> None:
        self._engine_of = engine_of  # callable returning the current engine (the store may reconnect)
        self._secret = secret_key
        self.path = path
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = 0  # sequence number of the newest anchor this keeper took

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="audit-anchor", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None
        self.take()

    def take(self) -> None:
        try:
            anchor = take_anchor(self._engine_of(), self._secret, self.path, self._last)
        except Exception:  # the store or the file is unavailable: the next interval tries again
            log.warning("audit anchor not taken", exc_info=True)
            return
        if anchor is not None:
            self._last = anchor.seq

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.take()
