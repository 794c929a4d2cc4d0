"""The audit writer's group commit (service/audit.py): entries handed over from the event loop and from threads
land in one unbroken hash chain, each request learns its own sequence number, and a failed write fails every
request that waited on it (the route answers 503) without breaking the chain for the next ones."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service import audit
from service.store import audit_log, connect

KEY = b"audit-test-key-0123456789abcdef"


def _engine(tmp_path: Path) -> sa.Engine:
    return connect(f"sqlite:///{tmp_path / 'serving.db'}")


def test_async_and_thread_entries_form_one_chain(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    writer = audit.AuditWriter(lambda: engine, KEY)
    from_threads: list[int] = []

    def thread_reads(n: int) -> None:
        for i in range(n):
            from_threads.append(
                writer.submit(("worker", "admin", "worklist.read", "employer", None, {"i": i})).result(30)
            )

    async def loop_reads(n: int) -> list[int]:
        return list(
            await asyncio.gather(
                *(
                    writer.append_async(("inspector", "labour_inspectorate", "entity.read", "employer", f"E{i}", None))
                    for i in range(n)
                )
            )
        )

    side = threading.Thread(target=thread_reads, args=(40,))
    side.start()
    from_loop = asyncio.run(loop_reads(300))
    side.join()
    asyncio.run(loop_reads(5))  # a second event loop (a restarted server) starts from a clean slate
    writer.close()

    seqs = from_loop + from_threads
    assert sorted(seqs) == list(range(1, 341))  # every request got its own number, none lost or shared
    check = audit.verify(engine, KEY)
    assert check.ok and check.entries == 345, check.problems
    with engine.connect() as conn:
        by_seq = {r.seq: r.entity_id for r in conn.execute(sa.select(audit_log.c.seq, audit_log.c.entity_id))}
    assert [by_seq[s] for s in from_loop] == [f"E{i}" for i in range(300)]  # each number is that request's entry


def test_a_failed_write_fails_its_waiters_and_the_next_write_succeeds(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    broken = {"now": True}

    def engine_of() -> Any:
        if broken["now"]:
            raise sa.exc.OperationalError("connect", {}, Exception("store down"))
        return engine

    writer = audit.AuditWriter(engine_of, KEY)

    async def reads(n: int) -> list[Any]:
        return list(
            await asyncio.gather(
                *(writer.append_async(("u", "admin", "entity.read", "employer", f"E{i}", None)) for i in range(n)),
                return_exceptions=True,
            )
        )

    failed = asyncio.run(reads(20))
    assert all(isinstance(r, sa.exc.OperationalError) for r in failed)
    with pytest.raises(sa.exc.OperationalError):
        writer.submit(("u", "admin", "worklist.read", None, None, None)).result(30)

    broken["now"] = False
    assert asyncio.run(reads(3)) == [1, 2, 3]  # nothing was half-written: the chain starts at 1
    writer.close()
    assert audit.verify(engine, KEY).ok


def test_entry_hash_is_the_documented_hmac_of_canonical_json(tmp_path: Path) -> None:
    """Chains written before stay verifiable: an entry's hash is HMAC-SHA256(key, previous hash + json.dumps(entry,
    sort_keys=True, separators=(",", ":"))), its detail json.dumps(detail, sort_keys=True), whatever encoder the
    writer uses."""
    import hashlib
    import hmac
    import json

    engine = _engine(tmp_path)
    detail = {"z": 1.5e-7, "a": 'é\u2028"', "n": None}
    with engine.begin() as conn:
        audit.append_in(conn, KEY, "Inspector Ä", "labour_inspectorate", "entity.read", "employer", "E1", detail)
        audit.append_in(conn, KEY, "admin", "admin", "audit.read")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).all()
    prev = audit.GENESIS
    for row, expected_detail in zip(rows, (json.dumps(detail, sort_keys=True), "{}"), strict=True):
        assert row.detail == expected_detail
        entry = {k: getattr(row, k) for k in ("seq", "at", "actor", "role", "action", "entity_type", "entity_id")}
        body = json.dumps({**entry, "detail": row.detail}, sort_keys=True, separators=(",", ":"))
        assert row.prev_hash == prev
        assert row.hash == hmac.new(KEY, (prev + body).encode(), hashlib.sha256).hexdigest()
        prev = row.hash
    assert audit.verify(engine, KEY).ok
    engine.dispose()


def test_loop_writes_itself_and_hands_over_when_the_lock_is_taken(tmp_path: Path) -> None:
    """On SQLite the loop commits a gathered batch on its own connection (no writer thread started); while another
    connection (another process, a publishing score run) holds the write lock the batch goes to the writer thread,
    which waits for the lock, and the loop goes on serving meanwhile."""
    import sqlite3

    engine = _engine(tmp_path)
    writer = audit.AuditWriter(lambda: engine, KEY)

    async def read(i: int) -> int:
        return await writer.append_async(("u", "admin", "entity.read", "employer", f"E{i}", None))

    async def scenario() -> tuple[list[int], int, list[int]]:
        first = list(await asyncio.gather(*(read(i) for i in range(10))))
        assert writer._thread is None  # written on the loop
        other = sqlite3.connect(tmp_path / "serving.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the write lock, held elsewhere
        waiting = asyncio.ensure_future(read(10))
        ticks = 0
        for _ in range(20):  # the loop is not blocked while the entry waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert not waiting.done()
        other.execute("ROLLBACK")
        other.close()
        late = await asyncio.wait_for(waiting, 30)
        after = list(await asyncio.gather(*(read(i) for i in range(11, 14))))
        return first, late, [ticks, *after]

    first, late, (ticks, *after) = asyncio.run(scenario())
    writer.close()
    assert ticks == 20 and first == list(range(1, 11)) and late == 11 and after == [12, 13, 14]
    check = audit.verify(engine, KEY)
    assert check.ok and check.entries == 14, check.problems
    engine.dispose()


def test_loop_commits_are_checkpointed_by_the_writer_thread(tmp_path: Path, monkeypatch: Any) -> None:
    """The loop's connection never checkpoints (a checkpoint syncs the file); every CHECKPOINT_EVERY loop commits
    the writer thread runs a passive one, and the WAL's frames all reach the database."""
    engine = _engine(tmp_path)
    writer = audit.AuditWriter(lambda: engine, KEY)
    monkeypatch.setattr(writer, "CHECKPOINT_EVERY", 5)
    ran: list[int] = []
    checkpoint = writer._checkpoint
    monkeypatch.setattr(writer, "_checkpoint", lambda: (ran.append(1), checkpoint()))

    async def reads() -> None:
        for i in range(20):  # one commit each: nothing else gathers with them
            await writer.append_async(("u", "admin", "entity.read", "employer", f"E{i}", None))

    asyncio.run(reads())
    assert writer._loop_conn is not None
    assert writer._loop_conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    writer.close()  # the queue is drained first: every checkpoint asked for has run
    assert len(ran) == 4
    with engine.connect() as conn:
        busy, frames, done = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    assert busy == 0 and frames == done
    assert audit.verify(engine, KEY).ok
    engine.dispose()
