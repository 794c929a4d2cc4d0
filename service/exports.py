"""Exports for people who work in spreadsheets: CSV and XLSX with the same columns (worklists here; supply-chain
portfolios in service/portfolios.py use the same writers and the same cell rule)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"  # media type of to_xlsx
COLUMNS = ("rank", "entity_type", "entity_id", "name", "region", "score", "band", "exploration", "top_reasons")


FORMULA_STARTS = frozenset("=+-@")
# C0 control characters other than tab and line breaks (what XLSX cannot hold), DEL and C1 controls: each becomes
# a space, in CSV too, so both exports carry the same text.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def cell(value: Any) -> Any:
    """A value safe in a spreadsheet. Control characters other than tab and line breaks become spaces. Formula
    injection: text whose first visible character is = + - @ (full-width forms such as U+FF1D included, after any
    leading white space or line breaks), or that starts with a tab or line break, is prefixed with a quote.
    Idempotent: a value already made safe is returned unchanged."""
    if not isinstance(value, str) or not value:
        return value
    value = CONTROL_CHARACTERS.sub(" ", value)
    visible = value.lstrip()
    first = unicodedata.normalize("NFKC", visible[:1]) if visible else ""
    if value[:1] in ("\t", "\r", "\n") or first[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    out = []
    for item in items:
        reasons = "; ".join(f"{r.indicator_id} {r.title}" for r in item["reasons"])
        out.append(
            [
                cell(v)
                for v in (
                    item["rank"],
                    item["entity_type"],
                    item["entity_id"],
                    item["name"],
                    item.get("region"),
                    round(float(item["score"]), 6),
                    item.get("band"),
                    "yes" if item["exploration"] else "no",
                    reasons,
                )
            ]
        )
    return out


def table_csv(columns: Sequence[str], table: list[list[Any]]) -> str:
    """CSV of ``table`` under ``columns``; every cell through ``cell`` (whatever the caller passed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([cell(c) for c in columns])
    writer.writerows([cell(v) for v in r] for r in table)
    return buffer.getvalue()


XLSX_CELL_CHARS = 32_767  # the most characters an Excel cell holds
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")  # characters Excel refuses in a sheet name


def table_xlsx(columns: Sequence[str], table: list[list[Any]], title: str) -> bytes:
    """An XLSX workbook of ``table`` under ``columns``; every cell through ``cell`` (whatever the caller passed)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    safe_title = SHEET_TITLE_FORBIDDEN.sub(" ", CONTROL_CHARACTERS.sub(" ", title)).strip("' ")
    sheet.title = safe_title[:31] or "export"  # the longest sheet name Excel accepts
    sheet.append([cell(c) for c in columns])
    for r in table:
        sheet.append([_within_cell(cell(v)) for v in r])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _within_cell(value: Any) -> Any:
    return value[:XLSX_CELL_CHARS] if isinstance(value, str) else value


def to_csv(items: list[dict[str, Any]]) -> str:
    return table_csv(COLUMNS, rows(items))


def to_xlsx(items: list[dict[str, Any]], title: str) -> bytes:
    return table_xlsx(COLUMNS, rows(items), title)
