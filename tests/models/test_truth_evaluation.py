"""Evaluation reads the simulator's truth through its file format, without loading the simulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from models.truth_evaluation import truth_rows
from simulator.truth import load_truth

ROOT = Path(__file__).resolve().parents[2]
EVALUATED_TABLES = ("employers", "recruiters", "recruiter_names", "visa_desks", "border_officers", "inspectors")


def test_importing_truth_evaluation_loads_no_simulator_module() -> None:
    check = "import models.truth_evaluation, sys; assert not any(m.startswith('simulator') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True)


@pytest.mark.parametrize("table", EVALUATED_TABLES)
def test_truth_rows_are_the_rows_the_simulator_wrote(tiny_world: Path, table: str) -> None:
    rows = truth_rows(tiny_world, table)
    assert rows
    assert rows == load_truth(tiny_world, table).to_pylist()


def test_a_folder_without_truth_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="tracerisk simulate"):
        truth_rows(tmp_path, "employers")
