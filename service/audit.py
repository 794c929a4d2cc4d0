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

import hashlib
import hmac
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.records import fields_of
from store.prepared import Prepared
from store.tables import audit_head, audit_log, now_iso

log = logging.getLogger("tracerisk.audit")

GENESIS = "0" * 64


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


ENTRY_FIELDS = ("seq", "at", "actor", "role", "action", "entity_type", "entity_id", "detail")  # what is hashed


def _entry(row: Any) -> dict[str, Any]:
    return fields_of(row, ENTRY_FIELDS)


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
