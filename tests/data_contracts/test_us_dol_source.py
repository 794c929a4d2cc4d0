"""The US DOL source: year-by-year column mappings (a golden row per fiscal year), row counts, the cache."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.sources import us_dol
from tests.us_dol_data import require_data

# First data row of every disclosure file, read by hand from the spreadsheets: application id, employer,
# worksite state, decision, workers certified, offered wage, its unit, agent or attorney.
GOLDEN: dict[str, tuple[object, ...]] = {
    "h2a_fy2006": ("A-06093-01235", "PLAINVILLE FARM", "MA", "approved", 1.0, 9.16, "hour", None),
    "h2a_fy2007": ("A-07074-03570", "ROY M. GREENE", "AL", "approved", 6.0, 650.0, "month",
                   "MOUNTAIN PLAINS AGRICULTURAL SERVICE"),
    "h2a_fy2008": ("C-07243-06148", "BENJAMIN SEIDLER", "ND", "approved", 2.0, 9.55, "hour",
                   "LESLI DOWNS & KRIS GOSNEY"),
    "h2a_fy2009": ("C-08248-14685", "SCOTTY BAESLER", "KY", "approved", 35.0, 9.13, "hour",
                   "DONNA GRAVES, AGRICULTURE WORKFORCE MANAGEMENT, LL"),
    "h2a_fy2010": ("C-09163-19902", "KELLER FARMS, INC.", "IL", "approved", 29.0, 8.02, "hour", "RAY WILCOXSON, INC."),
    "h2a_fy2011": ("C-10200-24746", "MARIA PEREZ", "GA", "refused", None, 9.11, "hour",
                   "GAIL LEWIS / BGL H2A SERVICES"),
    "h2a_fy2012": ("C-11046-27747", "STAN WARD FARM", "ID", "approved", 2.0, 9.9, "hour", "MICHAELENE ROWE"),
    "h2a_fy2013": ("C-12093-33904", "VIETH BROTHERS", "TX", "withdrawn", 0.0, 9388.0, "hour",
                   "ELAINE FAYE FLAMING/AGRI PLACEMENTS INTERNATIONAL"),
    "h2a_fy2014": ("H-300-12345-457400", "The Purple Sage", "WY", "approved", 1.0, 875.0, "month", "KANDANCE KROPINAK"),
    "h2a_fy2015": ("H-300-15146-792745", "RX3 LLC", "MO", "approved", 4.0, 12.62, "hour", "Donna Carpenter"),
    "h2a_fy2016": ("H-300-13038-301403", "ARNOLD FARMS, LLC", "MD", "approved", 18.0, 11.66, "hour", None),
    "h2a_fy2017": ("H-300-17097-485527", "G & G Farm & Ranch, Inc.", "TX", "approved", 15.0, 11.59, "hour",
                   "Elizabeth Reed"),
    "h2b_fy2018": ("H-400-17156-311783", "Superior Midway Games, LLC.", "FL", "approved", 12.0, 12.39, "hour",
                   "ROBERT PIERCE"),
    "h2b_fy2019": ("H-400-13058-075497", "Equinox Inc.", "FL", "approved", 3.0, 12.63, "hour", "William Velie"),
}  # fmt: skip
GOLDEN_COLUMNS = (
    "application_id",
    "sponsor_name",
    "worksite_region",
    "decision",
    "workers_certified",
    "declared_wage",
    "wage_unit",
    "recruiter_name",
)
# Rows per file as SOURCE.txt states them.
ROWS = {
    "h2a_fy2006": 7469, "h2a_fy2007": 7740, "h2a_fy2008": 8673, "h2a_fy2009": 8121, "h2a_fy2010": 7394,
    "h2a_fy2011": 7362, "h2a_fy2012": 8047, "h2a_fy2013": 8385, "h2a_fy2014": 9405, "h2a_fy2015": 10339,
    "h2a_fy2016": 11597, "h2a_fy2017": 12930, "h2b_fy2018": 9490, "h2b_fy2019": 9236,
    "h2b_appendix_c_fy2020": 47488, "h2b_appendix_c_fy2021": 44434, "h2b_appendix_c_fy2022": 40887,
    "flc_register": 8964,
}  # fmt: skip


def _value(v: object) -> object:
    return None if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v


def test_every_fiscal_year_is_declared() -> None:
    assert set(GOLDEN) == {f.key for f in us_dol.DISCLOSURE_FILES}
    for spec in us_dol.DISCLOSURE_FILES:
        assert set(spec.columns.values()) <= set(us_dol.FILING_COLUMNS), spec.key
        assert {"application_id", "sponsor_name", "case_status", "declared_wage"} <= set(spec.columns.values())


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_golden_row_per_fiscal_year(us_dol_home: Path, key: str) -> None:
    data = us_dol.load(require_data(), us_dol_home, keys=[key], appendix_c=False, workers=1)
    first = data.filings.iloc[0]
    assert tuple(_value(first[c]) for c in GOLDEN_COLUMNS) == GOLDEN[key]
    assert first["fiscal_year"] == int(key[-4:])
    assert first["decided_on"] <= pd.Timestamp(us_dol.fiscal_year_end(int(key[-4:])))


def test_rows_per_source_match_the_data_readme(us_dol_home: Path) -> None:
    data = us_dol.load(require_data(), us_dol_home)
    for name, rows in ROWS.items():
        assert data.rows_per_source[name] == rows, name
    assert data.rows_per_source["debarments_2010_2014"] == 141
    assert data.filings["decision"].notna().all()
    assert data.outcomes["decided_on"].max() <= pd.Timestamp(us_dol.LABELS_COVER_UNTIL)
    contractors = data.filings.groupby("fiscal_year")["labour_contractor"].sum()
    assert contractors[2017] > 1000 and contractors[2010] == 0  # the flag exists from FY2013 on


def test_second_run_reads_the_cache_not_the_spreadsheets(us_dol_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = us_dol.load(require_data(), us_dol_home)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a spreadsheet was read again")

    monkeypatch.setattr(us_dol, "read_rows", refuse)
    monkeypatch.setattr("openpyxl.load_workbook", refuse)
    monkeypatch.setattr("xlrd.open_workbook", refuse)
    again = us_dol.load(require_data(), us_dol_home, workers=1)
    pd.testing.assert_frame_equal(first.filings, again.filings)
    assert len(list(us_dol.cache_dir(us_dol_home).glob("*.parquet"))) == len(us_dol.DISCLOSURE_FILES) + 3


def test_a_changed_declaration_reparses(tmp_path: Path) -> None:
    data_dir = require_data()
    spec = us_dol.BY_KEY["h2a_fy2006"]
    us_dol.load(data_dir, tmp_path, keys=[spec.key], appendix_c=False, workers=1)
    changed = us_dol.DolFile(spec.key, spec.path, spec.program, spec.fiscal_year, {**spec.columns, "Job_Title": "crop"})
    assert changed.declaration_hash != spec.declaration_hash
    frames = us_dol.cached_frames([us_dol._disclosure_job(data_dir, changed)], tmp_path, workers=1)
    assert frames[spec.key]["crop"].iloc[0] == "FARMWORKER DIVERSIFIED CROP II"
    assert len(list(us_dol.cache_dir(tmp_path).glob("*.parquet"))) == 2


def test_normalising_helpers() -> None:
    assert us_dol.decision_of("DETERMINATION ISSUED - CERTIFICATION") == "approved"
    assert us_dol.decision_of("Certified - Partial") == "approved"
    assert us_dol.decision_of("DETERMINATION ISSUED - WITHDRAWN") == "withdrawn"
    assert us_dol.decision_of("Denied") == "refused"
    assert us_dol.wage_unit_of("mth") == "month" and us_dol.wage_unit_of("HR") == "hour"
    assert us_dol.labour_contractor_of("H-2A Labor Contractor or Job Contractor") is True
    assert us_dol.labour_contractor_of("Individual Employer") is False


# First data row of every Appendix C file, read by hand from the spreadsheets: case, organisation, city, region,
# postal code, country, province; then the filing day the case number carries and the day the row is known from.
GOLDEN_APPENDIX_C: dict[str, tuple[object, ...]] = {
    "h2b_appendix_c_fy2020": ("H-400-19248-051955", "LLS Visa Electronica", "Monterrey", "Nuevo Leon", "64000",
                              "MEXICO", None, date(2019, 9, 5), date(2020, 10, 1)),
    "h2b_appendix_c_fy2021": ("H-400-20277-856930", "Vamos Juntos Alcanzndo Bienestar Asociacion", "TLAPACOYAN", None,
                              "93650", "MEXICO", "VERACRUZ", date(2020, 10, 3), date(2021, 10, 1)),
    "h2b_appendix_c_fy2022": ("H-400-21257-583588", "ADNIL SERVICES, INC", "NORTH VENICE", "FLORIDA", "34275",
                              "UNITED STATES OF AMERICA", None, date(2021, 9, 14), date(2022, 4, 1)),
}  # fmt: skip
GOLDEN_APPENDIX_C_COLUMNS = ("application_id", "name", "city", "region", "postal_code", "country", "province")


@pytest.mark.parametrize("key", sorted(GOLDEN_APPENDIX_C))
def test_golden_appendix_c_row_per_fiscal_year(us_dol_home: Path, key: str) -> None:
    data = us_dol.load(require_data(), us_dol_home, keys=["h2a_fy2006"], workers=1)
    rows = data.recruiters_appendix_c
    first = rows[rows["source_file"] == key].iloc[0]
    *values, submitted, known = GOLDEN_APPENDIX_C[key]
    assert tuple(_value(first[c]) for c in GOLDEN_APPENDIX_C_COLUMNS) == tuple(values)
    assert first["submitted_on"] == pd.Timestamp(submitted) and first["known_on"] == pd.Timestamp(known)
    assert first["known_on"] > first["submitted_on"]
    # The individual recruiter is a hash, never a name.
    assert isinstance(first["staff_key"], str) and len(first["staff_key"]) == 16
    assert not any(c.startswith("staff_") and c != "staff_key" for c in rows.columns)
    assert not rows.astype(str).apply(lambda c: c.str.contains("Montelongo", regex=False)).any().any()


def test_appendix_c_is_declared_per_fiscal_year() -> None:
    assert [f.fiscal_year for f in us_dol.APPENDIX_C_FILES] == [2020, 2021, 2022]
    for spec in us_dol.APPENDIX_C_FILES:
        assert set(spec.columns.values()) == set(us_dol.APPENDIX_C_COLUMNS), spec.key
        assert spec.period_end.year in (spec.fiscal_year, spec.fiscal_year - 1)
    assert len({f.declaration_hash for f in us_dol.APPENDIX_C_FILES}) == 3


def test_case_numbers_and_staff_keys() -> None:
    assert us_dol.case_submitted_on("H-400-19248-051955") == date(2019, 9, 5)
    assert us_dol.case_submitted_on("C-10200-24746") is None and us_dol.case_submitted_on(None) is None
    assert us_dol.staff_key("Arellano Martínez", "Graciela") == us_dol.staff_key("GRACIELA", "arellano martinez")
    assert us_dol.staff_key(None, None) is None
