"""The hidden truth is for evaluation only: no contract, feature, training or serving code may read it."""

from __future__ import annotations

import ast
from pathlib import Path

import duckdb

from simulator.schema import EXPORT_TABLES

ROOT = Path(__file__).resolve().parents[2]
GUARDED_PACKAGES = ("data_contracts", "features", "models", "flows", "service")
# Modules allowed to read the truth: evaluation against the simulator's truth, nothing else.
TRUTH_READERS = {"models/truth_evaluation.py"}
TRUTH_EVALUATION = "models.truth_evaluation"
# Modules allowed to import it: the evaluation run, which reports what it measures and chooses nothing. Any other
# import (its folder name, its loaders) would hand the truth to code the served ranking depends on.
TRUTH_REPORTERS = {"models/evaluation_run.py"}
TRUTH_FIELDS = {
    "exploitative",
    "abusive",
    "corrupt",
    "network_recruiter_ref",
    "successor_of",
    "document_fraudulent",
    "placed_in_work_on_visitor_visa",
    "in_registry",
}


def _violations(path: Path, may_import_truth_evaluation: bool = False) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not may_import_truth_evaluation and (
            (isinstance(node, ast.ImportFrom) and node.module == TRUTH_EVALUATION)
            or (isinstance(node, ast.Import) and any(a.name == TRUTH_EVALUATION for a in node.names))
        ):
            found.append(f"line {node.lineno}: imports {TRUTH_EVALUATION}")
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and (
                node.module == "simulator.truth"
                or (node.module == "simulator.world" and any(a.name == "TRUTH_DIR" for a in node.names))
            )
        ):
            found.append(f"line {node.lineno}: imports {node.module}")
        if isinstance(node, ast.Import) and any(a.name == "simulator.truth" for a in node.names):
            found.append(f"line {node.lineno}: imports simulator.truth")
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and (node.value == "truth" or "truth/" in node.value or "/truth" in node.value)
        ):
            found.append(f"line {node.lineno}: path literal {node.value!r}")
    return found


def test_no_pipeline_module_reads_the_truth_folder() -> None:
    checked = 0
    problems: dict[str, list[str]] = {}
    for package in GUARDED_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            checked += 1
            if rel in TRUTH_READERS:
                continue
            if found := _violations(path, rel in TRUTH_REPORTERS):
                problems[rel] = found
    assert checked > 0
    assert problems == {}


def test_the_guard_catches_a_truth_reader(tmp_path: Path) -> None:
    bad = tmp_path / "leaky.py"
    bad.write_text("from simulator.truth import load_truth\nPATH = 'world/truth/employers'\n")
    assert len(_violations(bad)) == 2


def test_the_guard_catches_a_module_borrowing_the_truth_folder_from_the_evaluation(tmp_path: Path) -> None:
    bad = tmp_path / "leaky.py"
    bad.write_text("from models.truth_evaluation import TRUTH_FOLDER\nimport models.truth_evaluation\n")
    assert _violations(bad) == [f"line 1: imports {TRUTH_EVALUATION}", f"line 2: imports {TRUTH_EVALUATION}"]
    assert _violations(bad, may_import_truth_evaluation=True) == []


def test_export_carries_no_truth_field(tiny_world: Path) -> None:
    for name in EXPORT_TABLES:
        columns = duckdb.sql(f"describe select * from read_parquet('{tiny_world}/export/{name}/*.parquet')").fetchall()
        assert not {c[0] for c in columns} & TRUTH_FIELDS, name
    assert not list((tiny_world / "export").rglob("*truth*"))
