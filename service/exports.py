"""Exports for people who work in spreadsheets: CSV and XLSX with the same columns (worklists here; supply-chain
portfolios in service/portfolios.py use the same writers and the same cell rule)."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

COLUMNS = ("rank", "entity_type", "entity_id", "name", "region", "score", "band", "exploration", "top_reasons")


FORMULA_STARTS = frozenset("=+-@")


def cell(value: Any) -> Any:
    """Spreadsheet formula injection: text whose first visible character is = + - @ (full-width forms such as
    U+FF1D included, after any leading white space or line breaks), or that starts with a tab or line break, is
    prefixed with a quote."""
    if not isinstance(value, str) or not value:
        return value
    visible = value.lstrip()
    first = unicodedata.normalize("NFKC", visible[:1]) if visible else ""
    if value[:1] in ("\t", "\r", "\n") or first[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    out = []
    for item in items:
        reasons = "; ".join(f"{r['indicator_id']} {r['title']}" for r in item["reasons"])
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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(table)
    return buffer.getvalue()


def table_xlsx(columns: Sequence[str], table: list[list[Any]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]  # the longest sheet name Excel accepts
    sheet.append(list(columns))
    for r in table:
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_csv(items: list[dict[str, Any]]) -> str:
    return table_csv(COLUMNS, rows(items))


def to_xlsx(items: list[dict[str, Any]], title: str) -> bytes:
    return table_xlsx(COLUMNS, rows(items), title)
