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
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.contracts import CONTRACTS

DEFAULT_HOME = Path("var")
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


def tracerisk_home() -> Path:
    """``$TRACERISK_HOME`` (default ``./var``): everything a run writes lives under it."""
    return Path(os.environ.get("TRACERISK_HOME", str(DEFAULT_HOME)))


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
            self.con = duckdb.connect(str(home / "lake.duckdb"))
        except duckdb.IOException as exc:
            raise LakeBusy(f"the lake at {home} is in use by another process ({exc})") from exc
        self.con.execute(f"CREATE TABLE IF NOT EXISTS batches ({', '.join(LEDGER_COLUMNS)})")

    def close(self) -> None:
        self.con.close()

    # ---------------------------------------------------------------- ledger
    def committed(self, batch_id: str) -> LedgerEntry | None:
        row = self.con.execute(
            "SELECT * FROM batches WHERE batch_id = ? AND status = 'committed' ORDER BY seq LIMIT 1", [batch_id]
        ).fetchone()
        return self._entry(row) if row else None

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

    def next_seq(self) -> int:
        row = self.con.execute("SELECT coalesce(max(seq), 0) + 1 FROM batches").fetchone()
        return int(row[0]) if row else 1

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
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        return f"SELECT * FROM read_parquet([{listing}], union_by_name = true)"

    def current_sql(self, record_type: str) -> str | None:
        """SQL over the latest version of every record of ``record_type``."""
        versions = self.versions_sql(record_type)
        if versions is None:
            return None
        return (
            f"SELECT * FROM ({versions}) QUALIFY row_number() OVER "
            "(PARTITION BY source, record_id ORDER BY _ingest_seq DESC) = 1"
        )

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
        versions = self.versions_sql(record_type)
        self.con.register("incoming", accepted)
        try:
            if versions is None:
                sql = "SELECT *, 'new' AS _change FROM incoming"
            else:
                sql = (
                    f"WITH latest AS (SELECT source, record_id, _row_hash FROM ({versions}) QUALIFY row_number() "
                    "OVER (PARTITION BY source, record_id ORDER BY _ingest_seq DESC) = 1) "
                    "SELECT i.*, CASE WHEN l.record_id IS NULL THEN 'new' WHEN l._row_hash = i._row_hash "
                    "THEN 'unchanged' ELSE 'superseding' END AS _change FROM incoming i "
                    "LEFT JOIN latest l ON l.source = i.source AND l.record_id = i.record_id ORDER BY i._line"
                )
            return self.con.sql(sql).to_arrow_table()
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
        changes = accepted.column("_change").to_pylist() if accepted.num_rows else []
        counts = {k: changes.count(k) for k in ("new", "superseding", "unchanged")}
        keep = pa.array([c != "unchanged" for c in changes], type=pa.bool_())
        stored = accepted.filter(keep).drop_columns(["_change"]) if accepted.num_rows else accepted
        lineage = {"_batch": batch_id, "_file": file, "_ingest_seq": seq}
        lake_rel = quarantine_rel = None
        stem = f"{seq:08d}-{batch_id[:12]}.parquet"
        if stored.num_rows:
            lake_rel = f"lake/{record_type}/{stem}"
            _write_atomic(_with_lineage(stored, lineage), self.home / lake_rel)
        if quarantined.num_rows:
            quarantine_rel = f"quarantine/{record_type}/{stem}"
            _write_atomic(_with_lineage(quarantined, lineage), self.home / quarantine_rel)
        _crash_point("before_ledger")
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
        for top in ("lake", "quarantine"):
            for path in sorted((self.home / top).rglob("*")) if (self.home / top).exists() else []:
                if path.is_file() and str(path.relative_to(self.home)) not in named:
                    path.unlink()
                    removed.append(path)
        return removed


def _with_lineage(table: pa.Table, lineage: dict[str, object]) -> pa.Table:
    n = table.num_rows
    for name, value in lineage.items():
        typ = pa.int64() if isinstance(value, int) else pa.string()
        table = table.append_column(name, pa.array([value] * n, type=typ))
    return table


def _write_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
