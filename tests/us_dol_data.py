"""Shared fixtures for the US DOL tests: the real public data in place (never copied into the repo)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from data_contracts.sources.declared import DeclaredFile
from models.evaluate import CEILING_ON_LABELS

DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DEBARMENTS = "dol_h2_debarments/buzzfeed_2016/debarments-2010-2014.csv"


def require_data() -> Path:
    if not (DATA_DIR / "oflc_h2_disclosure").is_dir():
        pytest.skip(f"the US DOL public data is not at {DATA_DIR} (../shared/data beside the checkout)")
    return DATA_DIR


def hand_made_backtest(entity: str) -> dict[str, object]:
    """A hand-made backtest result (the shape ``backtest`` returns), figures invented."""
    ranking = {
        "average_precision": 0.25,
        "average_precision_ci95": [0.125, 0.375],
        "roc_auc": 0.75,
        "roc_auc_ci95": [0.625, 0.875],
        "precision_at_50": 0.5,
        "precision_at_50_ci95": [0.25, 0.75],
        "lift_at_50": 5.0,
        "lift_at_50_ci95": [2.5, 7.5],
    }
    count = dict(ranking, average_precision=0.0625, precision_at_100_expected=0.01)
    return {
        "entity": entity,
        "as_of": "2013-01-01",
        "labels_from": "2013-01-01",
        "labels_to": "2014-12-31",
        "served": "model",
        "served_reason": "on the fold the model's precision@100 is above the count's in 90% of 1000 resamples",
        "entities_scored": 1000,
        "entities_judged": 998,
        "positives": 10,
        "positives_new": 10,
        "positives_known": 2,
        "base_rate": 0.01,
        "later_debarments": 12,
        "later_debarments_linked_to_a_filer": 9,
        "training_origins": [{"origin": "2012-01-01", "labels_to": "2013-01-01", "rows": 900, "positives": 4}],
        "rankings": {
            "served": dict(ranking, precision_at_100_expected=0.04),
            "model": dict(ranking, precision_at_100_expected=0.04),
            "rule_contractor_then_size": dict(ranking, roc_auc=0.625),
            "red_flag_count": count,
            "random": dict(ranking, average_precision=0.01, precision_at_100_expected=0.01),
        },
        "paired": {
            "model_vs_rule_contractor_then_size": {
                "roc_auc": {"model_higher_share": 0.875, "model_lower_share": 0.125, "difference_ci95": [-0.5, 0.25]}
            }
        },
        "bootstrap": {"resamples": 1000, "seed": 7, "level": 0.95},
        "gain": {"model": [[0.0, 0.0], [0.5, 0.75], [1.0, 1.0]]},
        "ceiling": {"fitted_on": CEILING_ON_LABELS, "precision_at_k": 0.5, "average_precision": 0.3125, "folds": 5},
    }


# ------------------------------------------------------- hand-made files laid out as us-dol.toml declares them
def write_xlsx(path: Path, sheet: str, header: list[str], rows: list[list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    table = book.active
    assert table is not None
    table.title = sheet
    table.append(header)
    for row in rows:
        table.append(row)
    book.save(path)
    return path


def filing(case: str, employer: str, status: str, state: str = "KENTUCKY", unit: str = "HR") -> dict[str, Any]:
    """A disclosure row by its contract columns (source columns come from the file's declaration)."""
    return {
        "application_id": case,
        "decided_on": datetime(2010, 3, 4, 15, 22, 21),
        "submitted_on": datetime(2010, 1, 12),
        "case_status": status,
        "sponsor_name": employer,
        "sponsor_city": "LEXINGTON",
        "sponsor_region": state,
        "sponsor_postal_code": 40509,
        "agent_name": "RAY WILCOXSON, INC.",
        "agent_city": "HORSE CAVE",
        "agent_region": "KY",
        "occupation": "FARMWORKER",
        "workers_requested": 12.0,
        "workers_certified": 10,
        "declared_wage": "$9.13",
        "wage_unit": unit,
        "worksite_city": "LEXINGTON",
        "worksite_region": "KY",
        "sponsor_category": "Individual Employer",
        "crop": "Tobacco",
    }


def write_filings(root: Path, decl: DeclaredFile, rows: list[dict[str, Any]], **change: Any) -> Path:
    """A disclosure workbook laid out as ``decl`` declares it; change: header=, drop=, sheet= to break it."""
    columns = [c for c in decl.columns if c != change.get("drop")]
    header = [decl.columns[c] for c in columns]
    header = [change.get("header", {}).get(h, h) for h in header]
    assert decl.sheet is not None
    return write_xlsx(
        root / decl.path, change.get("sheet", decl.sheet), header, [[r.get(c) for c in columns] for r in rows]
    )


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_debarments(root: Path) -> Path:
    header = ["Program", "Entity Debarred", "City", "State", "Start Date", "End Date", "Sources", "Notes"]
    rows = [
        ["H-2A", "Ochoa Farming Inc.", "Santa Maria", "CA", "2011-02-18", "2013-02-17", "oflc-spreadsheet", ""],
        ["H-2B", "Keller Farms, Inc.", "Collinsville", "IL", "2012-05-01", "2015-04-30", "oflc-spreadsheet", ""],
    ]
    return write_csv(root / DEBARMENTS, header, rows)
