"""Sources declared file by file (the US DOL records): read as declared, through the contracts into the lake,
one batch per file, and a file that does not match its declaration refused whole with a one-line reason."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from data_contracts.ingest import FileReport, ingest_file
from data_contracts.lake import Lake
from data_contracts.pseudonymise import pseudonym
from data_contracts.sources import Source, SourceError, check_one_world, load_source
from data_contracts.sources.declared import DeclarationError, DeclaredFile, cell_text, parse_declarations
from tests.ingestion import NOW, pseudonym_key
from tests.us_dol_data import (
    DEBARMENTS,
    filing,
    require_data,
    write_csv,
    write_debarments,
    write_filings,
    write_xlsx,
)

KEY = pseudonym_key("test", "d")
FY2010 = "oflc_h2_disclosure/h2a/H-2A_FY2010.xlsx"
FY2011 = "oflc_h2_disclosure/h2a/H-2A_FY2011.xlsx"
FY2007 = "oflc_h2_disclosure/h2a/H2a_FY2007.csv"
APPENDIX_C_FY2020 = "oflc_h2_disclosure/h2b_foreign_recruiters/H2B_FY2020_Appendix_C.xlsx"
BACK_WAGES = "dol_h2_debarments/buzzfeed_2015_backwages/top-total-h2-backwages-2010-2014.csv"


@pytest.fixture(scope="module")
def source() -> Source:
    return load_source("us-dol")


def declared(source: Source, path: str) -> DeclaredFile:
    return next(d for d in source.declared if d.path == path)


def write_recruiters(root: Path, decl: DeclaredFile) -> Path:
    by_column = {
        "application_id": ["H-400-19248-051955", "H-400-19248-051955"],
        "recruiter_name": ["LLS Visa Electronica", "Agencia Uno"],
        "recruiter_city": ["Monterrey", "Puebla"],
        "recruiter_region": ["Nuevo Leon", "N/A"],
        "recruiter_province": [None, "PUEBLA"],
        "recruiter_postal_code": [64000, 72000],
        "recruiter_country": ["MEXICO", "MEXICO"],
        "staff_last_name": ["Montelongo", "Lopez"],
        "staff_first_name": ["Hector", "Ana"],
    }
    columns = list(decl.columns)
    rows = [[by_column[c][i] for c in columns] for i in range(2)]
    assert decl.sheet is not None
    return write_xlsx(root / decl.path, decl.sheet, [decl.columns[c] for c in columns], rows)


def ingest_all(lake: Lake, source: Source, root: Path) -> dict[str, FileReport]:
    """Every declared file present under ``root``, in ingest order: report by path relative to root."""
    reports = {}
    for source_file in source.files(root):
        report = ingest_file(lake, source_file, source, NOW, KEY)
        reports[str(source_file.path.relative_to(root))] = report
    return reports


def rows(lake: Lake, record_type: str) -> list[dict[str, Any]]:
    return sorted(lake.current(record_type).to_pylist(), key=lambda r: r["record_id"])


def committed_files(lake: Lake) -> set[str]:
    return {
        str(Path(p).relative_to(lake.home))
        for record_type in ("labour_certification", "petition_recruiter", "enforcement_outcome", "recruiter")
        for kind in ("lake_file", "quarantine_file")
        for p in lake.files(record_type, kind)
    }


def files_on_disk(lake: Lake) -> set[str]:
    return {
        str(p.relative_to(lake.home))
        for top in ("lake", "quarantine")
        for p in (lake.home / top).rglob("*")
        if p.is_file()
    }


# ------------------------------------------------------------------------------------------------ reading
def test_cell_text_gives_the_text_the_contract_parses() -> None:
    assert cell_text(datetime(2010, 3, 4, 15, 22, 21), "date") == "2010-03-04"
    assert cell_text(datetime(2010, 3, 4, 15, 22, 21), "datetime") == "2010-03-04 15:22:21"
    assert cell_text(date(2010, 3, 4), "date") == "2010-03-04"
    assert cell_text(12.0, "integer") == "12"
    assert cell_text(40509, "string") == "40509"
    assert cell_text(423930.0, "string") == "423930"
    assert cell_text("6.0000000000000000e+00", "integer") == "6"
    assert cell_text("$2,338,699.60", "number") == "2338699.6"
    assert cell_text("650.0000", "number") == "650"
    assert cell_text("04/09/07 09:55:00", "date", "%m/%d/%y %H:%M:%S") == "2007-04-09"
    assert cell_text("2/24/22", "date", "%m/%d/%y") == "2022-02-24"
    # What it cannot convert stays as it is, for the contract's rules to judge.
    assert cell_text("#################", "number") == "#################"
    assert cell_text("sometime", "date", "%m/%d/%Y") == "sometime"
    assert cell_text("  ", "string") is None
    assert cell_text(float("nan"), "number") is None


def test_every_declared_file_names_contract_columns_only(source: Source) -> None:
    assert {d.record_type for d in source.declared} == {
        "labour_certification",
        "petition_recruiter",
        "recruiter",
        "enforcement_outcome",
    }
    assert len({d.path for d in source.declared}) == len(source.declared) == 20
    for d in source.declared:
        assert "record_id" in {*d.columns, *d.templates}, d.path
    years = [d.constants["fiscal_year"] for d in source.declared if d.record_type == "labour_certification"]
    assert sorted(years) == [str(y) for y in range(2006, 2020)]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"columns": {"employer": "EMPLOYER_NAME"}}, "not columns of the labour_certification contract"),
        ({"templates": {"record_id": "fy:{case}"}}, "it may name {line}"),
        ({"known_on": "30/09/2010"}, "known_on must be a day"),
        ({"columns": {"record_id": "CASE_NO"}, "templates": {"record_id": "x:{line}"}}, "declared more than once"),
        ({"sheets": "x"}, "unknown keys"),
    ],
)
def test_a_declaration_that_cannot_be_used_is_refused_with_its_reason(entry: dict[str, Any], message: str) -> None:
    raw = {"files": [{"path": "x.xlsx", "record_type": "labour_certification", **entry}]}
    with pytest.raises(DeclarationError, match=message.replace("{", r"\{").replace("}", r"\}")):
        parse_declarations(raw, "us-dol.toml")


def test_a_folder_without_any_declared_file_is_refused(source: Source, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="holds none of the files"):
        source.files(tmp_path)
    with pytest.raises(SourceError, match="--mapping does not apply"):
        load_source("us-dol", tmp_path, tmp_path / "tracerisk-mapping.toml")


# ------------------------------------------------------------------------------------------------- ingest
def test_declared_files_go_through_their_contracts_into_the_lake(source: Source, tmp_path: Path, lake: Lake) -> None:
    root = tmp_path / "data"
    write_filings(
        root,
        declared(source, FY2010),
        [
            filing("C-09163-19902", "KELLER FARMS, INC.", "Certified - Partial"),
            filing("C-09163-19902", "KELLER FARMS, INC.", "Certified - Partial", state="IL"),
            filing("C-09170-20001", "STAN WARD FARM", "Denied", unit="mth"),
            filing("C-09170-20002", "ROW OF AN UNKNOWN STATUS", "Sent to the moon"),
            filing("C-09170-20003", "ROW OF NO UNIT", "Withdrawn", unit="Select Pay Range"),
        ],
    )
    write_recruiters(root, declared(source, APPENDIX_C_FY2020))
    write_debarments(root)
    reports = ingest_all(lake, source, root)
    assert [r.status for r in reports.values()] == ["committed"] * 3
    assert (reports[FY2010].read, reports[FY2010].accepted, reports[FY2010].quarantined) == (5, 4, 1)
    assert reports[FY2010].reasons == {"decision:missing": 1}  # a case status no table names: no decision

    filings = rows(lake, "labour_certification")
    assert [r["record_id"] for r in filings] == ["h2a-fy2010:2", "h2a-fy2010:3", "h2a-fy2010:4", "h2a-fy2010:6"]
    first = filings[0]
    assert first["application_id"] == "C-09163-19902" and filings[1]["application_id"] == "C-09163-19902"
    assert (first["programme"], first["fiscal_year"], first["source"]) == ("H-2A", 2010, "us-dol-oflc")
    assert (first["decision"], first["case_status"]) == ("approved", "Certified - Partial")
    assert (first["sponsor_region"], filings[1]["sponsor_region"]) == ("KY", "IL")
    assert (first["submitted_on"], first["decided_on"], first["known_on"]) == (
        date(2010, 1, 12),
        date(2010, 3, 4),
        date(2010, 3, 4),
    )
    assert (first["declared_wage"], first["wage_unit"], first["workers_certified"]) == (9.13, "hour", 10)
    assert (first["sponsor_postal_code"], first["labour_contractor"]) == ("40509", False)
    assert (filings[2]["decision"], filings[2]["wage_unit"]) == ("refused", "month")
    assert (filings[3]["decision"], filings[3]["wage_unit"]) == ("withdrawn", None)

    recruiters = rows(lake, "petition_recruiter")
    assert [r["recruiter_name"] for r in recruiters] == ["LLS Visa Electronica", "Agencia Uno"]
    assert recruiters[1]["recruiter_region"] is None  # "N/A" is a missing value
    assert recruiters[0]["known_on"] == date(2020, 10, 1)
    # The individual recruiters named are pseudonymised: the raw name is never stored.
    assert recruiters[0]["staff_last_name"] == pseudonym(KEY, "montelongo") != "Montelongo"

    debarments = rows(lake, "enforcement_outcome")
    assert [(r["entity_name"], r["kind"], r["decided_on"], r["entity_ref"]) for r in debarments] == [
        ("Ochoa Farming Inc.", "debarment", date(2011, 2, 18), "sponsor:ochoa farming"),
        ("Keller Farms, Inc.", "debarment", date(2012, 5, 1), "sponsor:keller farms"),
    ]
    # No register number: the debarred employer is the one its petitions name (the key of its legal name).
    assert reports[DEBARMENTS].quarantined == 0


def test_reingesting_adds_nothing_and_a_new_year_adds_only_itself(source: Source, tmp_path: Path, lake: Lake) -> None:
    root = tmp_path / "data"
    write_filings(root, declared(source, FY2010), [filing("C-1", "A FARM", "Certified - Full")])
    write_debarments(root)
    first = ingest_all(lake, source, root)
    assert {r.status for r in first.values()} == {"committed"}
    before = (len(lake.ledger()), rows(lake, "labour_certification"), files_on_disk(lake))

    again = ingest_all(lake, source, root)
    assert {r.status for r in again.values()} == {"already_ingested"}
    assert (len(lake.ledger()), rows(lake, "labour_certification"), files_on_disk(lake)) == before

    write_filings(root, declared(source, FY2011), [filing("C-2", "B FARM", "Denied"), filing("C-3", "C", "Denied")])
    third = ingest_all(lake, source, root)
    assert {k: r.status for k, r in third.items()} == {
        FY2010: "already_ingested",
        FY2011: "committed",
        DEBARMENTS: "already_ingested",
    }
    assert (third[FY2011].new, third[FY2011].superseding) == (2, 0)
    assert [r["record_id"] for r in rows(lake, "labour_certification")] == [
        "h2a-fy2010:2",
        "h2a-fy2011:2",
        "h2a-fy2011:3",
    ]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BAD_INPUT = {
    "changed header": ({"header": {"CASE_STATUS": "STATUS_OF_CASE"}}, None, "CASE_STATUS not in the header"),
    "missing year column": ({"drop": "decided_on"}, None, "DECISION_DATE not in the header"),
    "renamed sheet": ({"sheet": "Sheet1"}, None, "declared sheet 'H-2A_FY2010' not in the workbook"),
    "truncated workbook": ({}, _truncate, "unreadable workbook"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_a_file_unlike_its_declaration_is_unusable_and_the_others_are_ingested(
    source: Source, tmp_path: Path, lake: Lake, case: str
) -> None:
    change, damage, reason = BAD_INPUT[case]
    root = tmp_path / "data"
    bad = write_filings(root, declared(source, FY2010), [filing("C-1", "A FARM", "Certified - Full")], **change)
    if damage is not None:
        damage(bad)
    write_filings(root, declared(source, FY2011), [filing("C-2", "B FARM", "Denied")])
    write_debarments(root)
    reports = ingest_all(lake, source, root)

    assert reports[FY2010].status == "unusable"
    error = reports[FY2010].error or ""
    assert reason in error and "\n" not in error and len(error) < 400, error
    assert (reports[FY2011].status, reports[DEBARMENTS].status) == ("committed", "committed")
    # Nothing of the bad file is in the lake: no row, no file, only its ledger line saying why.
    assert [r["record_id"] for r in rows(lake, "labour_certification")] == ["h2a-fy2011:2"]
    assert files_on_disk(lake) == committed_files(lake)
    unusable = [e for e in lake.ledger() if e.status == "unusable"]
    assert [(Path(e.file).name, e.read, e.accepted) for e in unusable] == [(Path(FY2010).name, 0, 0)]


def test_a_text_file_with_a_changed_header_is_unusable_and_the_others_are_ingested(
    source: Source, tmp_path: Path, lake: Lake
) -> None:
    root = tmp_path / "data"
    write_filings(root, declared(source, FY2011), [filing("C-2", "B FARM", "Denied")])
    bad = write_debarments(root)
    bad.write_text(bad.read_text(encoding="utf-8").replace("Start Date", "Debarred From", 1), encoding="utf-8")
    reports = ingest_all(lake, source, root)
    assert (reports[DEBARMENTS].status, reports[FY2011].status) == ("unusable", "committed")
    assert reports[DEBARMENTS].error == (
        "declared column(s) Start Date not in the header (it has: Program, Entity Debarred, City, State, "
        "Debarred From, End Date, Sources, Notes)"
    )
    assert rows(lake, "enforcement_outcome") == [] and files_on_disk(lake) == committed_files(lake)


def test_a_new_file_beside_the_declared_ones_is_reported_until_it_is_declared(
    source: Source, tmp_path: Path, lake: Lake
) -> None:
    root = tmp_path / "data"
    new_year = write_filings(root, declared(source, FY2011), [filing("C-9", "C FARM", "Denied")])
    new_year.rename(new_year.with_name("H-2A_FY2018.xlsx"))
    write_filings(root, declared(source, FY2011), [filing("C-2", "B FARM", "Denied")])
    ignored = write_csv(root / "dol_flc_registry" / "whd_data_dictionary.csv", ["column"], [["h2a_violtn_cnt"]])
    write_csv(root / "dol_flc_registry" / "SOURCE.txt", ["note"], [["provenance"]])
    reports = ingest_all(lake, source, root)
    assert {k: r.status for k, r in reports.items()} == {
        "oflc_h2_disclosure/h2a/H-2A_FY2018.xlsx": "unusable",
        FY2011: "committed",
    }
    error = reports["oflc_h2_disclosure/h2a/H-2A_FY2018.xlsx"].error or ""
    assert error.startswith("not declared in the us-dol source") and "\n" not in error
    assert ignored.exists() and [r["record_id"] for r in rows(lake, "labour_certification")] == ["h2a-fy2011:2"]


# ------------------------------------------------------------------------------------- the real files
def _slice_xlsx(source_path: Path, target: Path, sheet: str, rows: int) -> None:
    book = openpyxl.load_workbook(source_path, read_only=True, data_only=True)
    try:
        values = [list(r) for _, r in zip(range(rows + 1), book[sheet].iter_rows(values_only=True), strict=False)]
    finally:
        book.close()
    write_xlsx(target, sheet, [str(h) for h in values[0]], values[1:])


def _slice_text(source_path: Path, target: Path, lines: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source_path, "rb") as handle:
        target.write_bytes(b"".join(handle.readline() for _ in range(lines + 1)))


def test_a_truncated_real_xls_workbook_is_unusable(source: Source, tmp_path: Path, lake: Lake) -> None:
    data = require_data()
    path = "oflc_h2_disclosure/h2a/H2A_FY2013.xls"
    target = tmp_path / "data" / path
    target.parent.mkdir(parents=True)
    with open(data / path, "rb") as handle:
        target.write_bytes(handle.read(200_000))
    (report,) = ingest_all(lake, source, tmp_path / "data").values()
    assert report.status == "unusable"
    assert (report.error or "").startswith("unreadable workbook: ") and "\n" not in (report.error or "")
    assert files_on_disk(lake) == set()


def test_a_slice_of_the_real_files_reads_as_published(source: Source, tmp_path: Path, lake: Lake) -> None:
    data = require_data()
    root = tmp_path / "data"
    fy2010 = declared(source, FY2010)
    assert fy2010.sheet is not None
    _slice_xlsx(data / FY2010, root / FY2010, fy2010.sheet, 300)
    _slice_text(data / FY2007, root / FY2007, 300)
    for small in (DEBARMENTS, BACK_WAGES):
        _slice_text(data / small, root / small, 10_000)
    reports = ingest_all(lake, source, root)
    assert {r.status for r in reports.values()} == {"committed"}
    assert (reports[FY2010].read, reports[FY2007].read) == (300, 300)
    assert (reports[DEBARMENTS].read, reports[DEBARMENTS].accepted) == (141, 141)
    assert (reports[BACK_WAGES].read, reports[BACK_WAGES].accepted) == (13, 13)

    by_id = {r["record_id"]: r for r in rows(lake, "labour_certification")}
    # The first data row of each file, as the spreadsheets show it.
    first_rows: dict[str, dict[str, object]] = {
        "h2a-fy2010:2": {
            "application_id": "C-09163-19902",
            "sponsor_name": "KELLER FARMS, INC.",
            "worksite_region": "IL",
            "decision": "approved",
            "workers_certified": 29,
            "declared_wage": 8.02,
            "wage_unit": "hour",
            "agent_name": "RAY WILCOXSON, INC.",
            "decided_on": date(2009, 10, 1),
            "submitted_on": date(2009, 6, 12),
        },
        "h2a-fy2007:2": {
            "application_id": "A-07074-03570",
            "sponsor_name": "ROY M. GREENE",
            "worksite_region": "AL",
            "workers_requested": 6,
            "declared_wage": 650.0,
            "wage_unit": "month",
            "decided_on": date(2007, 4, 9),
            "submitted_on": None,
        },
    }
    for record_id, expected in first_rows.items():
        assert {column: by_id[record_id][column] for column in expected} == expected, record_id

    outcomes = rows(lake, "enforcement_outcome")
    back_wages = [r for r in outcomes if r["kind"] == "back_wages"]
    assert len(back_wages) == 13 and len(outcomes) == 154
    top = next(r for r in back_wages if r["entity_ref"] == "88-0175412")
    assert (top["entity_name"], top["amount_usd"], top["decided_on"]) == (
        "Peri & Sons Farms, Inc.",
        2338699.6,
        date(2014, 12, 31),
    )


@pytest.mark.parametrize(
    ("committed", "source", "refused"),
    [
        (set(), "us-dol", False),
        ({"synthetic", "csv"}, "synthetic", False),
        ({"synthetic"}, "csv", False),
        ({"us-dol", "csv"}, "csv", False),
        ({"synthetic"}, "us-dol", True),
        ({"us-dol", "csv"}, "synthetic", True),
    ],
)
def test_a_lake_holds_one_world_beside_its_landing_files(committed: set[str], source: str, refused: bool) -> None:
    if refused:
        with pytest.raises(SourceError, match="under another TRACERISK_HOME"):
            check_one_world(committed, source)
    else:
        check_one_world(committed, source)
