"""Worklist exports for people who work in spreadsheets: CSV and XLSX with the same columns."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

COLUMNS = ("rank", "entity_type", "entity_id", "name", "region", "score", "band", "exploration", "top_reasons")


def _cell(value: Any) -> Any:
    # Spreadsheet formula injection: text starting with = + - @ is prefixed with a quote.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    out = []
    for item in items:
        reasons = "; ".join(f"{r['indicator_id']} {r['title']}" for r in item["reasons"])
        out.append(
            [
                _cell(v)
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


def to_csv(items: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(items))
    return buffer.getvalue()


def to_xlsx(items: list[dict[str, Any]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(COLUMNS))
    for r in rows(items):
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
