"""Sources declared file by file (layout ``declared_files``): each file of the source folder that is read is named
in the source's TOML with the sheet it reads, the record type its rows go through and where each contract column
comes from (a source column, a constant, a template of the row's line); value tables translate or derive columns,
and ``sponsor_ids`` fills an id column from a name column (``data_contracts.names.sponsor_id``: the entity id of an
employer known by its name alone, as the features give it).

``read_declared_file`` turns one such file (.csv, .xlsx or .xls) into the raw text batch every other source gives
``validate_batch``: contract column names, text values (spreadsheet dates as ISO dates, whole numbers without a
decimal point), ``_line`` the row's line in the file. A file that cannot be used as declared (unreadable, the
declared sheet or a declared column missing) raises ``UnusableFile`` with a one-line reason, before any row is
judged. Nothing here knows a particular source: the declarations are data.
"""

from __future__ import annotations

import io
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from data_contracts.contracts import CONTRACTS
from data_contracts.names import sponsor_id
from data_contracts.reader import LINE_COLUMN, RawBatch, UnusableFile, read_batch_file

SPREADSHEET_SUFFIXES = (".xlsx", ".xls")
TEMPLATE_FIELD = re.compile(r"\{([^{}]*)\}")
TEMPLATE_FIELDS = ("line",)  # what a template may name
FILE_KEYS = {
    "path",
    "sheet",
    "record_type",
    "columns",
    "constants",
    "templates",
    "formats",
    "known_on",
    "known_on_from",
    "unsupplied",
    "sponsor_ids",
}
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER_NOISE = re.compile(r"[$,\s]")


class DeclarationError(ValueError):
    """A source declaration that cannot be used (message names the TOML file and the entry)."""


@dataclass(frozen=True)
class Derived:
    source: str  # the contract column it is computed from
    table: dict[str, str]  # case-folded value -> contract value ("" = empty)


@dataclass(frozen=True)
class DeclaredFile:
    """One declared file: what it is read as. Its JSON (``fingerprint``) is part of the batch id, so a changed
    declaration reads the file as a new batch."""

    path: str  # relative to the source folder
    record_type: str
    sheet: str | None  # worksheet of a spreadsheet
    columns: dict[str, str]  # contract column -> source column
    constants: dict[str, str]  # contract column -> text
    templates: dict[str, str]  # contract column -> text with {line}
    formats: dict[str, str]  # contract column -> strptime format of its text dates
    known_on: str | None  # ISO day: known_on of every row (the fallback when known_on_from is empty)
    known_on_from: str | None  # contract date column the rows became known on
    unsupplied: tuple[str, ...]  # contract fields the file does not supply
    values: dict[str, dict[str, str]]  # contract column -> case-folded value -> contract value ("" = empty)
    derive: dict[str, Derived]  # contract column -> how it is computed
    missing_values: tuple[str, ...]  # case-folded texts that mean empty
    # contract column -> the contract column whose name gives its id (``data_contracts.names.sponsor_id``)
    sponsor_ids: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        declared = asdict(self)
        if not self.sponsor_ids:  # files declared before sponsor ids existed keep their batch ids
            del declared["sponsor_ids"]
        return json.dumps(declared, sort_keys=True)


def _table_of(raw: object, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise DeclarationError(f"{where} must map texts to texts")
    return {str(k).strip().casefold(): v for k, v in raw.items()}


def _texts(raw: object, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise DeclarationError(f"{where} must map contract columns to texts")
    return dict(raw)


def parse_declarations(raw: Mapping[str, Any], where: str) -> tuple[DeclaredFile, ...]:
    """The ``[[files]]`` of a ``declared_files`` source, with its value tables resolved into each file."""
    tables = {name: _table_of(t, f"{where}: [tables.{name}]") for name, t in raw.get("tables", {}).items()}
    missing_values = tuple(str(v).strip().casefold() for v in raw.get("missing_values", []))

    def table(name: object, at: str) -> dict[str, str]:
        if not isinstance(name, str) or name not in tables:
            raise DeclarationError(f"{where}: {at} names no declared table ({name!r}; known: {', '.join(tables)})")
        return tables[name]

    by_type: dict[str, tuple[dict[str, dict[str, str]], dict[str, Derived]]] = {}
    for record_type, rules in raw.get("record_types", {}).items():
        if record_type not in CONTRACTS:
            raise DeclarationError(f"{where}: unknown record type {record_type!r} in [record_types]")
        values = {c: table(t, f"[record_types.{record_type}.values] {c}") for c, t in rules.get("values", {}).items()}
        derive = {
            c: Derived(str(d.get("from")), table(d.get("table"), f"[record_types.{record_type}.derive] {c}"))
            for c, d in rules.get("derive", {}).items()
        }
        _known_columns(record_type, [*values, *derive, *(d.source for d in derive.values())], f"{where}: {record_type}")
        by_type[record_type] = (values, derive)

    files: list[DeclaredFile] = []
    for i, entry in enumerate(raw.get("files", [])):
        at = f"{where}: [[files]] #{i + 1} ({entry.get('path', '?')})"
        unknown = set(entry) - FILE_KEYS
        if unknown:
            raise DeclarationError(f"{at}: unknown keys {sorted(unknown)}")
        record_type = entry.get("record_type")
        if record_type not in CONTRACTS or not isinstance(entry.get("path"), str):
            raise DeclarationError(f"{at}: needs a path and a record_type of {', '.join(CONTRACTS)}")
        columns = _texts(entry.get("columns", {}), f"{at} [columns]")
        constants = _texts(entry.get("constants", {}), f"{at} [constants]")
        templates = _texts(entry.get("templates", {}), f"{at} [templates]")
        formats = _texts(entry.get("formats", {}), f"{at} [formats]")
        for column, template in templates.items():
            named = set(TEMPLATE_FIELD.findall(template)) - set(TEMPLATE_FIELDS)
            if named:
                raise DeclarationError(f"{at}: template of {column} names {sorted(named)}; it may name {{line}}")
        sponsor_ids = _texts(entry.get("sponsor_ids", {}), f"{at} [sponsor_ids]")
        unnamed = sorted(set(sponsor_ids.values()) - {*columns, *constants})
        if unnamed:
            raise DeclarationError(f"{at}: [sponsor_ids] reads {unnamed}, not declared in [columns] or [constants]")
        sourced = [*columns, *constants, *templates, *sponsor_ids]
        twice = sorted({c for c in sourced if sourced.count(c) > 1})
        if twice:
            raise DeclarationError(f"{at}: {twice} declared more than once")
        unsupplied = tuple(entry.get("unsupplied", ()))
        known_on_from = entry.get("known_on_from")
        known_on = entry.get("known_on")
        if known_on is not None and not (isinstance(known_on, str) and _ISO_DAY.match(known_on)):
            raise DeclarationError(f"{at}: known_on must be a day written YYYY-MM-DD")
        values, derive = by_type.get(record_type, ({}, {}))
        _known_columns(
            record_type,
            [*sourced, *formats, *unsupplied, *([known_on_from] if known_on_from else [])],
            at,
        )
        files.append(
            DeclaredFile(
                entry["path"],
                record_type,
                entry.get("sheet"),
                columns,
                constants,
                templates,
                formats,
                known_on,
                known_on_from,
                unsupplied,
                {c: t for c, t in values.items() if c in sourced},
                {c: d for c, d in derive.items() if d.source in sourced},
                missing_values,
                sponsor_ids,
            )
        )
    return tuple(files)


def _known_columns(record_type: str, columns: list[str], where: str) -> None:
    unknown = sorted(set(columns) - set(CONTRACTS[record_type].columns))
    if unknown:
        raise DeclarationError(f"{where}: {unknown} are not columns of the {record_type} contract")


def load_declarations(path: Path) -> tuple[DeclaredFile, ...]:
    return parse_declarations(tomllib.loads(path.read_text(encoding="utf-8")), str(path))


# ------------------------------------------------------------------------------------------------ reading
@dataclass
class _Cells:
    header: list[str]
    rows: list[tuple[Any, ...]]
    lines: list[int]  # the line of each row in the file (header = 1)
    raw: RawBatch | None = None  # a text file: as read_batch_file read it (its rejected lines kept)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _xlsx_cells(path: Path, sheet: str | None) -> _Cells:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # any failure to open an outside file makes it unusable, with its reason
        raise UnusableFile(f"unreadable workbook: {_first_line(exc)}") from exc
    try:
        name = _sheet_name(workbook.sheetnames, sheet)
        rows = workbook[name].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        out: list[tuple[Any, ...]] = []
        lines: list[int] = []
        for line, row in enumerate(rows, start=2):
            if any(v is not None and v != "" for v in row):
                out.append(row)
                lines.append(line)
    except UnusableFile:
        raise
    except Exception as exc:  # a truncated or corrupt part of the workbook
        raise UnusableFile(f"unreadable workbook: {_first_line(exc)}") from exc
    finally:
        workbook.close()
    return _Cells(header, out, lines)


def _xls_cells(path: Path, sheet: str | None) -> _Cells:
    import xlrd

    try:
        # xlrd's own warnings (a truncated file, sector counts) would go to stdout: the one-line reason says it.
        book = xlrd.open_workbook(str(path), on_demand=True, logfile=io.StringIO())
        name = _sheet_name(book.sheet_names(), sheet)
        table = book.sheet_by_name(name)
        header = [str(h).strip() for h in table.row_values(0)] if table.nrows else []
        out: list[tuple[Any, ...]] = []
        lines: list[int] = []
        for i in range(1, table.nrows):
            values: list[Any] = []
            for cell in table.row(i):
                if cell.ctype == xlrd.XL_CELL_DATE:
                    values.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                else:
                    values.append(cell.value)
            if any(v is not None and v != "" for v in values):
                out.append(tuple(values))
                lines.append(i + 1)
    except UnusableFile:
        raise
    except Exception as exc:  # any failure to read an outside file makes it unusable, with its reason
        raise UnusableFile(f"unreadable workbook: {_first_line(exc)}") from exc
    return _Cells(header, out, lines)


def _sheet_name(names: list[str], sheet: str | None) -> str:
    if sheet is None:
        if not names:
            raise UnusableFile("the workbook has no sheet")
        return names[0]
    if sheet not in names:
        raise UnusableFile(f"declared sheet {sheet!r} not in the workbook (its sheets: {', '.join(names)})")
    return sheet


def _text_cells(path: Path) -> _Cells:
    raw = read_batch_file(path)
    header = [c for c in raw.table.column_names if c != LINE_COLUMN]
    columns = [raw.table.column(c).to_pylist() for c in header]
    rows = list(zip(*columns, strict=True)) if columns else []
    return _Cells(header, rows, raw.table.column(LINE_COLUMN).to_pylist(), raw)


def _cells(path: Path, sheet: str | None) -> _Cells:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _xlsx_cells(path, sheet)
    if suffix == ".xls":
        return _xls_cells(path, sheet)
    if sheet is not None:
        raise UnusableFile(f"a sheet ({sheet!r}) is declared but {path.name} is not a workbook")
    return _text_cells(path)


# ----------------------------------------------------------------------------------------------- values
def _whole(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def cell_text(value: Any, field_type: str, date_format: str | None = None) -> str | None:
    """The text ``validate_batch`` parses for one cell of a ``field_type`` column: spreadsheet dates and times as
    ISO text, whole numbers without a decimal point, number text without currency signs or thousands separators,
    text dates through ``date_format``. Text it cannot convert is kept as it is (the contract's rules judge it)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if field_type == "date" else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return None if np.isnan(value) else _whole(value)
    text = str(value).strip()
    if not text:
        return None
    if field_type in ("date", "datetime") and date_format:
        try:
            parsed = datetime.strptime(text, date_format)
        except ValueError:
            return text
        return parsed.date().isoformat() if field_type == "date" else parsed.isoformat(sep=" ")
    if field_type in ("integer", "number"):
        try:
            number = float(_NUMBER_NOISE.sub("", text))
        except ValueError:
            return text
        return _whole(number) if field_type == "integer" or number.is_integer() else repr(number)
    return text


def _translated(values: list[str | None], table: dict[str, str], keep_others: bool) -> list[str | None]:
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        found = table.get(v.casefold())
        out.append((found or None) if found is not None else (v if keep_others else None))
    return out


def _columns(cells: _Cells, declared: DeclaredFile) -> Iterator[tuple[str, list[str | None]]]:
    contract = CONTRACTS[declared.record_type]
    index = {name: i for i, name in reversed(list(enumerate(cells.header)))}  # the first of equal names
    missing = set(declared.missing_values)
    produced: dict[str, list[str | None]] = {}
    for column, source in declared.columns.items():
        kind, fmt, i = contract.field(column).type, declared.formats.get(column), index[source]
        texts = [cell_text(row[i] if i < len(row) else None, kind, fmt) for row in cells.rows]
        if missing:
            texts = [None if t is not None and t.casefold() in missing else t for t in texts]
        if column in declared.values:
            texts = _translated(texts, declared.values[column], keep_others=True)
        produced[column] = texts
    n = len(cells.rows)
    for column, text in declared.constants.items():
        produced[column] = [text] * n
    for column, template in declared.templates.items():
        produced[column] = [template.replace("{line}", str(line)) for line in cells.lines]
    for column, derived in declared.derive.items():
        produced[column] = _translated(produced[derived.source], derived.table, keep_others=False)
    for column, name_column in declared.sponsor_ids.items():
        produced[column] = [sponsor_id(name) if name is not None else None for name in produced[name_column]]
    if declared.known_on_from or declared.known_on:
        source_days = produced.get(declared.known_on_from or "", [None] * n)
        produced["known_on"] = [d if d is not None and _ISO_DAY.match(d) else declared.known_on for d in source_days]
    yield from produced.items()


def read_declared_file(path: Path, declared: DeclaredFile) -> RawBatch:
    """One declared file as a raw text batch in contract columns (see the module docstring)."""
    cells = _cells(path, declared.sheet)
    absent = [s for s in dict.fromkeys(declared.columns.values()) if s not in cells.header]
    if absent:
        shown = ", ".join(h for h in cells.header[:12] if h) + (", ..." if len(cells.header) > 12 else "")
        raise UnusableFile(f"declared column(s) {', '.join(absent)} not in the header (it has: {shown})")
    table = pa.table(
        {
            **{c: pa.array(v, pa.string()) for c, v in _columns(cells, declared)},
            LINE_COLUMN: pa.array(np.asarray(cells.lines, dtype=np.int64)),
        }
    )
    if cells.raw is None:
        return RawBatch(table, [], "spreadsheet", None, [])
    return RawBatch(table, cells.raw.rejected, cells.raw.encoding, cells.raw.delimiter, cells.raw.notes)
