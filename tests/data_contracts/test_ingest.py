"""Ingestion through the contracts: nothing invalid gets in, nothing valid gets lost (no Prefect here)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_contracts.contracts import CONTRACTS
from data_contracts.ingest import FileReport, ingest_file
from data_contracts.lake import Lake
from data_contracts.pseudonymise import pseudonym
from data_contracts.reader import MAX_COLUMNS, MAX_LINE_BYTES
from data_contracts.sources import load_source
from data_contracts.validate import CUT_MARK, QUARANTINE_VALUE_CHARS
from tests.ingestion import NOW, pseudonym_key

KEY = pseudonym_key("test", "x")
ORG_HEADER = [
    "record_id",
    "source",
    "batch_id",
    "registration_no",
    "name",
    "sector",
    "country",
    "region",
    "registered_on",
    "address",
    "phone",
    "directors",
    "employees",
]
INSPECTION_HEADER = [
    "record_id",
    "source",
    "inspection_id",
    "organisation_registration_no",
    "worksite_name",
    "inspector_id",
    "inspected_on",
    "trigger",
    "announced",
    "workers_present",
    "migrant_workers",
    "finding_retention_of_identity_documents",
    "avg_weekly_hours",
    "outcome",
]


def org_row(i: int, **over: str) -> dict[str, str]:
    row = {
        "record_id": f"ORG{i}",
        "source": "register",
        "batch_id": "b1",
        "registration_no": f"RN{i}",
        "name": f"Org {i} Ltd",
        "sector": "agriculture",
        "country": "Aldoria",
        "region": "Aldoria-R1",
        "registered_on": "2015-03-01",
        "address": "1 Main Road",
        "phone": "+100",
        "directors": "A. Smith; B. Jones",
        "employees": "25",
    }
    row.update(over)
    return row


def inspection_row(i: int, **over: str) -> dict[str, str]:
    row = {
        "record_id": f"INS{i}",
        "source": "inspectorate",
        "inspection_id": f"INS{i}",
        "organisation_registration_no": "RN1",
        "worksite_name": "Org 1",
        "inspector_id": "LI123456",
        "inspected_on": "2024-05-02",
        "trigger": "random",
        "announced": "false",
        "workers_present": "20",
        "migrant_workers": "5",
        "finding_retention_of_identity_documents": "true",
        "avg_weekly_hours": "52.5",
        "outcome": "administrative",
    }
    row.update(over)
    return row


def write_csv(
    path: Path, header: list[str], rows: list[dict[str, str]], delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=header, delimiter=delimiter, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def ingest_folder(lake: Lake, folder: Path) -> list[FileReport]:
    source = load_source("csv", folder)
    return [ingest_file(lake, f, source, NOW, KEY) for f in source.files(folder)]


def by_file(reports: list[FileReport]) -> dict[str, FileReport]:
    return {Path(r.file).name: r for r in reports}


def empty_landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


def landing(tmp_path: Path) -> Path:
    """A landing folder holding a valid organisation.csv of two rows."""
    folder = empty_landing(tmp_path)
    write_csv(folder / "organisation.csv", ORG_HEADER, [org_row(1), org_row(2)])
    return folder


def test_valid_files_are_accepted_and_reconcile(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    write_csv(folder / "labour_inspection.csv", INSPECTION_HEADER, [inspection_row(1), inspection_row(2)])
    reports = by_file(ingest_folder(lake, folder))
    assert reports["organisation.csv"].accepted == 2
    assert reports["labour_inspection.csv"].accepted == 2
    for r in reports.values():
        assert r.read == r.accepted + r.quarantined
    orgs = lake.current("organisation")
    assert sorted(orgs.column("registration_no").to_pylist()) == ["RN1", "RN2"]


def test_empty_file_is_unusable_and_the_others_are_still_ingested(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    (folder / "visa_application.csv").write_bytes(b"")
    reports = by_file(ingest_folder(lake, folder))
    assert reports["visa_application.csv"].status == "unusable"
    assert "empty" in (reports["visa_application.csv"].error or "")
    assert reports["organisation.csv"].accepted == 2


def test_header_only_file_reads_zero_rows(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    write_csv(folder / "labour_inspection.csv", INSPECTION_HEADER, [])
    report = by_file(ingest_folder(lake, folder))["labour_inspection.csv"]
    assert (report.status, report.read, report.accepted, report.quarantined) == ("committed", 0, 0, 0)


def test_missing_required_column_quarantines_every_row_with_the_reason(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    header = [c for c in INSPECTION_HEADER if c != "trigger"]
    write_csv(folder / "labour_inspection.csv", header, [inspection_row(1), inspection_row(2)])
    report = by_file(ingest_folder(lake, folder))["labour_inspection.csv"]
    assert report.quarantined == 2 and report.reasons == {"trigger:missing_column": 2}


def test_unknown_column_is_kept_pseudonymised_and_reported(tmp_path: Path, lake: Lake) -> None:
    """A column the contract does not declare may name a person: it is kept as the pseudonym of its value."""
    folder = landing(tmp_path)
    rows = [inspection_row(1, inspector_notes="dormitory locked at night")]
    write_csv(folder / "labour_inspection.csv", [*INSPECTION_HEADER, "inspector_notes"], rows)
    report = by_file(ingest_folder(lake, folder))["labour_inspection.csv"]
    assert report.accepted == 1 and report.unknown_columns == ["inspector_notes"]
    assert "unknown columns pseudonymised in extra_fields: inspector_notes" in report.notes, report.notes
    stored = lake.current("labour_inspection").column("extra_fields").to_pylist()
    assert stored == [
        json.dumps({"inspector_notes": pseudonym(KEY, "dormitory locked at night")}, separators=(",", ":"))
    ]


@pytest.mark.parametrize(
    "column, value, rule",
    [
        ("workers_present", "twelve", "workers_present:type"),
        ("announced", "perhaps", "announced:type"),
        ("inspected_on", "31/02/2024", "inspected_on:type"),
        ("inspected_on", "not recorded", "inspected_on:type"),
        ("inspected_on", "2099-01-01", "inspected_on:in_future"),
        ("inspected_on", "1800-01-01", "inspected_on:too_early"),
        ("inspected_on", "0001-01-01", "inspected_on:too_early"),
        ("workers_present", "-4", "workers_present:below_min"),
        ("avg_weekly_hours", "400", "avg_weekly_hours:above_max"),
        ("trigger", "whim", "trigger:not_allowed"),
        ("inspection_id", "", "inspection_id:missing"),
        ("organisation_registration_no", "RN999", "organisation_registration_no:unknown_organisation"),
        ("worksite_name", "Bell\x07 Farms", "worksite_name:control_character"),
        ("worksite_name", "\x1b[2JOrchard", "worksite_name:control_character"),
        ("worksite_name", "Next\x85Line Ltd", "worksite_name:control_character"),
        ("inspection_id", "INS\x0b2", "inspection_id:control_character"),
    ],
)
def test_bad_values_are_quarantined_with_the_rule_they_broke(
    tmp_path: Path, lake: Lake, column: str, value: str, rule: str
) -> None:
    folder = landing(tmp_path)
    write_csv(
        folder / "labour_inspection.csv", INSPECTION_HEADER, [inspection_row(1), inspection_row(2, **{column: value})]
    )
    report = by_file(ingest_folder(lake, folder))["labour_inspection.csv"]
    assert (report.accepted, report.quarantined) == (1, 1)
    assert report.reasons == {rule: 1}
    bad = pq.read_table(lake.files("labour_inspection", "quarantine_file")[0]).to_pylist()[0]
    assert bad["_line"] == 3 and bad["_file"].endswith("labour_inspection.csv") and bad[column] == (value or None)


def test_decided_before_submitted_is_quarantined(tmp_path: Path, lake: Lake) -> None:
    folder = empty_landing(tmp_path)
    header = [*CONTRACTS["visa_application"].required, "decided_at"]
    good = {
        "record_id": "A1",
        "source": "visa",
        "application_id": "A1",
        "post_id": "ALD-MAN",
        "desk_officer_id": "CO1",
        "visa_class": "work",
        "applicant_id": "P1",
        "submitted_at": "2024-01-02T10:00:00",
        "decided_at": "2024-01-20T11:00:00",
        "decision": "approved",
    }
    bad = {**good, "record_id": "A2", "application_id": "A2", "decided_at": "2023-12-01T09:00:00"}
    write_csv(folder / "visa_application.csv", header, [good, bad])
    report = by_file(ingest_folder(lake, folder))["visa_application.csv"]
    assert report.reasons == {"decided_at:before_submitted_at": 1}


@pytest.mark.parametrize("post", ["n/a", "UNKNOWN", "Other!!", "-", "tbd", " N.A. ", "??"])
def test_a_placeholder_for_a_post_is_quarantined_and_a_code_kept(tmp_path: Path, lake: Lake, post: str) -> None:
    """A post names an entity that gets scored (its desks): "n/a" is no post, while codes that merely contain
    such letters are."""
    folder = empty_landing(tmp_path)
    header = list(CONTRACTS["visa_application"].required)
    base = {
        "source": "visa",
        "desk_officer_id": "CO1",
        "visa_class": "work",
        "applicant_id": "P1",
        "submitted_at": "2024-01-02T10:00:00",
        "decision": "approved",
    }
    posts = [post, "NAI-01", "OTHERTON", "UNK-2"]
    rows = [{**base, "record_id": f"A{i}", "application_id": f"A{i}", "post_id": p} for i, p in enumerate(posts)]
    write_csv(folder / "visa_application.csv", header, rows)
    report = by_file(ingest_folder(lake, folder))["visa_application.csv"]
    assert (report.accepted, report.reasons) == (3, {"post_id:placeholder": 1})
    assert sorted(r["post_id"] for r in lake.current("visa_application").to_pylist()) == sorted(posts[1:])


def test_known_on_is_kept_when_given_and_the_ingest_date_otherwise(tmp_path: Path, lake: Lake) -> None:
    folder = empty_landing(tmp_path)
    write_csv(
        folder / "organisation.csv",
        [*ORG_HEADER, "known_on"],
        [org_row(1, known_on="2016-06-30"), org_row(2, known_on="")],
    )
    write_csv(folder / "labour_inspection.csv", INSPECTION_HEADER, [inspection_row(1)])
    reports = by_file(ingest_folder(lake, folder))
    assert reports["organisation.csv"].accepted == 2 and reports["labour_inspection.csv"].accepted == 1
    known = {r["record_id"]: r["known_on"] for r in lake.current("organisation").to_pylist()}
    assert known == {"ORG1": date(2016, 6, 30), "ORG2": NOW.date()}
    assert [r["known_on"] for r in lake.current("labour_inspection").to_pylist()] == [NOW.date()]
    # The same rows ingested again on a later day are unchanged: they keep the day they first became known.
    later = tmp_path / "later"
    later.mkdir()
    write_csv(later / "labour_inspection-again.csv", INSPECTION_HEADER, [inspection_row(1), inspection_row(2)])
    source = load_source("csv", later)
    report = ingest_file(lake, source.files(later)[0], source, datetime(2027, 1, 5, 9), KEY)
    assert (report.new, report.superseding, report.unchanged) == (1, 0, 1)
    known = {r["record_id"]: r["known_on"] for r in lake.current("labour_inspection").to_pylist()}
    assert known == {"INS1": NOW.date(), "INS2": date(2027, 1, 5)}


def test_a_register_version_cannot_take_effect_before_registration(tmp_path: Path, lake: Lake) -> None:
    folder = empty_landing(tmp_path)
    rows = [org_row(1, status_since="2015-03-01"), org_row(2, status_since="2015-02-28"), org_row(3)]
    write_csv(folder / "organisation.csv", [*ORG_HEADER, "status_since"], rows)
    report = by_file(ingest_folder(lake, folder))["organisation.csv"]
    assert (report.accepted, report.reasons) == (2, {"status_since:before_registered_on": 1})


def test_fraud_found_on_is_compared_with_the_crossing_by_day(tmp_path: Path, lake: Lake) -> None:
    folder = empty_landing(tmp_path)
    header = [*CONTRACTS["border_crossing"].required, "document_later_found_fraudulent", "fraud_found_on"]
    base = {
        "source": "border",
        "border_post_id": "BP1",
        "officer_id": "OF1",
        "crossed_at": "2024-03-05T14:30:00",
        "direction": "in",
        "traveller_id": "T1",
        "outcome": "admitted",
        "document_later_found_fraudulent": "true",
    }
    rows = [
        {**base, "record_id": "C1", "crossing_id": "C1", "fraud_found_on": "2024-03-05"},  # the same day
        {**base, "record_id": "C2", "crossing_id": "C2", "fraud_found_on": "2024-09-01"},
        {**base, "record_id": "C3", "crossing_id": "C3", "fraud_found_on": "2024-03-04"},
        {**base, "record_id": "C4", "crossing_id": "C4", "fraud_found_on": ""},
    ]
    write_csv(folder / "border_crossing.csv", header, rows)
    report = by_file(ingest_folder(lake, folder))["border_crossing.csv"]
    assert (report.accepted, report.reasons) == (3, {"fraud_found_on:before_crossed_at": 1})


def test_duplicate_record_ids_within_a_batch_keep_the_first(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    write_csv(
        folder / "labour_inspection.csv",
        INSPECTION_HEADER,
        [inspection_row(1), inspection_row(1), inspection_row(1, workers_present="30")],
    )
    report = by_file(ingest_folder(lake, folder))["labour_inspection.csv"]
    assert (report.accepted, report.quarantined) == (1, 2)
    assert report.reasons == {"record_id:duplicate_in_batch": 2}


def test_same_batch_twice_adds_nothing_and_a_changed_row_supersedes_with_history(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    write_csv(folder / "labour_inspection.csv", INSPECTION_HEADER, [inspection_row(1), inspection_row(2)])
    ingest_folder(lake, folder)
    again = by_file(ingest_folder(lake, folder))
    assert {r.status for r in again.values()} == {"already_ingested"}
    assert len(lake.files("labour_inspection")) == 1
    # A later delivery: row 1 corrected, row 2 unchanged, row 3 new.
    later = tmp_path / "later"
    later.mkdir()
    write_csv(
        later / "labour_inspection-2024-06.csv",
        INSPECTION_HEADER,
        [inspection_row(1, workers_present="21"), inspection_row(2), inspection_row(3)],
    )
    report = ingest_folder(lake, later)[0]
    assert (report.new, report.superseding, report.unchanged) == (1, 1, 1)
    current = {r["record_id"]: r for r in lake.current("labour_inspection").to_pylist()}
    assert current["INS1"]["workers_present"] == 21 and len(current) == 3
    versions = duckdb.sql(lake.versions_sql("labour_inspection") or "").fetchall()
    assert len(versions) == 4  # INS1 twice (the history), INS2 once, INS3 once


@pytest.mark.parametrize("encoding, delimiter", [("latin-1", ","), ("utf-8-sig", ","), ("utf-8", ";")])
def test_encodings_and_delimiters(tmp_path: Path, lake: Lake, encoding: str, delimiter: str) -> None:
    folder = empty_landing(tmp_path)
    write_csv(
        folder / "organisation.csv",
        ORG_HEADER,
        [org_row(1, name="Société Générale des Récoltes")],
        delimiter=delimiter,
        encoding=encoding,
    )
    report = ingest_folder(lake, folder)[0]
    assert report.accepted == 1, report
    assert lake.current("organisation").column("name").to_pylist() == ["Société Générale des Récoltes"]


def test_truncated_last_line_is_quarantined_and_the_rest_kept(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    path = write_csv(folder / "labour_inspection.csv", INSPECTION_HEADER, [inspection_row(1), inspection_row(2)])
    path.write_text(path.read_text() + "INS3,inspectorate,INS3,RN1,Org")  # cut off mid-row, no newline
    report = by_file(ingest_folder(lake, folder))["labour_inspection.csv"]
    assert (report.read, report.accepted, report.quarantined) == (3, 2, 1)
    assert report.reasons == {"malformed_line:wrong_field_count": 1}


def test_one_megabyte_free_text_field_is_quarantined_not_a_crash(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    write_csv(
        folder / "labour_inspection.csv",
        INSPECTION_HEADER,
        [inspection_row(1, worksite_name="x" * 1_000_000), inspection_row(2)],
    )
    report = by_file(ingest_folder(lake, folder))["labour_inspection.csv"]
    assert report.reasons == {"worksite_name:too_long": 1} and report.accepted == 1


def test_file_of_the_wrong_record_type_is_unusable_with_a_hint(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    write_csv(folder / "visa_application.csv", INSPECTION_HEADER, [inspection_row(1)])
    report = by_file(ingest_folder(lake, folder))["visa_application.csv"]
    assert report.status == "unusable"
    assert "not a visa_application file" in (report.error or "") and "labour_inspection" in (report.error or "")


def test_file_named_after_no_record_type_is_reported(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    write_csv(folder / "payroll.csv", ["a"], [{"a": "1"}])
    report = by_file(ingest_folder(lake, folder))["payroll.csv"]
    assert report.status == "unusable" and "names no record type" in (report.error or "")


def test_kill_before_commit_leaves_the_lake_as_it_was(tmp_path: Path) -> None:
    folder = landing(tmp_path)
    home = tmp_path / "home"
    first = Lake(home)
    ingest_folder(first, folder)
    first.close()
    write_csv(folder / "labour_inspection.csv", INSPECTION_HEADER, [inspection_row(1)])
    root = str(Path(__file__).resolve().parents[2])
    script = (
        f"import sys; from pathlib import Path; sys.path.insert(0, {root!r})\n"
        "from tests.data_contracts.test_ingest import ingest_folder\n"
        "from data_contracts.lake import Lake\n"
        f"ingest_folder(Lake(Path({str(home)!r})), Path({str(folder)!r}))\n"
    )
    env = {"TRACERISK_TEST_CRASH_AT": "before_ledger", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 137, done.stderr
    after = Lake(home)
    try:
        assert [e.record_type for e in after.ledger()] == ["organisation"]
        assert after.files("labour_inspection") == []
        assert list((home / "lake" / "labour_inspection").glob("*.parquet"))  # the orphan of the killed run
        assert after.remove_orphans()
        assert not list((home / "lake" / "labour_inspection").glob("*"))
        report = by_file(ingest_folder(after, folder))["labour_inspection.csv"]
        assert report.status == "committed" and report.accepted == 1
    finally:
        after.close()


def test_reconciliation_over_a_simulated_world_with_malformed_rows(tiny_world: Path, lake: Lake) -> None:
    source = load_source("synthetic", tiny_world)
    reports = [ingest_file(lake, f, source, NOW, KEY) for f in source.files(tiny_world)]
    assert all(r.status == "committed" for r in reports)
    con = duckdb.connect()
    for r in reports:
        rows = con.execute(f"select count(*) from read_parquet('{r.file}')").fetchone()
        assert rows is not None and r.read == rows[0] == r.accepted + r.quarantined, r
    # Every malformed row whose broken column the contract can check is in quarantine.
    malformed = con.execute(
        "select record_id, \"column\", kind, regexp_extract(filename, 'malformed/([a-z_]+)/', 1) from "
        f"read_parquet('{tiny_world}/truth/malformed/*/*.parquet', hive_partitioning=false, filename=true)"
    ).fetchall()
    quarantined = set()
    for record_type in CONTRACTS:
        for path in lake.files(record_type, "quarantine_file"):
            quarantined |= {
                (record_type, rid) for rid in pq.read_table(path, columns=["record_id"]).column(0).to_pylist()
            }
    rename = {**{k: v for m in source.columns.values() for k, v in m.items()}}
    checkable = 0
    for record_id, column, kind, record_type in malformed:
        f = CONTRACTS[record_type].field(rename.get(column, column))
        detectable = (
            kind in ("unparseable_date", "missing_required")
            or (kind == "future_date" and f.not_in_future)
            or (kind == "negative_value" and f.min is not None)
            or (kind == "unknown_category" and (f.values is not None or f.code))
        )
        if detectable:
            checkable += 1
            assert (record_type, record_id) in quarantined, (record_type, record_id, column, kind)
    assert checkable > 20


def test_too_wide_or_too_long_files_are_refused_early_and_the_others_ingested(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    extra = [f"extra_{i}" for i in range(MAX_COLUMNS)]
    rows = [{**inspection_row(i), **dict.fromkeys(extra, "1")} for i in (1, 2)]
    write_csv(folder / "labour_inspection-wide.csv", INSPECTION_HEADER + extra, rows)
    wide = pa.table({name: ["1"] for name in ORG_HEADER + extra})
    pq.write_table(wide, folder / "organisation-wide.parquet")
    long_row = inspection_row(3, worksite_name="x" * (MAX_LINE_BYTES + 1))
    write_csv(folder / "labour_inspection-long.csv", INSPECTION_HEADER, [inspection_row(4), long_row])
    cr_lines = [",".join(INSPECTION_HEADER)] + [",".join(inspection_row(i).values()) for i in range(10, 50_010)]
    cr_text = "\r".join(cr_lines) + "\r"  # line breaks of old Mac exports: more than MAX_LINE_BYTES in all
    assert len(cr_text) > MAX_LINE_BYTES
    (folder / "labour_inspection-cr.csv").write_bytes(cr_text.encode())
    reports = by_file(ingest_folder(lake, folder))
    width = len(INSPECTION_HEADER) + MAX_COLUMNS
    assert reports["labour_inspection-wide.csv"].status == "unusable"
    assert reports["labour_inspection-wide.csv"].error == f"{width:,} columns: a file may have at most 1,000"
    assert reports["organisation-wide.parquet"].status == "unusable"
    assert "at most 1,000" in str(reports["organisation-wide.parquet"].error)
    assert reports["labour_inspection-long.csv"].status == "unusable"
    assert reports["labour_inspection-long.csv"].error == "line 3 is longer than the 4,194,304 bytes a line may have"
    cr = reports["labour_inspection-cr.csv"]
    assert (cr.status, cr.accepted) == ("committed", 50_000)
    assert (reports["organisation.csv"].status, reports["organisation.csv"].accepted) == ("committed", 2)


def test_an_oversized_quarantined_value_is_cut_and_noted(tmp_path: Path, lake: Lake) -> None:
    folder = landing(tmp_path)
    huge = "Orchard " * 125_000  # 1,000,000 characters
    rows = [inspection_row(1), inspection_row(2, worksite_name=huge, inspected_on="not recorded")]
    write_csv(folder / "labour_inspection.csv", INSPECTION_HEADER, rows)
    report = by_file(ingest_folder(lake, folder))["labour_inspection.csv"]
    assert (report.accepted, report.quarantined) == (1, 1)
    assert report.reasons == {"inspected_on:type": 1, "worksite_name:too_long": 1}
    assert any("1 values longer than 1,000 characters" in note for note in report.notes), report.notes
    bad = pq.read_table(lake.files("labour_inspection", "quarantine_file")[0]).to_pylist()[0]
    assert bad["worksite_name"] == huge[:QUARANTINE_VALUE_CHARS] + CUT_MARK
    assert bad["inspected_on"] == "not recorded"  # short values are kept whole
