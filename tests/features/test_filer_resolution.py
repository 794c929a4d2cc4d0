"""Filers of petitions resolved across fiscal years (features.filer_resolution): spellings merged into one employer,
debarments under any spelling labelling it, spellings further apart kept apart with a 'possibly the same' link,
and the map as of a day built from the petitions known by then."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.sources import load_source
from features.build import FeatureTable, build_features, read_features, write_features
from features.filer_resolution import FilerReport, merge_filers
from features.registry import BY_ID
from features.views import create_views
from models.datasets import labelled_by, labels_between
from tests.ingestion import NOW, pseudonym_key
from tests.us_dol_data import DEBARMENTS, filing, write_csv, write_filings

KEY = pseudonym_key("filers", "f")
FY2010 = "oflc_h2_disclosure/h2a/H-2A_FY2010.xlsx"
FY2011 = "oflc_h2_disclosure/h2a/H-2A_FY2011.xlsx"
DAY = date(2012, 1, 1)  # after both fiscal years' petitions
EARLY = date(2011, 1, 1)  # after FY2010's petitions (decided 2010-03-04), before FY2011's (2011-03-04)
WINDOW_DAYS = 1095


def _filed(case: str, name: str, decided: datetime) -> dict[str, Any]:
    return {**filing(case, name, "Certified - Full"), "decided_on": decided, "submitted_on": decided}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    root = tmp_path_factory.mktemp("filers") / "data"
    source = load_source("us-dol")
    declared = {d.path: d for d in source.declared}
    # (file, day decided, employers): FY2011 spells them one edit apart (Johnson, Miller) and two edits apart
    # (Sunny Ridge).
    years = (
        (
            FY2010,
            datetime(2010, 3, 4),
            ("JOHNSON FARMS LLC", "MILLER ORCHARDS", "SUNNY RIDGE ORCHARDS", "KELLER FARMS, INC."),
        ),
        (FY2011, datetime(2011, 3, 4), ("JONSON FARMS", "MILER ORCHARDS", "SUNY RIGE ORCHARDS")),
    )
    for path, decided, names in years:
        write_filings(
            root, declared[path], [_filed(f"C-{path[-9:-5]}-{n}", name, decided) for n, name in enumerate(names)]
        )
    header = ["Program", "Entity Debarred", "City", "State", "Start Date", "End Date", "Sources", "Notes"]
    write_csv(
        root / DEBARMENTS,
        header,
        [
            # Under the later spelling, after DAY: a label of the merged filer.
            ["H-2A", "Jonson Farms", "Lexington", "KY", "2012-05-01", "2015-04-30", "oflc-spreadsheet", ""],
            # Under the later spelling, before DAY: a known positive and a prior sanction.
            ["H-2A", "Miler Orchards", "Lexington", "KY", "2011-06-01", "2014-05-31", "oflc-spreadsheet", ""],
            # Under a spelling never filed, one edit from a filer's: linked by entity resolution.
            ["H-2A", "Keler Farms Inc", "Lexington", "KY", "2012-05-01", "2015-04-30", "oflc-spreadsheet", ""],
            # Under the spelling two edits from the other filer's: possibly the same as it (L11), not merged.
            ["H-2A", "Suny Rige Orchards", "Lexington", "KY", "2011-06-01", "2014-05-31", "oflc-spreadsheet", ""],
        ],
    )
    lake = Lake(root.parent / "home")
    for f in source.files(root):
        assert ingest_file(lake, f, source, NOW, KEY).error is None
    yield lake
    lake.close()


def _employers(lake: Lake, day: date) -> FeatureTable:
    return build_features(lake, day, ("employer",))["employer"]


def _rows(ft: FeatureTable) -> dict[str, dict[str, Any]]:
    return {r["entity_id"]: r for r in ft.table.to_pylist()}


def test_spellings_one_edit_apart_in_two_fiscal_years_are_one_employer_with_both_years_petitions(lake: Lake) -> None:
    ft = _employers(lake, DAY)
    rows = _rows(ft)
    workers = BY_ID["L10"].feature  # workers certified (num) on certified petitions (den)
    assert (rows["sponsor:johnson farms"][f"{workers}__num"], rows["sponsor:johnson farms"][f"{workers}__den"]) == (
        20.0,
        2.0,
    )
    # The entity id is the first filed spelling's, though the later one sorts first.
    assert rows["sponsor:miller orchards"][f"{workers}__den"] == 2.0
    assert "sponsor:jonson farms" not in rows and "sponsor:miler orchards" not in rows
    assert len(rows) == 5  # johnson, miller, keller and the two sunny ridge spellings


def test_a_debarment_under_either_spelling_labels_the_merged_employer(lake: Lake, tmp_path: Path) -> None:
    ft = _employers(lake, DAY)
    write_features({"employer": ft}, tmp_path, DAY)
    kept = read_features(tmp_path, ("employer",))
    assert kept is not None and kept["employer"].aliases == ft.aliases  # features read back label the same
    later = labels_between(lake, "employer", DAY, date(2013, 12, 31), aliases=ft.aliases)
    assert {"sponsor:johnson farms", "sponsor:keller farms"} <= later
    assert "sponsor:miller orchards" in labelled_by(lake, "employer", DAY, ft.aliases)
    # Read by the outcome's own id, the later spellings' debarments would label no row of the table.
    assert not ({"sponsor:jonson farms", "sponsor:keler farms"} & set(_rows(ft)))
    assert {"sponsor:jonson farms", "sponsor:keler farms"} <= labels_between(lake, "employer", DAY, date(2013, 12, 31))
    # The features attach the earlier debarment to the merged employer too (E15, prior sanctions).
    assert _rows(ft)["sponsor:miller orchards"][BY_ID["E15"].feature] == 1


def test_spellings_further_apart_stay_two_employers_with_a_possible_link(lake: Lake) -> None:
    ft = _employers(lake, DAY)
    rows = _rows(ft)
    assert {"sponsor:sunny ridge orchards", "sponsor:suny rige orchards"} <= set(rows)
    con = duckdb.connect()
    try:
        create_views(con, lake, DAY, WINDOW_DAYS)
        possible = con.execute("SELECT name_key, entity_id FROM filer_possible_links ORDER BY 1").fetchall()
        in_links = con.execute("SELECT name_key, entity_id FROM possible_links WHERE kind = 'employer'").fetchall()
    finally:
        con.close()
    both_ways = [
        ("sunny ridge orchards", "sponsor:suny rige orchards"),
        ("suny rige orchards", "sponsor:sunny ridge orchards"),
    ]
    assert possible == both_ways and set(both_ways) <= set(in_links)
    # The debarment of the other spelling is a signal on this one (L11), never its label.
    assert rows["sponsor:sunny ridge orchards"][BY_ID["L11"].feature] == 1
    assert rows["sponsor:suny rige orchards"][BY_ID["L11"].feature] == 0
    assert "sponsor:sunny ridge orchards" not in labelled_by(lake, "employer", DAY, ft.aliases)


def test_the_map_as_of_a_day_ignores_a_later_years_filing(lake: Lake) -> None:
    con = duckdb.connect()
    try:
        create_views(con, lake, EARLY, WINDOW_DAYS)
        entities = dict(con.execute("SELECT name_key, entity_id FROM filer_entities").fetchall())
    finally:
        con.close()
    assert entities == {
        "johnson farms": "sponsor:johnson farms",
        "miller orchards": "sponsor:miller orchards",
        "sunny ridge orchards": "sponsor:sunny ridge orchards",
        "keller farms": "sponsor:keller farms",
    }
    rows = _rows(_employers(lake, EARLY))
    assert rows["sponsor:johnson farms"][f"{BY_ID['L10'].feature}__den"] == 1.0
    assert set(rows) == set(entities.values())


HERE, THERE = ["KY:LEXINGTON", "postal:40509"], ["GA:TIFTON", "postal:31794"]
PossibleLink = tuple[str, str, float]  # (name key, entity id, probability)


def _resolved(
    keys: dict[str, tuple[str, list[str]]], link: bool = True
) -> tuple[FilerReport, dict[str, str], list[PossibleLink]]:
    """merge_filers over ``keys`` (name key -> (first day, places)) on a fresh connection: its report, the entity
    of every name key and the 'possibly the same' links."""
    con = duckdb.connect()
    try:
        con.execute("CREATE TEMP TABLE keys (name_key VARCHAR, first_day DATE, places VARCHAR[])")
        for k, (day, places) in keys.items():
            con.execute("INSERT INTO keys VALUES (?, ?, ?)", [k, day, places])
        report = merge_filers(con, "keys", link=link)
        entities = dict(con.execute("SELECT name_key, entity_id FROM filer_entities").fetchall())
        possible = con.execute("SELECT name_key, entity_id, probability FROM filer_possible_links").fetchall()
    finally:
        con.close()
    return report, entities, possible


def test_merged_filers_take_the_first_filed_key_and_join_through_chains() -> None:
    keys = {
        "harvest valley farms": ("2010-05-01", HERE),
        "harvest vally farms": ("2009-05-01", HERE),  # filed first: the group's id
        "harvest vally farm": ("2011-05-01", ["postal:40509"]),  # one edit from the second only
        "orchard hill": ("2010-05-01", HERE),
    }
    report, entities, _ = _resolved(keys)
    unlinked, alone, _ = _resolved(keys, link=False)
    group = "sponsor:harvest vally farms"
    assert entities == {
        "harvest valley farms": group,
        "harvest vally farms": group,
        "harvest vally farm": group,
        "orchard hill": "sponsor:orchard hill",
    }
    assert (report.spellings, report.filers, report.merged) == (4, 2, 2)
    assert alone == {k: f"sponsor:{k}" for k in entities} and unlinked.merged == 0


def test_one_edit_without_a_place_in_common_or_in_initials_alone_is_only_possibly_the_same() -> None:
    report, entities, possible = _resolved(
        {
            "ross farms": ("2010-05-01", HERE),
            "moss farms": ("2011-05-01", THERE),  # one edit, filed elsewhere
            "j and k farms": ("2010-05-01", HERE),
            "j and p farms": ("2011-05-01", HERE),  # one edit, in initials
        }
    )
    assert entities == {k: f"sponsor:{k}" for k in entities} and report.merged == 0
    assert {(k, e) for k, e, _ in possible} == {
        ("ross farms", "sponsor:moss farms"),
        ("moss farms", "sponsor:ross farms"),
        ("j and k farms", "sponsor:j and p farms"),
        ("j and p farms", "sponsor:j and k farms"),
    }
    assert all(0.5 <= p < 0.95 for _, _, p in possible)
