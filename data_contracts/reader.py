"""Read one landing-zone file (CSV-like text or Parquet) into raw text columns, without judging the values.

The result is a :class:`RawBatch`: one ``pa.string()`` column per source column (empty cells are null) plus
``_line``, the physical line where each row starts (header = line 1; Parquet: row index + 2). Rows whose field
count differs from the header never enter the table; they are listed in ``rejected`` with the rule id
``malformed_line:wrong_field_count``. A file that cannot be used at all raises :class:`UnusableFile` with a
one-line reason for a person; so does one past the declared limits (MAX_COLUMNS columns, physical lines of
MAX_LINE_BYTES bytes), checked before anything is parsed. Type checks and every other rule happen later, in SQL
(``data_contracts.rules``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet",)
LINE_COLUMN = "_line"
WRONG_FIELD_COUNT = "malformed_line:wrong_field_count"
MAX_REJECTED_TEXT = 1000
NUL_SCAN_BYTES = 64 * 1024
BATCH_ROWS = 65_536  # text rows converted to Arrow at a time
MAX_COLUMNS = 1_000  # columns of a file: every contract's columns and room for extra fields
MAX_LINE_BYTES = 4 * 1024 * 1024  # bytes of one physical line (a 1 MB free-text field still reads)
_LINE_SCAN_BYTES = 64 * 1024 * 1024  # bytes scanned for line breaks at a time
# Candidate delimiters in order of preference when counts tie.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
DELIMITER_NOTES = {";": "semicolon-separated", "\t": "tab-separated", "|": "pipe-separated"}
_FIELD_SIZE_LIMIT = 2**31 - 1  # fits a C long everywhere; a 1 MB free-text field is read intact
_QUOTED = re.compile(r'"[^"]*"')
_BOM = "\ufeff"


class UnusableFile(Exception):
    """The whole file cannot be used; str(exc) is a one-line reason for a person."""


@dataclass(frozen=True)
class RejectedLine:
    line: int  # 1-based physical line where the bad row starts (header = line 1)
    text: str  # the raw text of the row, cut to 1,000 characters
    reason: str  # 'malformed_line:wrong_field_count' for rows whose field count differs from the header


@dataclass(frozen=True)
class RawBatch:
    table: pa.Table  # pa.string() per source column (empty -> null) + int64 "_line"
    rejected: list[RejectedLine]
    encoding: str  # 'utf-8', 'utf-8-sig', 'latin-1' or 'parquet'
    delimiter: str | None  # ',', ';', '\t' or '|' for text files; None for Parquet
    notes: list[str]  # short human notes about how the file was read


def read_batch_file(path: Path) -> RawBatch:
    """Read ``path`` (.csv, .txt, .tsv or .parquet) into raw text columns; raise UnusableFile if it cannot be used."""
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _read_text(path)
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path)
    allowed = ", ".join(TEXT_SUFFIXES + PARQUET_SUFFIXES)
    raise UnusableFile(f"unsupported file type {suffix or '(no suffix)'!r}: expected one of {allowed}")


# --- text files -------------------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnusableFile(f"cannot read file: {exc.strerror or exc}") from exc


def _decode(data: bytes) -> tuple[str, str, list[str]]:
    """(text, encoding, notes): UTF-8 (BOM stripped -> 'utf-8-sig'), else latin-1 (Windows-1252 where it fits)."""
    if b"\x00" in data[:NUL_SCAN_BYTES]:
        raise UnusableFile("unreadable encoding: file looks like UTF-16 or binary (NUL bytes)")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig", []
        except UnicodeDecodeError:
            data = data[3:]  # a BOM followed by non-UTF-8 bytes: drop the BOM and fall back below
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        bad_line = data.count(b"\n", 0, exc.start) + 1
        try:
            text = data.decode("cp1252")  # latin-1 plus the printable 0x80-0x9F of Windows exports
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        return text, "latin-1", [f"decoded as latin-1: not valid UTF-8 (first bad byte on line {bad_line})"]


def _sniff_delimiter(header_line: str, suffix: str) -> str:
    """The most frequent candidate delimiter in the header line (outside quotes); ties go to the earlier one."""
    unquoted = _QUOTED.sub("", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equal counts
    if counts[best] == 0:
        return "\t" if suffix == ".tsv" else ","
    return best


def _header_names(raw: list[str]) -> list[str]:
    names = [name.replace(_BOM, "").strip() for name in raw]
    empty = [str(i + 1) for i, name in enumerate(names) if not name]
    if empty:
        raise UnusableFile(f"empty column name in header (column {', '.join(empty)})")
    seen: set[str] = set()
    dups: list[str] = []
    for name in names:
        if name in seen and name not in dups:
            dups.append(name)
        seen.add(name)
    if dups:
        raise UnusableFile(f"duplicate column names: {', '.join(dups)}")
    if LINE_COLUMN in seen:
        raise UnusableFile(f"column name {LINE_COLUMN!r} is reserved for the line number")
    return names


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _to_batch(rows: list[list[str]], lines: list[int], names: list[str]) -> pa.RecordBatch:
    """Rows of equal width -> one record batch of text columns ('' -> null) plus _line, vectorised per column."""
    nested = pa.array(rows, type=pa.list_(pa.string()))
    columns = []
    for i in range(len(names)):
        col = pc.list_element(nested, i)
        columns.append(pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col))
    columns.append(pa.array(np.asarray(lines, dtype=np.int64), type=pa.int64()))
    return pa.RecordBatch.from_arrays(columns, names=[*names, LINE_COLUMN])


def _check_line_lengths(data: bytes) -> None:
    """Raise UnusableFile when a physical line (between CR or LF bytes) is longer than MAX_LINE_BYTES."""
    start = 0  # offset where the current line starts
    for offset in range(0, len(data), _LINE_SCAN_BYTES):
        chunk = np.frombuffer(data, dtype=np.uint8, count=min(_LINE_SCAN_BYTES, len(data) - offset), offset=offset)
        breaks = np.flatnonzero((chunk == 10) | (chunk == 13)) + offset
        ends = np.concatenate(([start - 1], breaks))
        lengths = np.diff(ends) - 1
        if len(breaks):
            start = int(breaks[-1]) + 1
        too_long = np.flatnonzero(lengths > MAX_LINE_BYTES)
        if len(too_long) or offset + len(chunk) - start > MAX_LINE_BYTES:
            at = int(ends[too_long[0]]) + 1 if len(too_long) else start
            line = data.count(b"\n", 0, at) + 1
            raise UnusableFile(f"line {line} is longer than the {MAX_LINE_BYTES:,} bytes a line may have")


def _check_columns(count: int) -> None:
    if count > MAX_COLUMNS:
        raise UnusableFile(f"{count:,} columns: a file may have at most {MAX_COLUMNS:,}")


def _read_text(path: Path) -> RawBatch:
    data = _read_bytes(path)
    if not data.strip():
        raise UnusableFile("empty file: no header")
    _check_line_lengths(data)
    text, encoding, notes = _decode(data)
    if not text.replace(_BOM, "").strip():
        raise UnusableFile("empty file: no header")

    # The header is the first non-blank physical line; blank lines before it are skipped like any other.
    header_line = next(line for line in io.StringIO(text, newline="") if line.strip())
    delimiter = _sniff_delimiter(header_line, path.suffix.lower())
    _check_columns(_QUOTED.sub("", header_line).count(delimiter) + 1)  # before the rows are parsed
    if delimiter in DELIMITER_NOTES:
        notes.append(DELIMITER_NOTES[delimiter])

    if csv.field_size_limit() < _FIELD_SIZE_LIMIT:
        csv.field_size_limit(_FIELD_SIZE_LIMIT)
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        skipinitialspace=False,
        strict=False,
    )
    blank = 0
    prev_end = 0
    header: list[str] | None = None
    width = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    batches: list[pa.RecordBatch] = []
    bad: list[tuple[int, int]] = []  # (first line, last line) of rows with the wrong field count
    try:
        for row in reader:
            start, prev_end = prev_end + 1, reader.line_num
            if _is_blank(row):
                blank += 1
                continue
            if header is None:
                header = _header_names(row)
                width = len(header)
                continue
            if len(row) == width:
                rows.append(row)
                lines.append(start)
                if len(rows) == BATCH_ROWS:  # convert as we go: bounded memory, arrays well below 2 GiB
                    batches.append(_to_batch(rows, lines, header))
                    rows, lines = [], []
            else:
                bad.append((start, prev_end))
    except csv.Error as exc:  # not expected with strict=False and no field size limit; kept as a safeguard
        raise UnusableFile(f"unparseable text at line {prev_end + 1}: {exc}") from exc
    if header is None:  # pragma: no cover - excluded by the blank-text check above
        raise UnusableFile("empty file: no header")

    if blank:
        notes.append(f"skipped {blank} blank line{'s' if blank != 1 else ''}")
    rejected: list[RejectedLine] = []
    if bad:
        physical = io.StringIO(text, newline="").readlines()
        for first, last in bad:
            raw = "".join(physical[first - 1 : last]).rstrip("\r\n")
            rejected.append(RejectedLine(first, raw[:MAX_REJECTED_TEXT], WRONG_FIELD_COUNT))
        notes.append(f"{len(bad)} line{'s' if len(bad) != 1 else ''} with the wrong number of fields rejected")

    if rows or not batches:
        batches.append(_to_batch(rows, lines, header))
    table = pa.Table.from_batches(batches)
    return RawBatch(table, rejected, encoding, delimiter, notes)


# --- Parquet ----------------------------------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return (msg[0] if msg else type(exc).__name__)[:300]


def _to_string(col: pa.ChunkedArray, name: str, notes: list[str]) -> pa.ChunkedArray:
    """Vectorised conversion of one column to text: booleans 'true'/'false', dates 'YYYY-MM-DD',
    timestamps 'YYYY-MM-DDTHH:MM:SS' (UTC for zoned ones, sub-seconds dropped), numbers as cast by Arrow,
    dictionaries decoded; nulls stay null and empty strings become null."""
    typ = col.type
    if pa.types.is_dictionary(typ):
        return _to_string(pc.cast(col, typ.value_type), name, notes)
    if pa.types.is_null(typ):
        return pa.chunked_array([pa.nulls(len(col), pa.string())])
    if pa.types.is_timestamp(typ):
        if typ.tz is not None:
            notes.append(f"column {name}: zoned timestamps ({typ.tz}) written as UTC")
        seconds = pc.cast(col, pa.timestamp("s"), safe=False)  # drops the zone (values are UTC) and sub-seconds
        # cast gives 'YYYY-MM-DD HH:MM:SS'; this is ~15x faster than pc.strftime
        return pc.replace_substring(pc.cast(seconds, pa.string()), pattern=" ", replacement="T", max_replacements=1)
    if pa.types.is_date64(typ):
        col = pc.cast(col, pa.date32())
    if pa.types.is_nested(typ):
        raise UnusableFile(f"unsupported Parquet column type in column {name}: {typ}")
    try:
        text = pc.cast(col, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise UnusableFile(f"cannot read Parquet column {name} ({typ}) as text: {_first_line(exc)}") from exc
    if (
        pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_string_view(typ)
        or pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
        or pa.types.is_binary_view(typ)
    ):
        # Only text can hold '' (numbers, dates, booleans never cast to it): empty becomes null as in CSV files.
        return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return text


def _read_parquet(path: Path) -> RawBatch:
    try:
        _check_columns(len(pq.read_schema(path)))
        source = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UnusableFile(f"unreadable Parquet file: {_first_line(exc)}") from exc
    if source.num_columns == 0:
        raise UnusableFile("no columns: the Parquet file has an empty schema")
    names = _header_names(source.column_names)
    notes: list[str] = []
    columns: list[pa.ChunkedArray] = []
    for name, col in zip(names, source.columns, strict=True):
        columns.append(_to_string(col, name, notes))
    columns.append(pa.chunked_array([pa.array(np.arange(2, source.num_rows + 2, dtype=np.int64))]))
    table = pa.Table.from_arrays(columns, names=[*names, LINE_COLUMN])
    return RawBatch(table, [], "parquet", None, notes)
