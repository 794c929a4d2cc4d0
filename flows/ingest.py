"""The ingest flow: every file of a source folder through the data contracts into the lake."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from data_contracts.ingest import FileReport, ingest_file
from data_contracts.lake import Lake
from data_contracts.pseudonymise import load_key
from data_contracts.sources import SourceFile, load_source


@task(name="ingest-file", retries=2, retry_delay_seconds=[1, 5], cache_policy=NO_CACHE)
def ingest_file_task(
    lake: Lake, source_file: SourceFile, source: Any, ingest_time: datetime, key: Any, gx: Any, gx_sample_rows: int
) -> FileReport:
    # Safe to retry: a committed batch is recognised by its content hash and never added twice.
    return ingest_file(lake, source_file, source, ingest_time, key, gx, gx_sample_rows)


@task(name="build-data-docs", cache_policy=NO_CACHE)
def build_docs_task(gx: Any) -> str:
    return str(gx.build_docs())


@flow(name="ingest", log_prints=False, validate_parameters=False)
def ingest_flow(
    source_dir: Path,
    source_format: str,
    home: Path,
    mapping: Path | None = None,
    gx_sample_rows: int = 2_000,
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[list[FileReport], str | None]:
    source = load_source(source_format, source_dir, mapping)
    files = source.files(source_dir)
    ingest_time = datetime.now().replace(microsecond=0)
    key = load_key(home)
    gx = None
    if gx_sample_rows > 0:
        from data_contracts.gx_suites import GxBatchValidator

        gx = GxBatchValidator(home, ingest_time)
    lake = Lake(home)
    reports: list[FileReport] = []
    try:
        lake.remove_orphans()
        for i, source_file in enumerate(files):
            if progress:
                progress(i, len(files), source_file.path.name)
            reports.append(ingest_file_task(lake, source_file, source, ingest_time, key, gx, gx_sample_rows))
        if progress:
            progress(len(files), len(files), "data docs")
        docs = build_docs_task(gx) if gx is not None and any(r.status == "committed" for r in reports) else None
    finally:
        lake.close()
    return reports, docs
