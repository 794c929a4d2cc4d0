"""The ingest flow: every file of a source folder through the data contracts into the lake.

Files are committed one at a time, in ingest order (referenced record types first). While one file is
checked by Great Expectations and committed, the next file of the same record type is read and validated
in a worker thread (DuckDB does that work outside the GIL); at most ``PREFETCH`` files wait in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

from prefect.futures import PrefectFuture

from data_contracts.ingest import (
    FileReport,
    PreparedBatch,
    commit_prepared,
    known_references,
    prepare_file,
    skip_or_reject,
)
from data_contracts.lake import Lake
from data_contracts.pseudonymise import load_key
from data_contracts.sources import SourceFile, check_one_world, load_source
from flows.declare import flow_named, task_named

PREFETCH = 2  # files read and validated ahead of the commits (bounds memory)


@task_named("prepare-file", retry_delays=[1, 5])
def prepare_task(
    source_file: SourceFile,
    batch_id: str,
    source: Any,
    ingest_time: datetime,
    key: Any,
    known: Any,
    gx_sample_rows: int,
) -> PreparedBatch:
    return prepare_file(source_file, batch_id, source, ingest_time, key, known, gx_sample_rows)


@task_named("commit-file", retry_delays=[1, 5])
def commit_task(lake: Lake, prepared: PreparedBatch, source: Any, ingest_time: datetime, gx: Any) -> FileReport:
    # Safe to retry: a committed batch is recognised by its content hash and never added twice.
    done = lake.committed(prepared.batch_id)
    if done is not None:
        from data_contracts.ingest import report_from_ledger

        return report_from_ledger(done, "committed")
    return commit_prepared(lake, prepared, source, ingest_time, gx)


@task_named("build-data-docs", retry_delays=[2])
def build_docs_task(gx: Any) -> str:
    return str(gx.build_docs())


@flow_named("ingest")
def ingest_flow(
    source_dir: Path,
    source_format: str,
    home: Path,
    mapping: Path | None = None,
    gx_sample_rows: int = 2_000,
    progress: Callable[[int, int, str], None] | None = None,
    prefetch: int = PREFETCH,
) -> tuple[list[FileReport], str | None]:
    """Ingest ``source_dir``; files are read and validated by ``prepare-file`` tasks on the flow's task runner (on
    a Dask runner, one file per worker: pass ``prefetch`` >= the number of workers), committed here, in order."""
    source = load_source(source_format, source_dir, mapping)
    files = source.files(source_dir)
    ingest_time = datetime.now(UTC).replace(tzinfo=None, microsecond=0)  # UTC wall clock (known_on fills its date)
    key = load_key(home)
    gx = None
    if gx_sample_rows > 0:
        from data_contracts.gx_suites import GxBatchValidator

        gx = GxBatchValidator(home, ingest_time, docs_per_batch=False)  # pages rendered once, at the end
    lake = Lake(home)
    reports: list[FileReport] = []
    done = 0

    def tick(name: str) -> None:
        if progress:
            progress(done, len(files), name)

    try:
        check_one_world(lake.committed_formats(), source.name)
        lake.remove_orphans()
        for record_type, group in groupby(files, key=lambda f: f.record_type):
            # References point at earlier record types, all committed by now: one snapshot per type.
            known = known_references(lake, record_type) if record_type else {}
            pending: list[tuple[SourceFile, str]] = []
            for source_file in group:
                batch_id, report = skip_or_reject(lake, source_file, source, ingest_time)
                if report is not None:
                    reports.append(report)
                    done += 1
                    tick(source_file.path.name)
                elif batch_id is not None:
                    pending.append((source_file, batch_id))
            futures: list[PrefectFuture[PreparedBatch]] = []
            sample = gx_sample_rows if gx is not None else 0
            for i in range(len(pending) + 1):
                while len(futures) < prefetch and i + len(futures) < len(pending):
                    source_file, batch_id = pending[i + len(futures)]
                    futures.append(prepare_task.submit(source_file, batch_id, source, ingest_time, key, known, sample))
                if not futures:
                    break
                prepared = futures.pop(0).result()
                tick(prepared.source_file.path.name)
                reports.append(commit_task(lake, prepared, source, ingest_time, gx))
                done += 1
        tick("data docs")
        docs = build_docs_task(gx) if gx is not None and any(r.status == "committed" for r in reports) else None
    finally:
        lake.close()
    return reports, docs
