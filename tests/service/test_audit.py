"""The audit writer's group commit (service/audit_writer.py): entries handed over from the event loop and from
threads land in one unbroken hash chain, each request learns its own sequence number, and a failed write fails every
request that waited on it (the route answers 503) without breaking the chain for the next ones."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service import audit, audit_writer
from store.engine import connect, service_database
from store.tables import audit_head, audit_log

KEY = b"audit-test-key-0123456789abcdef"


def _engine(tmp_path: Path) -> sa.Engine:
    return connect(f"sqlite:///{tmp_path / 'serving.db'}")


def test_async_and_thread_entries_form_one_chain(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    writer = audit_writer.AuditWriter(lambda: engine, KEY)
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

    writer = audit_writer.AuditWriter(engine_of, KEY)

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
    connection (another process) holds the audit log's write lock the batch goes to the writer thread,
    which waits for the lock, and the loop goes on serving meanwhile."""
    import sqlite3

    engine = _engine(tmp_path)
    writer = audit_writer.AuditWriter(lambda: engine, KEY)

    async def read(i: int) -> int:
        return await writer.append_async(("u", "admin", "entity.read", "employer", f"E{i}", None))

    async def scenario() -> tuple[list[int], int, list[int]]:
        first = list(await asyncio.gather(*(read(i) for i in range(10))))
        assert writer._thread is None  # written on the loop
        other = sqlite3.connect(service_database(str(tmp_path / "serving.db")), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the audit log's write lock, held elsewhere
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
    writer = audit_writer.AuditWriter(lambda: engine, KEY)
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


# --- truncation, wiping and re-hashing ------------------------------------------------------------------------------


def _chain(engine: sa.Engine, entries: int, key: bytes = KEY, actor: str = "u") -> None:
    """``entries`` entries in batches of 100, as the writer appends them."""
    for start in range(0, entries, 100):
        with engine.begin() as conn:
            items = [(actor, "admin", "entity.read", "employer", f"E{i}", None) for i in range(start, start + 100)]
            audit.append_many_in(conn, key, items[: entries - start])


def _cut_after(engine: sa.Engine, seq: int) -> None:
    """What someone with write access to the database and without the key can do: delete the newest entries and
    move the head to the new last entry, copying its sequence number and hash."""
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq > seq))
        kept = conn.execute(sa.select(audit_log.c.hash).where(audit_log.c.seq == seq)).scalar_one()
        conn.execute(sa.update(audit_head).values(seq=seq, hash=kept))


def test_deleting_the_newest_entries_and_moving_the_head_is_detected(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _chain(engine, 600)
    assert audit.verify(engine, KEY).ok
    _cut_after(engine, 100)
    check = audit.verify(engine, KEY)
    assert not check.ok and check.entries == 100
    assert any("head at entry 100 carries no seal" in p for p in check.problems), check.problems
    with engine.begin() as conn:  # a head moved with a made-up seal
        conn.execute(sa.update(audit_head).values(hash="ab" * 32))
    assert any("seal does not match entry 100" in p for p in audit.verify(engine, KEY).problems)
    engine.dispose()


def test_a_wiped_log_is_detected_only_by_an_anchor(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    anchors = tmp_path / "outside" / "anchors.jsonl"
    _chain(engine, 250)
    taken = audit.take_anchor(engine, KEY, anchors)
    assert taken is not None and taken.seq == 250
    assert audit.take_anchor(engine, KEY, anchors, after=250) is None  # nothing new: no line
    found, unreadable = audit.read_anchors(anchors)
    assert found == [taken] and not unreadable
    assert audit.verify(engine, KEY, found).ok
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_log))
        conn.execute(sa.delete(audit_head))
    without = audit.verify(engine, KEY)
    assert without.ok and without.entries == 0 and without.warnings  # the database alone cannot tell, and says so
    check = audit.verify(engine, KEY, found)
    assert not check.ok and any("newest 250" in p and "ends at entry 0" in p for p in check.problems)
    engine.dispose()


def test_a_chain_rehashed_with_the_key_is_caught_by_its_anchor(tmp_path: Path) -> None:
    """Whoever holds the key (anyone, with the development mode's built-in secret) can rewrite the log so that it
    verifies; an anchor taken before keeps the entry's old hash."""
    engine = _engine(tmp_path)
    anchors = tmp_path / "anchors.jsonl"
    _chain(engine, 30)
    audit.take_anchor(engine, KEY, anchors)
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_log))
        conn.execute(sa.delete(audit_head))
    _chain(engine, 30, actor="someone else")  # the entries rewritten: every hash differs
    assert audit.verify(engine, KEY).ok
    check = audit.verify(engine, KEY, audit.read_anchors(anchors)[0])
    assert not check.ok and any("entry 30 differs from its anchor" in p for p in check.problems), check.problems
    forged = audit.Anchor(30, "0" * 64, "2026-01-01T00:00:00+00:00", "f" * 64)
    assert any("does not carry this key's seal" in p for p in audit.verify(engine, KEY, [forged]).problems)
    engine.dispose()


def test_the_anchor_keeper_anchors_while_the_log_grows(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    anchors = tmp_path / "anchors.jsonl"
    keeper = audit.AnchorKeeper(lambda: engine, KEY, anchors, interval_s=0.05)
    keeper.start()
    _chain(engine, 10)
    deadline = time.monotonic() + 10
    while not anchors.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    _chain(engine, 5)  # entries 11..15
    keeper.stop()  # a last anchor for what was written since
    seqs = [a.seq for a in audit.read_anchors(anchors)[0]]
    assert seqs[0] == 10 and seqs[-1] == 15 and seqs == sorted(set(seqs))  # one line per new head, none repeated
    assert audit.verify(engine, KEY, audit.read_anchors(anchors)[0]).ok
    engine.dispose()


def _cli(home: Path, *args: str, secret: str | None = None) -> Any:
    from typer.testing import CliRunner

    from flows.cli import app as cli

    env = {"TRACERISK_HOME": str(home)}
    if secret is not None:
        env.update(TRACERISK_SECRET_KEY=secret, TRACERISK_MODE="production")
    return CliRunner().invoke(cli, list(args), env=env)


def test_cli_verify_checks_the_anchor_file_and_warns_about_the_builtin_secret(tmp_path: Path) -> None:
    from service.settings import DEFAULT_SECRET

    engine = _engine(tmp_path)
    _chain(engine, 120, DEFAULT_SECRET.encode())
    anchored = _cli(tmp_path, "audit", "anchor")
    assert anchored.exit_code == 0 and '"seq":120' in anchored.output
    intact = _cli(tmp_path, "audit", "verify")
    assert intact.exit_code == 0 and "audit log intact: 120 entries" in intact.output
    assert "warning: the built-in development secret is public" in intact.output
    _cut_after(engine, 20)
    broken = _cli(tmp_path, "audit", "verify")
    assert broken.exit_code == 1 and "newest 120" in broken.output and "BROKEN" in broken.output
    engine.dispose()

    own = "an-operator-secret-of-more-than-32-characters"
    other = tmp_path / "other"
    other.mkdir()
    engine = _engine(other)
    _chain(engine, 5, own.encode())
    result = _cli(other, "audit", "verify", secret=own)
    assert result.exit_code == 0 and "built-in" not in result.output
    assert "warning: no anchor checked" in result.output
    engine.dispose()


def test_a_head_written_before_sealing_is_reported_and_sealed_on_request(tmp_path: Path) -> None:
    own = "an-operator-secret-of-more-than-32-characters"
    engine = _engine(tmp_path)
    _chain(engine, 7, own.encode())
    _cut_after(engine, 7)  # the head as older versions wrote it: the newest entry's own hash
    check = audit.verify(engine, own.encode())
    assert len(check.problems) == 1 and "head at entry 7 carries no seal" in check.problems[0]
    result = _cli(tmp_path, "audit", "seal", secret=own)
    assert result.exit_code == 0 and "sealed" in result.output
    assert audit.verify(engine, own.encode()).ok
    with engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 2).values(actor="x"))
    refused = _cli(tmp_path, "audit", "seal", secret=own)
    assert refused.exit_code == 1 and "entry 2" in refused.output
    engine.dispose()


def test_an_unreadable_anchor_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    broken = tmp_path / "anchors.jsonl"
    broken.write_bytes(b"\xff\xfe not text")
    found, problems = audit.read_anchors(broken)
    assert found == [] and problems == [f"the anchor file {broken} cannot be read (UnicodeDecodeError)"]
    broken.write_text('{"seq": 1}\n\n{"seq": 2, "hash": "x", "at": "t", "seal": "s"}\n', encoding="utf-8")
    found, problems = audit.read_anchors(broken)
    assert [a.seq for a in found] == [2] and problems == ["anchor file line 1 is not an anchor"]
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert audit.read_anchors(folder)[1] == [f"the anchor file {folder} cannot be read (IsADirectoryError)"]


def test_entries_queued_behind_a_lock_timeout_fail_with_it(tmp_path: Path) -> None:
    """While another process holds the write lock past the busy timeout, the entry being written fails, and so do
    those handed over meanwhile (their requests answer 503 at once instead of waiting a second timeout); the next
    entry after the lock is released is written."""
    import sqlite3

    from store.engine import make_engine

    connect(f"sqlite:///{tmp_path / 'serving.db'}").dispose()  # migrated
    engine = make_engine(f"sqlite:///{tmp_path / 'serving.db'}", busy_timeout_ms=800)
    writer = audit_writer.AuditWriter(lambda: engine, KEY)
    holder = sqlite3.connect(service_database(str(tmp_path / "serving.db")), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the audit log's write lock
    started = time.monotonic()
    first = writer.submit(("u", "admin", "entity.read", "employer", "E1", None))
    time.sleep(0.3)  # the writer thread now waits for the lock
    second = writer.submit(("u", "admin", "entity.read", "employer", "E2", None))
    with pytest.raises(sa.exc.OperationalError, match="locked"):
        first.result(10)
    with pytest.raises(sa.exc.OperationalError, match="locked"):
        second.result(10)
    took = time.monotonic() - started
    assert took < 1.4, took  # one busy timeout (0.8 s), not two
    holder.execute("ROLLBACK")
    holder.close()
    assert writer.submit(("u", "admin", "entity.read", "employer", "E3", None)).result(10) == 1
    writer.close()
    check = audit.verify(engine, KEY)
    assert check.ok and check.entries == 1
    engine.dispose()
