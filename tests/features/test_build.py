"""Point-in-time features: golden values with their exclusions, and no leak from the future."""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from data_contracts.contracts import CONTRACTS
from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.names import name_key
from data_contracts.pseudonymise import pseudonym
from data_contracts.sources import load_source
from features.build import build_features, threshold_column
from features.registry import INDICATORS
from tests.ingestion import NOW, pseudonym_key

GOLDEN = Path(__file__).with_name("golden")
KEY = pseudonym_key("golden", "y")
# The golden records carry no known_on: ingested at NOW, long after their as-of dates, they are known from NOW.
# They fix what each indicator counts by event date, so they are read by event time; the known_on cut has its
# own tests (test_known_time.py).


def ingest_folder(home: Path, folder: Path) -> Lake:
    lake = Lake(home)
    source = load_source("csv", folder)
    for f in source.files(folder):
        report = ingest_file(lake, f, source, NOW, KEY)
        assert report.quarantined == 0, (f.path.name, report.reasons)
    return lake


@pytest.fixture()
def golden_lake(tmp_path: Path) -> Iterator[Lake]:
    lake = ingest_folder(tmp_path / "home", GOLDEN / "basic")
    yield lake
    lake.close()


def pseudonymous_id(entity: str, raw_id: str) -> str:
    """The id an official gets in the lake: officer identifiers are pseudonymised at ingestion."""
    if entity == "inspector":
        return pseudonym(KEY, raw_id)
    if entity in ("visa_desk", "border_post"):
        post, officer = raw_id.split(":")
        return f"{post}:{pseudonym(KEY, officer)}"
    return raw_id


# The golden values are hand-derived raw values: a shrunk share's is its num / den (the __raw column).
RAW_COLUMN = {i.feature: threshold_column(i) for i in INDICATORS}


def _rows(table: pa.Table) -> dict[str, dict[str, object]]:
    return {r["entity_id"]: r for r in table.to_pylist()}


def test_golden_values_true_positives_and_exclusions(golden_lake: Lake) -> None:
    expected = json.loads((GOLDEN / "basic" / "expected.json").read_text())
    tables = build_features(golden_lake, date.fromisoformat(expected["as_of"]), event_time=True)
    checked = 0
    for entity in ("employer", "recruiter", "visa_desk", "border_post", "inspector"):
        rows = _rows(tables[entity].table)
        for raw_id, values in expected[entity].items():
            entity_id = pseudonymous_id(entity, raw_id)
            assert entity_id in rows, f"{entity} {raw_id} missing"
            for column, want in values.items():
                got = rows[entity_id][RAW_COLUMN.get(column, column)]
                if want is None:
                    assert got is None or (isinstance(got, float) and math.isnan(got)), (entity_id, column, got)
                else:
                    assert got == pytest.approx(want), (entity_id, column, got, want)
                checked += 1
    for entity, ids in expected["absent"].items():
        assert not set(ids) & set(_rows(tables[entity].table)), f"{ids} registered after the as-of date"
    assert checked >= 25


def test_red_flag_count_uses_declared_thresholds(golden_lake: Lake) -> None:
    tables = build_features(golden_lake, date(2024, 6, 30), ("employer",), event_time=True)
    ft = tables["employer"]
    rn1 = _rows(ft.table)["RN1"]
    # E01, E02, E03, E14 (share > 0), E12 (high-risk sector), E06 (top decile) at least.
    flags = rn1["red_flags"]
    assert isinstance(flags, int) and flags >= 5
    assert ft.cutoffs["E01"] == 0.0 and ft.cutoffs["E12"] == 0.5


def test_records_after_the_as_of_date_change_nothing(tmp_path: Path) -> None:
    as_of = date(2024, 6, 30)
    before = ingest_folder(tmp_path / "a", GOLDEN / "basic")
    baseline = build_features(before, as_of, event_time=True)
    before.close()
    # The same lake plus records dated on or after the as-of date, touching every record type.
    later = tmp_path / "later"
    shutil.copytree(GOLDEN / "basic", later)
    late: dict[str, tuple[list[str], list[str]]] = {
        "labour_inspection": (
            [*CONTRACTS["labour_inspection"].required, "finding_retention_of_identity_documents"],
            ["I9", "insp", "I9", "RN2", "LI1", "2024-06-30", "complaint", "prosecution", "true"],
        ),
        "enforcement_outcome": (
            ["record_id", "source", "outcome_id", "entity_type", "entity_ref", "decided_on", "kind"],
            ["E9", "court", "E9", "employer", "RN3", "2024-07-01", "debarment"],
        ),
        "visa_application": (
            [*CONTRACTS["visa_application"].required, "sponsor_registration_no", "decided_at", "document_check_flag"],
            [
                "A9",
                "visa",
                "A9",
                "ALD-MAN",
                "CO2",
                "work",
                "P9",
                "2024-06-30T09:00:00",
                "approved",
                "RN2",
                "2024-07-01T09:00:00",
                "true",
            ],
        ),
        "border_crossing": (
            CONTRACTS["border_crossing"].required,
            ["X9", "border", "X9", "BP1", "BO1", "2024-06-30T23:00:00", "in", "P9", "admitted"],
        ),
    }
    for record_type, (header, row) in late.items():
        with open(later / f"{record_type}-late.csv", "w", newline="") as handle:
            w = csv.writer(handle)
            w.writerow(header)
            w.writerow(row)
    after = ingest_folder(tmp_path / "b", later)
    leaked = build_features(after, as_of, event_time=True)
    after.close()
    for entity, ft in baseline.items():
        assert leaked[entity].table.equals(ft.table), f"{entity} features changed by records after {as_of}"


def test_name_key_reduces_variants() -> None:
    assert (
        name_key("Sunrise Agro Fields Ltd")
        == name_key("SUNRISE AGRO FIELDS")
        == name_key("Sunrise Agro Fields Limited")
        == "sunrise agro fields"
    )
