"""The lake under ``$TRACERISK_HOME``: immutable Parquet files of accepted and quarantined rows, one per
batch, and a DuckDB catalogue (``lake.duckdb``) whose batch ledger says which files are committed.

Crash safety: a batch's files are written under their final names first, then one ledger row commits
them. Readers only ever see files named in committed ledger rows, so a run killed half-way leaves the
lake exactly as it was before that batch; the orphan files are removed on the next run.

Versions: a record is identified by (source, record_id). An accepted row whose content differs from the
latest version supersedes it (both stay in the lake: the history); an identical row adds nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_contracts.atomic import write_atomically
from data_contracts.contracts import CONTRACTS
from data_contracts.home import Home
from data_contracts.sql_text import literal_list

LEDGER_COLUMNS = (
    "seq INTEGER PRIMARY KEY",
    "batch_id VARCHAR NOT NULL",
    "status VARCHAR NOT NULL",
    "source_format VARCHAR",
    "file VARCHAR NOT NULL",
    "record_type VARCHAR",
    "read BIGINT",
    "accepted BIGINT",
    "new BIGINT",
    "superseding BIGINT",
    "unchanged BIGINT",
    "quarantined BIGINT",
    "reasons VARCHAR",
    "unknown_columns VARCHAR",
    "notes VARCHAR",
    "error VARCHAR",
    "gx_success BOOLEAN",
    "lake_file VARCHAR",
    "quarantine_file VARCHAR",
    "ingested_at TIMESTAMP",
)


# QUALIFY condition keeping the latest ingested version of each record (source, record_id).
LATEST_VERSION = "row_number() OVER (PARTITION BY source, record_id ORDER BY _ingest_seq DESC) = 1"


class LakeBusy(RuntimeError):
    """Another process holds the lake catalogue."""


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    batch_id: str
    status: str  # committed | unusable
    file: str
    record_type: str
    read: int
    accepted: int
    new: int
    superseding: int
    unchanged: int
    quarantined: int
    reasons: dict[str, int]
    error: str | None


def _crash_point(name: str) -> None:
    """Tests kill the process here (TRACERISK_TEST_CRASH_AT=name) to prove crash safety."""
    if os.environ.get("TRACERISK_TEST_CRASH_AT") == name:
        os._exit(137)


class Lake:
    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.layout.lake_catalogue))
        except duckdb.IOException as exc:
            raise LakeBusy(f"the lake at {home} is in use by another process ({exc})") from exc
        self.con.execute(f"CREATE TABLE IF NOT EXISTS batches ({', '.join(LEDGER_COLUMNS)})")
        # Latest content hash per record, one table per record type: what classify() compares against.
        for record_type in CONTRACTS:
            self.con.execute(
                f"CREATE TABLE IF NOT EXISTS index_{record_type} "
                "(source VARCHAR, record_id VARCHAR, row_hash UBIGINT, seq INTEGER)"
            )

    @property
    def layout(self) -> Home:
        """The folders and files under this lake's home."""
        return Home(self.home)

    def close(self) -> None:
        self.con.close()

    # ---------------------------------------------------------------- ledger
    def committed(self, batch_id: str) -> LedgerEntry | None:
        rows = self.con.execute(
            "SELECT * FROM batches WHERE batch_id = ? AND status = 'committed' ORDER BY seq LIMIT 1", [batch_id]
        ).fetchall()
        return self._entry(rows[0]) if rows else None

    def ledger(self) -> list[LedgerEntry]:
        return [self._entry(r) for r in self.con.execute("SELECT * FROM batches ORDER BY seq").fetchall()]

    def _entry(self, row: tuple[Any, ...]) -> LedgerEntry:
        names = [c.split()[0] for c in LEDGER_COLUMNS]
        d = dict(zip(names, row, strict=True))
        return LedgerEntry(
            d["seq"],
            d["batch_id"],
            d["status"],
            d["file"],
            d["record_type"] or "",
            d["read"] or 0,
            d["accepted"] or 0,
            d["new"] or 0,
            d["superseding"] or 0,
            d["unchanged"] or 0,
            d["quarantined"] or 0,
            json.loads(d["reasons"] or "{}"),
            d["error"],
        )

    def committed_formats(self) -> set[str]:
        """The source formats (``Source.name``) of the batches committed to the lake."""
        rows = self.con.execute("SELECT DISTINCT source_format FROM batches WHERE status = 'committed'").fetchall()
        return {str(r[0]) for r in rows if r[0]}

    def next_seq(self) -> int:
        rows = self.con.execute("SELECT coalesce(max(seq), 0) + 1 FROM batches").fetchall()
        return int(rows[0][0]) if rows else 1

    def files(self, record_type: str, kind: str = "lake_file") -> list[str]:
        rows = self.con.execute(
            f"SELECT {kind} FROM batches WHERE status = 'committed' AND record_type = ? "
            f"AND {kind} IS NOT NULL ORDER BY seq",
            [record_type],
        ).fetchall()
        return [str(self.home / r[0]) for r in rows]

    # ---------------------------------------------------------------- reading
    def versions_sql(self, record_type: str) -> str | None:
        """SQL over every accepted version of ``record_type`` (None when the lake has none)."""
        files = self.files(record_type)
        if not files:
            return None
        return f"SELECT * FROM read_parquet([{literal_list(files)}], union_by_name = true)"

    def current_sql(self, record_type: str) -> str | None:
        """SQL over the latest version of every record of ``record_type``."""
        versions = self.versions_sql(record_type)
        if versions is None:
            return None
        if not self.superseded(record_type):  # every record has one version: no need to pick the latest
            return versions
        return f"SELECT * FROM ({versions}) QUALIFY {LATEST_VERSION}"

    def superseded(self, record_type: str) -> bool:
        """Whether some record of ``record_type`` has more than one version in the lake."""
        rows = self.con.execute(
            "SELECT coalesce(sum(superseding), 0) FROM batches WHERE status = 'committed' AND record_type = ?",
            [record_type],
        ).fetchall()
        return bool(rows[0][0])

    def current(self, record_type: str) -> pa.Table:
        sql = self.current_sql(record_type)
        if sql is None:
            return CONTRACTS[record_type].arrow_schema().empty_table()
        return self.con.sql(sql).to_arrow_table()

    def distinct_values(self, record_type: str, column: str) -> pa.Array:
        sql = self.current_sql(record_type)
        if sql is None:
            return pa.array([], type=pa.string())
        return (
            self.con.sql(f"SELECT DISTINCT CAST({column} AS VARCHAR) AS v FROM ({sql}) WHERE {column} IS NOT NULL")
            .to_arrow_table()
            .column("v")
            .combine_chunks()
        )

    # ---------------------------------------------------------------- writing
    def classify(self, record_type: str, accepted: pa.Table) -> pa.Table:
        """Add ``_change``: new | superseding | unchanged, against the latest committed versions."""
        self.con.register("incoming", accepted)
        try:
            return self.con.sql(
                "SELECT i.*, CASE WHEN l.record_id IS NULL THEN 'new' WHEN l.row_hash = i._row_hash "
                "THEN 'unchanged' ELSE 'superseding' END AS _change FROM incoming i "
                f"LEFT JOIN index_{record_type} l ON l.source = i.source AND l.record_id = i.record_id"
            ).to_arrow_table()
        finally:
            self.con.unregister("incoming")

    def commit(
        self,
        *,
        batch_id: str,
        source_format: str,
        file: str,
        record_type: str,
        read: int,
        accepted: pa.Table,
        quarantined: pa.Table,
        reasons: dict[str, int],
        unknown_columns: list[str],
        notes: list[str],
        gx_success: bool | None,
        ingest_time: datetime,
    ) -> LedgerEntry:
        """Write the batch's files, then commit them with one ledger row."""
        seq = self.next_seq()
        change = accepted.column("_change") if "_change" in accepted.column_names else pa.array([], pa.string())
        counts = {k: int(pc.sum(pc.equal(change, k)).as_py() or 0) for k in ("new", "superseding", "unchanged")}
        stored = accepted.filter(pc.not_equal(change, "unchanged")) if accepted.num_rows else accepted
        stored = stored.drop_columns(["_change"]) if "_change" in stored.column_names else stored
        lineage = {"_batch": batch_id, "_file": file, "_ingest_seq": seq}
        lake_rel = quarantine_rel = None
        stem = f"{seq:08d}-{batch_id[:12]}.parquet"
        if stored.num_rows:
            lake_rel = self._relative(self.layout.lake / record_type / stem)
            _write_parquet(_with_lineage(stored, lineage), self.home / lake_rel)
        if quarantined.num_rows:
            quarantine_rel = self._relative(self.layout.quarantine / record_type / stem)
            _write_parquet(_with_lineage(quarantined, lineage), self.home / quarantine_rel)
        _crash_point("before_ledger")
        self.con.execute("BEGIN TRANSACTION")
        try:
            if stored.num_rows:
                self.con.register("stored_rows", stored.select(["source", "record_id", "_row_hash"]))
                if counts["superseding"]:
                    self.con.execute(
                        f"DELETE FROM index_{record_type} AS x USING stored_rows s "
                        "WHERE x.source = s.source AND x.record_id = s.record_id"
                    )
                self.con.execute(
                    f"INSERT INTO index_{record_type} SELECT source, record_id, _row_hash, {seq} FROM stored_rows"
                )
                self.con.unregister("stored_rows")
            self.con.execute(
                "INSERT INTO batches VALUES (?, ?, 'committed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                [
                    seq,
                    batch_id,
                    source_format,
                    file,
                    record_type,
                    read,
                    accepted.num_rows,
                    counts["new"],
                    counts["superseding"],
                    counts["unchanged"],
                    quarantined.num_rows,
                    json.dumps(reasons, sort_keys=True),
                    json.dumps(unknown_columns),
                    json.dumps(notes),
                    gx_success,
                    lake_rel,
                    quarantine_rel,
                    ingest_time,
                ],
            )
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")
        _crash_point("after_ledger")
        entry = self.committed(batch_id)
        assert entry is not None
        return entry

    def record_unusable(
        self, *, batch_id: str, source_format: str, file: str, record_type: str, error: str, ingest_time: datetime
    ) -> LedgerEntry:
        seq = self.next_seq()
        self.con.execute(
            "INSERT INTO batches (seq, batch_id, status, source_format, file, record_type, read, accepted, new, "
            "superseding, unchanged, quarantined, reasons, error, ingested_at) "
            "VALUES (?, ?, 'unusable', ?, ?, ?, 0, 0, 0, 0, 0, 0, '{}', ?, ?)",
            [seq, batch_id, source_format, file, record_type, error, ingest_time],
        )
        return LedgerEntry(seq, batch_id, "unusable", file, record_type, 0, 0, 0, 0, 0, 0, {}, error)

    def remove_orphans(self) -> list[Path]:
        """Delete lake / quarantine files that no committed batch names (left by a killed run)."""
        named = {
            r[0]
            for r in self.con.execute(
                "SELECT lake_file FROM batches WHERE lake_file IS NOT NULL UNION "
                "SELECT quarantine_file FROM batches WHERE quarantine_file IS NOT NULL"
            ).fetchall()
        }
        removed = []
        for top in (self.layout.lake, self.layout.quarantine):
            for path in sorted(top.rglob("*")) if top.exists() else []:
                if path.is_file() and self._relative(path) not in named:
                    path.unlink()
                    removed.append(path)
        return removed

    def _relative(self, path: Path) -> str:
        """``path`` as the ledger names it: relative to the home, with ``/`` between parts."""
        return path.relative_to(self.home).as_posix()


def _with_lineage(table: pa.Table, lineage: dict[str, object]) -> pa.Table:
    n = table.num_rows
    for name, value in lineage.items():
        if isinstance(value, int):
            column = pa.array(np.full(n, value, dtype=np.int64))
        else:
            column = pa.array([str(value)], pa.string()).take(pa.array(np.zeros(n, dtype=np.int64)))
        table = table.append_column(name, column)
    return table


def _write_parquet(table: pa.Table, path: Path) -> None:
    write_atomically(path, lambda tmp: pq.write_table(table, tmp, compression="snappy"), fsync=True)
