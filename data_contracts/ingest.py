"""Ingest one source file into the lake: read, validate, pseudonymise, classify versions, commit.

These are the steps the Prefect ingest flow (flows/ingest.py) wires together; each is a plain function.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from data_contracts.contracts import CONTRACTS
from data_contracts.lake import Lake, LedgerEntry
from data_contracts.pseudonymise import PseudonymKey
from data_contracts.reader import UnusableFile, read_batch_file
from data_contracts.rules import reference_rule_id
from data_contracts.sources import Source, SourceFile
from data_contracts.sources.declared import read_declared_file
from data_contracts.validate import ValidatedBatch, WrongRecordType, validate_batch


class BatchValidator(Protocol):
    """What ingest needs from the Great Expectations validator (data_contracts.gx_suites)."""

    def validate(self, contract: Any, frame: Any, batch_id: str, unsupplied: Any = ()) -> Any: ...


@dataclass
class FileReport:
    """One line of the ingest summary (and of ``--json``)."""

    file: str
    record_type: str
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    status: str = "committed"  # committed | already_ingested | unusable
    new: int = 0
    superseding: int = 0
    unchanged: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    batch_id: str = ""
    gx_success: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def batch_id_of(path: Path, record_type: str, source: Source, source_file: SourceFile | None = None) -> str:
    """Content hash of the file together with what it is read as (record type and column mapping; for a declared
    file, its whole declaration)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([record_type, source.name, source.rename(record_type)], sort_keys=True).encode())
    if source_file is not None and source_file.declared is not None:
        digest.update(source_file.declared.fingerprint().encode())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def report_from_ledger(entry: LedgerEntry, status: str, **extra: Any) -> FileReport:
    """The summary line of a ledger entry: every field the two share, reasons most frequent first."""
    shared = {f.name: getattr(entry, f.name) for f in fields(FileReport) if hasattr(entry, f.name)}
    shared["reasons"] = dict(sorted(entry.reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return FileReport(**{**shared, "status": status, **extra})


def known_references(lake: Lake, record_type: str) -> dict[str, pa.Array]:
    contract = CONTRACTS[record_type]
    return {
        reference_rule_id(contract, ref.column): lake.distinct_values(ref.record_type, ref.target)
        for ref in contract.references
    }


@dataclass
class PreparedBatch:
    """A file read and validated, not yet committed (what can run ahead of the commits)."""

    source_file: SourceFile
    batch_id: str
    validated: ValidatedBatch | None = None
    error: str | None = None  # the file is unusable
    unsupplied: tuple[str, ...] = ()  # contract fields the source declares the file does not supply


def prepare_file(
    source_file: SourceFile,
    batch_id: str,
    source: Source,
    ingest_time: datetime,
    key: PseudonymKey,
    known: dict[str, pa.Array],
    gx_sample_rows: int = 0,
) -> PreparedBatch:
    """Read and validate one file. Touches no lake state, so it may run in a worker thread."""
    record_type, declared = source_file.record_type, source_file.declared
    unsupplied = declared.unsupplied if declared is not None else ()
    try:
        if declared is not None:
            raw, rename = read_declared_file(source_file.path, declared), {}
        else:
            raw, rename = read_batch_file(source_file.path), source.rename(record_type)
        validated = validate_batch(raw, record_type, rename, ingest_time, key, known, gx_sample_rows, unsupplied)
    except (UnusableFile, WrongRecordType) as exc:
        return PreparedBatch(source_file, batch_id, error=str(exc), unsupplied=unsupplied)
    return PreparedBatch(source_file, batch_id, validated, unsupplied=unsupplied)


def skip_or_reject(
    lake: Lake, source_file: SourceFile, source: Source, ingest_time: datetime
) -> tuple[str | None, FileReport | None]:
    """(batch id, None) for a file to ingest; (None, report) for one named after no record type or already in."""
    file = str(source_file.path)
    if source_file.record_type not in CONTRACTS:
        message = f"file name names no record type (expected it to start with one of: {', '.join(CONTRACTS)})"
        if source.layout == "declared_files":
            message = (
                f"not declared in the {source.name} source: its sheet, record type and columns go in "
                f"data_contracts/sources/{source.name}.toml (or its [ignore] says why it is not read)"
            )
        entry = lake.record_unusable(
            batch_id=hashlib.sha256(file.encode()).hexdigest(),
            source_format=source.name,
            file=file,
            record_type="",
            error=message,
            ingest_time=ingest_time,
        )
        return None, report_from_ledger(entry, "unusable")
    batch_id = batch_id_of(source_file.path, source_file.record_type, source, source_file)
    done = lake.committed(batch_id)
    if done is not None:
        report = report_from_ledger(done, "already_ingested")
        report.notes = [f"already ingested as batch {done.seq}; nothing added"]
        report.file = file
        return None, report
    return batch_id, None


def commit_prepared(
    lake: Lake, prepared: PreparedBatch, source: Source, ingest_time: datetime, gx: BatchValidator | None = None
) -> FileReport:
    """Great Expectations validation, version classification and the atomic commit of one prepared file."""
    file, record_type = str(prepared.source_file.path), prepared.source_file.record_type
    validated = prepared.validated
    if validated is None:
        entry = lake.record_unusable(
            batch_id=prepared.batch_id,
            source_format=source.name,
            file=file,
            record_type=record_type,
            error=prepared.error or "unusable",
            ingest_time=ingest_time,
        )
        return report_from_ledger(entry, "unusable")
    gx_success = _run_gx(gx, validated, prepared.batch_id, prepared.unsupplied)
    entry = commit_validated(lake, validated, prepared.batch_id, source.name, file, gx_success, ingest_time)
    if entry.read != entry.accepted + entry.quarantined:  # every row read is either accepted or quarantined
        raise RuntimeError(
            f"{file}: {entry.read} rows read but {entry.accepted} accepted and {entry.quarantined} quarantined; "
            "rows were lost between validation and the lake"
        )
    return report_from_ledger(
        entry, "committed", unknown_columns=validated.unknown_columns, notes=validated.notes, gx_success=gx_success
    )


def commit_validated(
    lake: Lake,
    validated: ValidatedBatch,
    batch_id: str,
    source_format: str,
    file: str,
    gx_success: bool | None,
    ingest_time: datetime,
) -> LedgerEntry:
    """Classify the accepted rows into versions and commit the batch, all-or-nothing."""
    record_type = validated.record_type
    return lake.commit(
        batch_id=batch_id,
        source_format=source_format,
        file=file,
        record_type=record_type,
        read=validated.read,
        accepted=lake.classify(record_type, validated.accepted),
        quarantined=validated.quarantined,
        reasons=validated.reasons,
        unknown_columns=validated.unknown_columns,
        notes=validated.notes,
        gx_success=gx_success,
        ingest_time=ingest_time,
    )


def ingest_file(
    lake: Lake,
    source_file: SourceFile,
    source: Source,
    ingest_time: datetime,
    key: PseudonymKey,
    gx: BatchValidator | None = None,
    gx_sample_rows: int = 2_000,
) -> FileReport:
    """All steps for one file, one after the other."""
    batch_id, report = skip_or_reject(lake, source_file, source, ingest_time)
    if report is not None or batch_id is None:
        assert report is not None
        return report
    known = known_references(lake, source_file.record_type)
    prepared = prepare_file(source_file, batch_id, source, ingest_time, key, known, gx_sample_rows if gx else 0)
    return commit_prepared(lake, prepared, source, ingest_time, gx)


def _run_gx(
    gx: BatchValidator | None, validated: ValidatedBatch, batch_id: str, unsupplied: tuple[str, ...] = ()
) -> bool | None:
    if gx is None or validated.gx_sample is None:
        return None
    result = gx.validate(CONTRACTS[validated.record_type], validated.gx_sample.to_pandas(), batch_id, unsupplied)
    return bool(result.success)


def summary_json(reports: list[FileReport]) -> dict[str, Any]:
    return {"batches": [r.as_json() for r in reports]}
