"""Property tests: whatever rows arrive, each is accepted or quarantined with a reason, and
``read = accepted + quarantined`` holds, for generated rows of every record type, for arbitrary file bytes through the
reader, and through the lake's commit. Also: an ingest killed at an arbitrary moment from outside leaves a lake whose
every committed batch reconciles and whose files are either committed or orphans that ``remove_orphans`` clears."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.contracts import CONTRACTS, Field, RecordContract
from data_contracts.ingest import commit_validated
from data_contracts.lake import Lake
from data_contracts.reader import RawBatch, UnusableFile, read_batch_file
from data_contracts.validate import ValidatedBatch, WrongRecordType, validate_batch
from tests.data_contracts.test_ingest import (
    INSPECTION_HEADER,
    by_file,
    ingest_folder,
    inspection_row,
    landing,
    write_csv,
)
from tests.ingestion import NOW, pseudonym_key

KEY = pseudonym_key("property", "k")
ROWS = 150_000
SETTINGS = settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))

NASTY = st.sampled_from(
    ["", " ", "NULL", "null", "-1", "1e309", "NaN", "0", "9" * 40, "2024-02-30", "2999-01-01", "31/12/2024", "true",
     "Ja", "\u00e9\u00e8", "\u202e", "a,b", '"', "\n", "x" * 2000, "=cmd|' /C calc'!A0", "P000000003259"]
)  # fmt: skip


def _plausible(f: Field) -> st.SearchStrategy[str]:
    """Values that often pass the field's own rule, so that both outcomes occur."""
    if f.values:
        return st.sampled_from(list(f.values))
    if f.type == "integer":
        return st.integers(-5, 10_000).map(str)
    if f.type == "number":
        return st.floats(-10, 1e5, allow_nan=False).map(lambda v: f"{v:.2f}")
    if f.type == "boolean":
        return st.sampled_from(["true", "false", "yes", "no", "1", "0"])
    if f.type == "date":
        return st.dates().map(lambda d: d.isoformat())
    if f.type == "datetime":
        return st.datetimes().map(lambda d: d.isoformat(sep=" ", timespec="seconds"))
    return st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != "")


def _value(f: Field) -> st.SearchStrategy[str | None]:
    return st.one_of(_plausible(f), NASTY, st.text(max_size=20), st.none())


@st.composite
def batches(draw: st.DrawFn, contract: RecordContract) -> RawBatch:
    columns = [f for f in contract.fields if f.required or draw(st.booleans())]
    n = draw(st.integers(0, 12))
    data: dict[str, list[str | None]] = {
        f.name: [draw(_value(f)) for _ in range(n)] for f in columns
    }  # fmt: skip
    if draw(st.booleans()):  # an unknown column, kept pseudonymised in extra_fields
        data["agency_note"] = [draw(st.text(max_size=10)) for _ in range(n)]
    if "record_id" in data and n > 1 and draw(st.booleans()):  # a duplicate record id
        data["record_id"][-1] = data["record_id"][0]
    table = pa.table({**{k: pa.array(v, pa.string()) for k, v in data.items()}, "_line": pa.array(range(2, n + 2))})
    return RawBatch(table, [], "utf-8", ",", [])


def _reconciles(v: ValidatedBatch, lines: set[int]) -> None:
    assert v.read == v.accepted.num_rows + v.quarantined.num_rows
    reasons = v.quarantined.column("_reasons").to_pylist()
    assert all(r and all(isinstance(x, str) and x for x in r) for r in reasons), reasons
    accepted = set(v.accepted.column("_line").to_pylist())
    quarantined = set(v.quarantined.column("_line").to_pylist())
    assert not accepted & quarantined and accepted | quarantined == lines


@pytest.mark.parametrize("record_type", sorted(CONTRACTS))
def test_any_generated_row_is_accepted_or_quarantined_with_a_reason(record_type: str) -> None:
    contract = CONTRACTS[record_type]

    @SETTINGS
    @given(raw=batches(contract))
    def check(raw: RawBatch) -> None:
        try:
            v = validate_batch(raw, record_type, {}, NOW, KEY, {})
        except WrongRecordType:  # a file of too few required columns: refused whole, with a reason
            return
        _reconciles(v, set(raw.table.column("_line").to_pylist()))

    check()


@SETTINGS
@given(
    body=st.one_of(
        st.binary(max_size=400),
        st.lists(st.lists(st.one_of(st.text(max_size=12), NASTY), min_size=1, max_size=16), min_size=0, max_size=8).map(
            lambda rows: "\n".join([",".join(INSPECTION_HEADER), *(",".join(r) for r in rows)]).encode()
        ),
    )
)
def test_any_file_bytes_reconcile_or_are_refused_whole(tmp_path_factory: pytest.TempPathFactory, body: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "labour_inspection.csv"
    path.write_bytes(body)
    try:
        raw = read_batch_file(path)
        v = validate_batch(raw, "labour_inspection", {}, NOW, KEY, {})
    except (UnusableFile, WrongRecordType) as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip()  # one line for a person
        return
    _reconciles(v, set(raw.table.column("_line").to_pylist()) | {r.line for r in raw.rejected})


@settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(raw=batches(CONTRACTS["labour_inspection"]))
def test_the_ledger_reconciles_whatever_is_committed(tmp_path_factory: pytest.TempPathFactory, raw: RawBatch) -> None:
    try:
        v = validate_batch(raw, "labour_inspection", {}, NOW, KEY, {})
    except WrongRecordType:
        return
    lake = Lake(tmp_path_factory.mktemp("lake"))
    try:
        entry = commit_validated(lake, v, f"b{raw.table.num_rows}", "csv", "labour_inspection.csv", None, NOW)
        assert entry.read == entry.accepted + entry.quarantined == raw.table.num_rows
        assert sum(v.reasons.values()) >= entry.quarantined
    finally:
        lake.close()


# --- killed from outside at an arbitrary moment ------------------------------------------------------------------


def _ledger_state(home: Path) -> list[tuple[Any, ...]]:
    lake = Lake(home)
    try:
        entries = lake.ledger()
        for e in entries:
            assert e.read == e.accepted + e.quarantined, e
        return [(e.batch_id, e.record_type, e.read, e.accepted, e.quarantined) for e in entries]
    finally:
        lake.close()


@pytest.mark.parametrize("delay", [0.4, 1.2, 1.9])  # the whole ingest takes about 2 s after start here
def test_ingest_killed_at_an_arbitrary_moment_leaves_a_consistent_lake(tmp_path: Path, delay: float) -> None:
    """SIGKILL from outside while a 150,000-row file is read, validated and committed: the lake is either as before
    the batch or has it whole; nothing half-written is ever listed, and a re-run completes it."""
    folder = landing(tmp_path)  # the organisation the inspections refer to, ingested first
    home = tmp_path / "home"
    lake = Lake(home)
    ingest_folder(lake, folder)
    lake.close()
    write_csv(folder / "labour_inspection.csv", INSPECTION_HEADER, [inspection_row(i) for i in range(ROWS)])
    before = _ledger_state(home)
    root = str(Path(__file__).resolve().parents[2])
    script = (
        f"import sys; from pathlib import Path; sys.path.insert(0, {root!r})\n"
        "from tests.data_contracts.test_ingest import ingest_folder\n"
        "from data_contracts.lake import Lake\n"
        "print('start', flush=True)\n"
        f"ingest_folder(Lake(Path({str(home)!r})), Path({str(folder)!r}))\n"
        "print('done', flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "start"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    after = _ledger_state(home)
    assert after[: len(before)] == before and len(after) - len(before) in (0, 1)  # as before, or the batch whole
    assert all(e[2] == e[3] == ROWS for e in after[len(before) :])
    lake = Lake(home)
    try:
        committed = {Path(p).name for p in lake.files("labour_inspection")}
        on_disk = {p.name for p in (home / "lake" / "labour_inspection").glob("*.parquet")}
        assert committed <= on_disk  # every listed file is whole (written before its ledger row)
        lake.remove_orphans()
        assert {p.name for p in (home / "lake" / "labour_inspection").glob("*.parquet")} == committed
    finally:
        lake.close()
    lake = Lake(home)
    try:
        report = by_file(ingest_folder(lake, folder))["labour_inspection.csv"]
        assert report.status in ("committed", "already_ingested")
        assert [(e.record_type, e.read, e.accepted) for e in lake.ledger()][1:] == [("labour_inspection", ROWS, ROWS)]
    finally:
        lake.close()
