"""SVG charts (the waterfall adds up to the score) and spreadsheet exports (formula injection neutralised)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from models.reasons import Reason
from service.charts import history_svg, waterfall_svg
from service.exports import CONTROL_CHARACTERS, XLSX_CELL_CHARS, cell, to_csv, to_xlsx

REASONS = [
    Reason("E01", "Documents <retained>", None, "", 0.8, "/v1/indicators/E01"),
    Reason("E02", "Wages withheld", None, "", 0.4, "/v1/indicators/E02"),
]


def test_waterfall_has_a_bar_per_reason_and_the_rest() -> None:
    svg = str(waterfall_svg(-2.0, -0.5, REASONS))
    assert svg.count('<g class="step">') == 3  # two reasons + all other indicators (0.3)
    assert "+0.30" in svg and "all other indicators" in svg
    assert "&lt;retained&gt;" in svg and "<retained>" not in svg  # escaped
    assert "11.9%" in svg  # sigmoid(-2) for the base value
    widths = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg)]
    assert widths[0] > widths[1] > widths[2]
    assert "rule-based" in str(waterfall_svg(None, None, []))


def test_history_chart_points() -> None:
    history = [
        {"as_of": "2024-01-01", "probability": 0.2, "rank": 3, "band": "high"},
        {"as_of": "2024-04-01", "probability": 0.4, "rank": 1, "band": "high"},
    ]
    svg = str(history_svg(history))
    assert svg.count("<circle") == 2 and "<polyline" in svg and "2024-04-01" in svg
    assert "No score history" in str(history_svg([]))


def test_exports_neutralise_formulas() -> None:
    items = [
        {
            "rank": 1,
            "entity_type": "employer",
            "entity_id": "E1",
            "name": '=HYPERLINK("http://x")',
            "region": "R",
            "score": 0.5,
            "band": "high",
            "exploration": True,
            "reasons": [Reason("E01", "t", None, "", 1.0, "/v1/indicators/E01")],
        }
    ]
    row = next(csv.DictReader(io.StringIO(to_csv(items))))
    assert row["name"].startswith("'=") and row["exploration"] == "yes" and row["top_reasons"] == "E01 t"
    sheet = load_workbook(io.BytesIO(to_xlsx(items, "worklist employer"))).active
    assert sheet is not None
    assert str(sheet.cell(row=2, column=4).value).startswith("'=")


@pytest.mark.parametrize(
    "text",
    ["=1+1", "\uff1d1+1", "\uff0bcmd", "\uff0d1", "\uff20SUM(A1)", "\n=1+1", "\r\n=1+1", "  =1+1", "\t=1", "\u3000=1"],
)
def test_formula_starts_are_neutralised_in_any_form(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Evergreen Ltd", "A = B", "", "3-4 workers", "\uff21cme"])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert cell(text) == text


CONTROL_NAMES = [
    "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r") + "Ltd",
    "Bell\x07 Farms",
    "\x1b[2J\x1b[HOrchard",
    "Next\x85Line\x7f Co",
    "\x00=1+1",  # after cleaning, a formula start: quoted
]


def _item(name: str, region: str | None = "R") -> dict[str, object]:
    return {
        "rank": 1,
        "entity_type": "employer",
        "entity_id": "E1",
        "name": name,
        "region": region,
        "score": 0.5,
        "band": "high",
        "exploration": False,
        "reasons": [Reason("E01", "t\x0b", None, "", 1.0, "/v1/indicators/E01")],
    }


@pytest.mark.parametrize("name", CONTROL_NAMES)
def test_exports_hold_names_with_control_characters(name: str) -> None:
    """Whatever the lake holds: XLSX (which refuses C0 control characters) and CSV carry the same cleaned text."""
    items = [_item(name)]
    sheet = load_workbook(io.BytesIO(to_xlsx(items, "worklist\x00 employer: [x]"))).active
    assert sheet is not None
    written = str(sheet.cell(row=2, column=4).value)
    assert not CONTROL_CHARACTERS.search(written) and written == cell(name)
    assert str(sheet.cell(row=2, column=9).value) == "E01 t "
    row = next(csv.DictReader(io.StringIO(to_csv(items))))
    assert row["name"] == written and row["top_reasons"] == "E01 t "
    assert cell(cell(name)) == cell(name)
    assert cell("\x00=1+1") == "' =1+1"


def test_xlsx_cells_are_cut_to_what_excel_holds() -> None:
    sheet = load_workbook(io.BytesIO(to_xlsx([_item("x" * 40_000)], "w"))).active
    assert sheet is not None and len(str(sheet.cell(row=2, column=4).value)) == XLSX_CELL_CHARS
