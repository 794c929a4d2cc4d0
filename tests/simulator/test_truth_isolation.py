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


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
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
            if found := _violations(path):
                problems[rel] = found
    assert checked > 0
    assert problems == {}


def test_the_guard_catches_a_truth_reader(tmp_path: Path) -> None:
    bad = tmp_path / "leaky.py"
    bad.write_text("from simulator.truth import load_truth\nPATH = 'world/truth/employers'\n")
    assert len(_violations(bad)) == 2


def test_export_carries_no_truth_field(tiny_world: Path) -> None:
    for name in EXPORT_TABLES:
        columns = duckdb.sql(f"describe select * from read_parquet('{tiny_world}/export/{name}/*.parquet')").fetchall()
        assert not {c[0] for c in columns} & TRUTH_FIELDS, name
    assert not list((tiny_world / "export").rglob("*truth*"))
