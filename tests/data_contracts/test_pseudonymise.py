"""Person and official identifiers are pseudonymised at ingestion: in the lake and in quarantine, once."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.contracts import CONTRACTS
from data_contracts.lake import Lake
from data_contracts.pseudonymise import pseudonym
from tests.data_contracts.test_ingest import (
    INSPECTION_HEADER,
    KEY,
    by_file,
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


# ---------------------------------------------------------------- nothing raw stored anywhere


def _texts(value: object) -> list[str]:
    """Every string within ``value`` (lists, dicts and JSON text opened up)."""
    if isinstance(value, str):
        try:
            opened = json.loads(value)
        except ValueError:
            return [value]
        return [value, *_texts(opened)] if isinstance(opened, dict | list) else [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _texts(v)]
    return []


def _stored_texts(lake: Lake) -> list[str]:
    """Every text value the lake holds: read back from every Parquet file under its home (lake and quarantine)
    and from every table of its DuckDB catalogue (ledger, record index)."""
    files = sorted(lake.home.rglob("*.parquet"))
    assert files
    texts = [t for path in files for t in _texts(pq.read_table(path).to_pylist())]
    for (table,) in lake.con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        texts += _texts(lake.con.sql(f'SELECT * FROM "{table}"').to_arrow_table().to_pylist())
    return texts


def _assert_stored_nowhere(lake: Lake, *raw: str) -> None:
    texts = _stored_texts(lake)
    for value in raw:
        found = [t for t in texts if value in t]
        assert not found, f"{value!r} stored in {found[:3]}"
        for path in lake.home.rglob("*"):
            if path.is_file():
                assert value.encode() not in path.read_bytes(), (value, path)


def test_undeclared_columns_are_pseudonymised_in_lake_and_quarantine(tmp_path: Path, lake: Lake) -> None:
    """A source that sends a passport number or a name under a column the contract does not declare: the lake
    keeps the pseudonym (the same as the value would get as a person id), in extra_fields and in quarantine."""
    folder = landing(tmp_path)
    header = [*INSPECTION_HEADER, "applicant_passport_no", "traveller_name"]
    rows = [
        inspection_row(1, applicant_passport_no="P4410092", traveller_name="Maria Q. Traveller"),
        inspection_row(2, applicant_passport_no="P5520183", traveller_name="Ivan R. Wanderer", trigger="?"),
    ]
    write_csv(folder / "labour_inspection.csv", header, rows)
    report = by_file(ingest_folder(lake, folder))["labour_inspection.csv"]
    assert (report.accepted, report.quarantined) == (1, 1)
    assert report.unknown_columns == ["applicant_passport_no", "traveller_name"]
    assert "unknown columns pseudonymised in extra_fields: applicant_passport_no, traveller_name" in report.notes
    assert not any("declared extras" in note for note in report.notes), report.notes

    extra = json.loads(lake.current("labour_inspection").column("extra_fields").to_pylist()[0])
    assert extra == {
        "applicant_passport_no": pseudonym(KEY, "P4410092"),
        "traveller_name": pseudonym(KEY, "Maria Q. Traveller"),
    }
    bad = pq.read_table(lake.files("labour_inspection", "quarantine_file")[0]).to_pylist()[0]
    assert (bad["applicant_passport_no"], bad["traveller_name"]) == (
        pseudonym(KEY, "P5520183"),
        pseudonym(KEY, "Ivan R. Wanderer"),
    )
    _assert_stored_nowhere(lake, "P4410092", "P5520183", "Maria Q. Traveller", "Ivan R. Wanderer")


OUTCOME_HEADER = ["record_id", "source", "outcome_id", "entity_type", "entity_ref", "entity_name", "decided_on", "kind"]


def _outcome_rows(outcomes: list[tuple[str, ...]]) -> list[dict[str, str]]:
    """(record id, entity type, entity ref, entity name, decided on, kind[, extra columns...]) -> CSV rows."""
    return [dict(zip(OUTCOME_HEADER, (r[0], "s", r[0], *r[1:7]), strict=True)) for r in outcomes]


def _outcomes_by_id(table: pa.Table) -> dict[str, tuple[str | None, str | None]]:
    return {r["record_id"]: (r["entity_ref"], r["entity_name"]) for r in table.to_pylist()}


def test_a_desk_officer_named_in_an_outcome_is_pseudonymised(tmp_path: Path, lake: Lake) -> None:
    """An integrity case on a desk names the officer: neither the officer's id nor name is stored; an
    organisation's reference and name are kept as they are."""
    folder = landing(tmp_path)
    outcomes = [
        ("O1", "visa_desk", "COR-MAN:CO123456", "Officer Jane Doe", "2024-01-05", "integrity_case_substantiated"),
        ("O2", "inspector", "LI7777", "  Inspector John Roe ", "2024-01-06", "conviction"),
        ("O3", "border_post", "BP-NORTH:BO5555", "", "2024-01-06", "integrity_case_substantiated"),
        ("O4", "employer", "RN1", "Org 1 Ltd", "2024-01-07", "debarment"),
        ("O5", "recruiter", "REC9", "Fast Jobs Agency", "2024-01-07", "licence_revocation"),
    ]
    write_csv(folder / "enforcement_outcome.csv", OUTCOME_HEADER, _outcome_rows(outcomes))
    report = by_file(ingest_folder(lake, folder))["enforcement_outcome.csv"]
    assert (report.accepted, report.quarantined) == (5, 0), report.as_json()
    assert _outcomes_by_id(lake.current("enforcement_outcome")) == {
        "O1": ("COR-MAN:" + pseudonym(KEY, "CO123456"), pseudonym(KEY, "Officer Jane Doe")),
        "O2": (pseudonym(KEY, "LI7777"), pseudonym(KEY, "Inspector John Roe")),
        "O3": ("BP-NORTH:" + pseudonym(KEY, "BO5555"), None),
        "O4": ("RN1", "Org 1 Ltd"),
        "O5": ("REC9", "Fast Jobs Agency"),
    }
    _assert_stored_nowhere(lake, "Jane Doe", "John Roe", "CO123456", "LI7777", "BO5555")


def test_quarantined_outcomes_fail_closed_unless_about_an_organisation(tmp_path: Path, lake: Lake) -> None:
    """A quarantined row whose entity_type is misspelt, empty or absent may be about an official: its reference
    and name are pseudonymised whole. A quarantined organisation row keeps them, and so does a value that already
    is a pseudonym."""
    folder = landing(tmp_path)
    already = pseudonym(KEY, "CO424242")
    outcomes = [
        ("Q1", "Visa_Desk", "COR-MAN:CO999999", "Officer Ann Smith", "2024-01-05", "integrity_case_substantiated"),
        ("Q2", "", "LI3131", "Inspector Bo Lee", "2024-01-05", "conviction"),
        ("Q3", "desk", already, "", "2024-01-05", "conviction"),
        ("Q4", " employer ", "RN1", "Org 1 Ltd", "2099-01-01", "debarment"),  # decided in the future
        ("Q5", "visa_desk", "COR-MAN:CO777777", "Officer Cy Park", "2024-01-05", "no_such_kind"),
    ]
    write_csv(folder / "enforcement_outcome.csv", OUTCOME_HEADER, _outcome_rows(outcomes))
    report = by_file(ingest_folder(lake, folder))["enforcement_outcome.csv"]
    assert (report.accepted, report.quarantined) == (0, 5), report.as_json()
    quarantined = pq.read_table(lake.files("enforcement_outcome", "quarantine_file")[0])
    assert _outcomes_by_id(quarantined) == {
        "Q1": (pseudonym(KEY, "COR-MAN:CO999999"), pseudonym(KEY, "Officer Ann Smith")),
        "Q2": (pseudonym(KEY, "LI3131"), pseudonym(KEY, "Inspector Bo Lee")),
        "Q3": (already, None),
        "Q4": ("RN1", "Org 1 Ltd"),
        "Q5": ("COR-MAN:" + pseudonym(KEY, "CO777777"), pseudonym(KEY, "Officer Cy Park")),
    }
    _assert_stored_nowhere(lake, "CO999999", "Ann Smith", "LI3131", "Bo Lee", "CO777777", "Cy Park")


def test_an_outcome_file_without_entity_type_keeps_no_reference_raw(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    header = [c for c in OUTCOME_HEADER if c != "entity_type"]
    rows = [{"record_id": "Q1", "source": "s", "outcome_id": "Q1", "entity_ref": "COR-MAN:CO999999",
             "entity_name": "Officer Ann Smith", "decided_on": "2024-01-05", "kind": "conviction"}]  # fmt: skip
    write_csv(folder / "enforcement_outcome.csv", header, rows)
    report = by_file(ingest_folder(lake, folder))["enforcement_outcome.csv"]
    assert (report.accepted, report.quarantined) == (0, 1), report.as_json()
    _assert_stored_nowhere(lake, "CO999999", "Ann Smith")


def test_declared_plain_extras_are_kept_and_other_extras_pseudonymised(tmp_path: Path, lake: Lake) -> None:
    """enforcement_outcome declares the columns an outcome recorded through the service adds: they are kept as
    they are; any other undeclared column is pseudonymised, and the report says which was which. A line that
    cannot be parsed keeps only its shape, not its text."""
    folder = landing(tmp_path)
    plain = list(CONTRACTS["enforcement_outcome"].plain_extras)
    header = [*OUTCOME_HEADER, *plain, "applicant_passport_no"]
    extras = {"indicators_observed": "debt_bondage;isolation", "exploration": "true", "worklist_id": "wl-7"}
    rows = [{**_outcome_rows([("O1", "employer", "RN1", "Org 1 Ltd", "2024-01-07", "debarment")])[0], **extras,
             "applicant_passport_no": "P4410092"}]  # fmt: skip
    path = write_csv(folder / "enforcement_outcome.csv", header, rows)
    path.write_text(path.read_text() + "O2,s,O2,visa_desk,COR-MAN:CO123456,P5520183\n")  # too few fields
    report = by_file(ingest_folder(lake, folder))["enforcement_outcome.csv"]
    assert (report.accepted, report.quarantined) == (1, 1), report.as_json()
    assert report.notes[-2:] == [
        "unknown columns pseudonymised in extra_fields: applicant_passport_no",
        "unknown columns kept as declared extras in extra_fields: indicators_observed, exploration, worklist_id",
    ]
    extra = json.loads(lake.current("enforcement_outcome").column("extra_fields").to_pylist()[0])
    assert extra == {**extras, "applicant_passport_no": pseudonym(KEY, "P4410092")}
    _assert_stored_nowhere(lake, "P4410092", "P5520183", "CO123456")
