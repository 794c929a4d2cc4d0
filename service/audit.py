"""Append-only, hash-chained audit log of every read of a score or worklist (and every outcome recorded).

Each entry's hash is HMAC-SHA256(secret key, previous hash + canonical JSON of the entry), and ``audit_head``
holds the newest link, so ``verify`` detects an edited entry (its hash no longer matches), a deleted one (a gap
in the sequence or a broken link) and deleted newest entries (the head no longer matches the last entry).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.store import audit_head, audit_log, now_iso

GENESIS = "0" * 64
_LOCK = threading.Lock()  # one writer per process; the head row update serialises processes


def _digest(secret_key: bytes, prev_hash: str, entry: dict[str, Any]) -> str:
    body = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(secret_key, (prev_hash + body).encode(), hashlib.sha256).hexdigest()


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


def append(
    engine: Engine,
    secret_key: bytes,
    actor: str,
    role: str,
    action: str,
    entity_type: str | None = None,
    entity_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry; returns its sequence number."""
    with _LOCK, engine.begin() as conn:
        return append_in(conn, secret_key, actor, role, action, entity_type, entity_id, detail)


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
    # Write first (takes the write lock on SQLite, the row lock on PostgreSQL), then read the head we now own.
    bumped = conn.execute(sa.update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq + 1))
    if bumped.rowcount == 0:
        conn.execute(sa.insert(audit_head).values(id=1, seq=1, hash=GENESIS))
    head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).one()
    entry = {
        "seq": int(head.seq),
        "at": now_iso(),
        "actor": actor,
        "role": role,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "detail": json.dumps(detail or {}, sort_keys=True, default=str),
    }
    digest = _digest(secret_key, head.hash, entry)
    conn.execute(sa.insert(audit_log).values(**entry, prev_hash=head.hash, hash=digest))
    conn.execute(sa.update(audit_head).where(audit_head.c.id == 1).values(hash=digest))
    return int(head.seq)


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
    actor: str
    role: str
    action: str
    entity_type: str | None
    entity_id: str | None
    detail: dict[str, Any]
    done: Future[int]


class AuditWriter:
    """Group commit: requests hand their entries to one writer thread, which appends everything pending in one
    transaction and then resolves each entry's future. A request answers only after its entry is committed, so
    every read is still audited before the score leaves the service; the commit cost is shared."""

    MAX_BATCH = 500

    def __init__(self, engine_of: Any, secret_key: bytes) -> None:
        self._engine_of = engine_of  # callable returning the current engine (the store may reconnect)
        self._secret = secret_key
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(
        self,
        actor: str,
        role: str,
        action: str,
        entity_type: str | None = None,
        entity_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Future[int]:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                    self._thread.start()
        done: Future[int] = Future()
        self._queue.put(Pending(actor, role, action, entity_type, entity_id, detail or {}, done))
        return done

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[Pending]) -> None:
        try:
            with _LOCK, self._engine_of().begin() as conn:
                seqs = [
                    append_in(conn, self._secret, p.actor, p.role, p.action, p.entity_type, p.entity_id, p.detail)
                    for p in batch
                ]
        except Exception as exc:  # the whole batch failed: every request waiting on it fails (503)
            for p in batch:
                p.done.set_exception(exc)
            return
        for p, seq in zip(batch, seqs, strict=True):
            p.done.set_result(seq)
