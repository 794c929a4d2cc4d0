"""Sponsors' petitions through the one feature build: a slice of the real US DOL files ingested into the lake
(the public data in place, never copied), features as of a date, the debarred employer's label and reasons."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.names import sponsor_id
from data_contracts.sources import load_source
from features.build import build_features, reason_detail, threshold_column
from features.registry import BY_ID, for_entity
from models.datasets import labelled_by
from tests.ingestion import NOW, pseudonym_key
from tests.us_dol_data import DEBARMENTS, require_data

KEY = pseudonym_key("petitions", "p")
SLICE = ("oflc_h2_disclosure/h2a/H-2A_FY2010.xlsx", "oflc_h2_disclosure/h2a/H-2A_FY2011.xlsx", DEBARMENTS)
DEBARRED = "R&K Doyle Harvesting Ltd."  # debarred from 2011-06-17 (debarments-2010-2014.csv)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    data = require_data()
    lake = Lake(tmp_path_factory.mktemp("petitions") / "home")
    source = load_source("us-dol", data)
    for f in source.files(data):
        if str(f.path.relative_to(data)) in SLICE:
            assert ingest_file(lake, f, source, NOW, KEY).error is None
    return lake


def _petition_day(row: dict[str, Any]) -> date:
    """The day a petition counts from (features.build's lc_known.day)."""
    day: date = row["decided_on"] or row["submitted_on"] or date(int(row["fiscal_year"]), 9, 30)
    return day


def _sponsor_address(row: dict[str, Any]) -> str | None:
    return ", ".join(row[k] for k in ("sponsor_city", "sponsor_region", "sponsor_postal_code") if row[k]) or None


def test_employers_from_petitions_with_the_debarred_ones_labelled_and_explained(lake: Lake) -> None:
    employer = sponsor_id(DEBARRED)
    assert employer == "sponsor:rk doyle harvesting"
    filings = [r for r in lake.current("labour_certification").to_pylist() if sponsor_id(r["sponsor_name"]) == employer]
    assert filings, "the debarred employer filed petitions in FY2010-2011"

    before, after = (
        build_features(lake, day, ("employer",))["employer"] for day in (date(2011, 1, 1), date(2012, 1, 1))
    )
    rows = {r["entity_id"]: r for r in after.table.to_pylist()}
    filers = {sponsor_id(r["sponsor_name"]) for r in lake.current("labour_certification").to_pylist()}
    assert len(rows) > 5_000 and set(rows) <= filers  # every employer is a filer, one entity per legal-name key
    profile = after.profile.to_pylist()
    names = {p["entity_id"]: p["name"] for p in profile}
    assert names[employer] and sponsor_id(names[employer]) == employer
    # Its address: the city, state and postal code of its latest petition before the day (the sponsor's own).
    known = [r for r in filings if _petition_day(r) < date(2012, 1, 1) and _sponsor_address(r)]
    latest = max(known, key=lambda r: (_petition_day(r), r["record_id"]))
    assert {p["entity_id"]: p["address"] for p in profile}[employer] == _sponsor_address(latest)

    # Workers certified (L10): the certified petitions decided in the window, summed by hand from the lake.
    certified = sum(
        r["workers_certified"] or 0
        for r in filings
        if r["decision"] == "approved" and r["decided_on"] < date(2012, 1, 1)
    )
    assert rows[employer][BY_ID["L10"].feature] == certified

    # The debarment (2011-06-17) is a label from then on, and a prior sanction in its features (E15).
    assert employer not in labelled_by(lake, "employer", date(2011, 6, 1))
    assert employer in labelled_by(lake, "employer", date(2012, 1, 1))
    assert {r["entity_id"]: r for r in before.table.to_pylist()}[employer][BY_ID["E15"].feature] == 0
    row = rows[employer]
    assert row[BY_ID["E15"].feature] == 1
    fired = [
        ind
        for ind in for_entity("employer")
        if ind.direction > 0 and (row[threshold_column(ind)] or 0) > after.cutoffs[ind.id]
    ]
    assert BY_ID["E15"] in fired
    reasons = {ind.id: reason_detail(ind, row, after.peers[ind.id]) for ind in fired}
    assert reasons["E15"].startswith("prior violations, sanctions or complaints on record: 1")
    assert row["red_flags"] == len(fired)


def test_labour_contractors_are_not_counted_unregistered_before_a_register_is_in_force(lake: Lake) -> None:
    ft = build_features(lake, date(2012, 1, 1), ("employer",))["employer"]
    contractor = ft.table.column(BY_ID["L05"].feature).to_pylist()
    unregistered = ft.table.column(BY_ID["L06"].feature).to_pylist()
    # No contractor register in the slice: L06 never fires, whatever L05 says.
    assert not any(unregistered) and len(contractor) == len(unregistered)


def test_reasons_of_every_petition_indicator_fill_in(lake: Lake) -> None:
    ft = build_features(lake, date(2012, 1, 1), ("employer",))["employer"]
    row = ft.table.slice(0, 1).to_pylist()[0]
    for ind in for_entity("employer"):
        if ind.id.startswith("L"):
            assert reason_detail(ind, row, ft.peers[ind.id])
