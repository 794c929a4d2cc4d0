"""Golden files per indicator: hand-written input records next to hand-derived expected values.

Each computable indicator of ``features.registry.INDICATORS`` has a folder ``golden/indicators/<ID>/`` with the
CSV records of its cases and ``expected.json``: the as-of date and, per case entity, its label (``true_positive``,
``exclusion: <what is excluded>``, or ``included: <a rule that counts it>`` for a case that must count without
firing), why, and the expected value, ``num`` and ``den`` (``null``: not measured).
A folder may name a shared record set under ``golden/indicators/_base/`` (``"base"``) that is ingested with it.
See ``golden/indicators/README.md``.
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.sources import load_source
from features.build import build_features, threshold_column
from features.registry import INDICATORS, Indicator
from tests.features.test_build import KEY, pseudonymous_id
from tests.ingestion import NOW

GOLDEN = Path(__file__).with_name("golden") / "indicators"
COMPUTABLE = [i for i in INDICATORS if i.sql is not None]
SKIPPED = {i.id: i.not_computable for i in INDICATORS if i.sql is None}
COLUMNS = {"value": "", "num": "__num", "den": "__den"}


def _expected(ind: Indicator) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / ind.id / "expected.json").read_text(encoding="utf-8"))
    return data


def _records(ind: Indicator, expected: dict[str, Any], into: Path) -> Path:
    """The indicator's CSV files plus those of its shared base set, in one landing folder."""
    into.mkdir(parents=True)
    base = expected.get("base")
    folders = [GOLDEN / "_base" / base] if base else []
    for folder in [*folders, GOLDEN / ind.id]:
        for f in sorted(folder.glob("*.csv")):
            target = into / f.name
            assert not target.exists(), f"{f.name} is both in the base set and in {ind.id}"
            shutil.copy(f, target)
    return into


def _ingest(home: Path, folder: Path) -> Lake:
    """Like test_build.ingest_folder, and stricter: every file usable, every row accepted, no unknown column."""
    lake = Lake(home)
    source = load_source("csv", folder)
    for f in source.files(folder):
        report = ingest_file(lake, f, source, NOW, KEY)
        with open(f.path, encoding="utf-8") as handle:
            rows = sum(1 for line in handle if line.strip()) - 1
        assert report.error is None, (f.path.name, report.error)
        assert (report.accepted, report.quarantined) == (rows, 0), (f.path.name, report.reasons)
        assert not report.unknown_columns, (f.path.name, report.unknown_columns)
    return lake


def _same(got: object, want: object) -> bool:
    if want is None:
        return got is None or (isinstance(got, float) and math.isnan(got))
    assert isinstance(want, int | float), want
    return isinstance(got, int | float) and not math.isnan(got) and math.isclose(got, want, rel_tol=0, abs_tol=1e-9)


def test_every_computable_indicator_has_a_golden_folder() -> None:
    folders = {p.name for p in GOLDEN.iterdir() if p.is_dir() and not p.name.startswith("_")}
    missing = sorted({i.id for i in COMPUTABLE} - folders)
    assert not missing, f"indicators without golden files in {GOLDEN}: {missing}"
    assert not folders - {i.id for i in INDICATORS}, "golden folder of an indicator the registry does not have"
    assert not folders & set(SKIPPED), "golden folder of an indicator declared not computable"


@pytest.mark.parametrize("ind", COMPUTABLE, ids=[i.id for i in COMPUTABLE])
def test_indicator_golden_cases(ind: Indicator, tmp_path: Path) -> None:
    expected = _expected(ind)
    assert expected["indicator"] == ind.id
    cases: dict[str, dict[str, Any]] = expected["cases"]
    labels = [c["case"] for c in cases.values()]
    assert "true_positive" in labels, "at least one true positive"
    assert any(label.startswith("exclusion: ") for label in labels), "at least one exclusion"
    assert all(label == "true_positive" or label.startswith(("exclusion: ", "included: ")) for label in labels), labels

    lake = _ingest(tmp_path / "home", _records(ind, expected, tmp_path / "landing"))
    try:
        # By event time: the golden records carry no known_on (see test_build.NOW).
        ft = build_features(lake, date.fromisoformat(expected["as_of"]), (ind.entity,), event_time=True)[ind.entity]
    finally:
        lake.close()
    rows = {r["entity_id"]: r for r in ft.table.to_pylist()}
    cutoff = ft.cutoffs[ind.id]
    checked = 0
    for raw_id, case in cases.items():
        entity_id = pseudonymous_id(ind.entity, raw_id)
        if case.get("absent"):
            assert entity_id not in rows, f"{raw_id} should not be an entity ({case['case']})"
            continue
        assert entity_id in rows, f"{raw_id} missing ({case['case']})"
        row = rows[entity_id]
        for key, suffix in COLUMNS.items():
            assert key in case, f"{raw_id}: no expected {key}"
            # The golden value is the hand-derived raw value: a shrunk share's num / den.
            got = row[threshold_column(ind) if key == "value" else ind.feature + suffix]
            assert _same(got, case[key]), f"{raw_id} {key}: got {got}, want {case[key]} ({case['case']})"
            checked += 1
        if case["case"] == "true_positive":
            value = row[threshold_column(ind)]
            fires = value is not None and (value > cutoff if ind.direction > 0 else value < cutoff)
            assert fires, f"{raw_id}: {value} does not fire (cut-off {cutoff})"
    assert checked > 0
