"""Person and official identifiers are pseudonymised at ingestion: in the lake and in quarantine, once."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from data_contracts.lake import Lake
from data_contracts.pseudonymise import pseudonym
from tests.data_contracts.test_ingest import (
    INSPECTION_HEADER,
    KEY,
    ingest_folder,
    inspection_row,
    landing,
    write_csv,
)


def test_person_identifiers_are_pseudonymised_in_lake_and_quarantine(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    write_csv(
        folder / "labour_inspection.csv",
        INSPECTION_HEADER,
        [inspection_row(1, inspector_id="LI777777"), inspection_row(2, inspector_id="LI888888", trigger="?")],
    )
    ingest_folder(lake, folder)
    accepted = lake.current("labour_inspection").column("inspector_id").to_pylist()
    assert accepted == [pseudonym(KEY, "LI777777")]
    quarantined = pq.read_table(lake.files("labour_inspection", "quarantine_file")[0])
    assert quarantined.column("inspector_id").to_pylist() == [pseudonym(KEY, "LI888888")]
    directors = lake.current("organisation").column("directors").to_pylist()[0]
    assert directors == f"{pseudonym(KEY, 'a. smith')}; {pseudonym(KEY, 'b. jones')}"
    for path in (lake.home / "lake").rglob("*.parquet"):
        text = path.read_bytes()
        assert b"LI777777" not in text and b"Smith" not in text


def test_official_refs_are_pseudonymised_once(tmp_path: Path, lake: Lake) -> None:
    """Raw officer refs are hashed; a ref that is already a pseudonym (an outcome recorded through the service
    on a scored desk) is kept, so it still names the scored entity."""
    folder = landing(tmp_path)
    already = "COR-MAN:" + pseudonym(KEY, "CO123456")
    header = ["record_id", "source", "outcome_id", "entity_type", "entity_ref", "decided_on", "kind"]
    # (record id, entity type, entity ref as recorded, decided on, kind)
    outcomes = [
        ("O1", "visa_desk", "COR-MAN:CO123456", "2024-01-05", "integrity_case_substantiated"),
        ("O2", "visa_desk", already, "2024-01-06", "integrity_case_substantiated"),
        ("O3", "inspector", pseudonym(KEY, "LI1"), "2024-01-07", "conviction"),
        ("O4", "employer", "RN1", "2024-01-07", "debarment"),
    ]
    rows = [dict(zip(header, (record_id, "s", record_id, *rest), strict=True)) for record_id, *rest in outcomes]
    write_csv(folder / "enforcement_outcome.csv", header, rows)
    ingest_folder(lake, folder)
    outcome = lake.current("enforcement_outcome")
    refs = dict(zip(outcome.column("record_id").to_pylist(), outcome.column("entity_ref").to_pylist(), strict=True))
    assert refs == {"O1": already, "O2": already, "O3": pseudonym(KEY, "LI1"), "O4": "RN1"}
