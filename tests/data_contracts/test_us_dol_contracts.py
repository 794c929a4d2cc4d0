"""US DOL rows through their record contracts: the rules on the fields the source supplies are checked, the
rules that need a field it declares it does not supply are skipped (and reported), bad rows are quarantined
with their rule ids, and only accepted rows enter the cache."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_contracts.pseudonymise import PseudonymKey
from data_contracts.reader import RawBatch
from data_contracts.rules import skipped_rules
from data_contracts.sources import us_dol
from data_contracts.validate import WrongRecordType, validate_batch

SPEC = us_dol.BY_KEY["h2a_fy2015"]


def _filing(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "application_id": "H-300-15146-792745",
        "submitted_at": "05/26/2015",
        "decided_at": "06/20/2015",
        "case_status": "DETERMINATION ISSUED - CERTIFICATION",
        "sponsor_name": "RX3 LLC",
        "employer_state": "MO",
        "occupation": "Farmworkers",
        "workers_requested": "4",
        "workers_certified": "4",
        "declared_wage": "12.62",
        "wage_unit_raw": "Hour",
        "worksite_region": "MO",
    }
    row.update(changes)
    return row


def _filings(rows: list[dict[str, Any]], spec: us_dol.DolFile = SPEC) -> pd.DataFrame:
    raw = pd.DataFrame(rows, dtype=object)
    return us_dol.normalise_filings(raw[[c for c in raw.columns if c in spec.columns.values()]], spec)


BAD_ROWS = {
    "decided_at:before_submitted_at": _filing(decided_at="05/01/2015"),
    "declared_wage:below_min": _filing(declared_wage="-3.50"),
    "application_id:missing": _filing(application_id=""),
    "submitted_at:missing": _filing(submitted_at=None),
    "sponsor_name:too_long": _filing(sponsor_name="X" * 301),
}


def test_a_good_filing_is_accepted_and_unsupplied_rules_are_skipped_not_failed(tmp_path: Path) -> None:
    accepted, check = us_dol.check_filings(_filings([_filing()]), SPEC, tmp_path, "good")
    assert (check.read, check.accepted, check.quarantined) == (1, 1, 0)
    assert check.reasons == {} and check.quarantine_file is None
    assert accepted["application_id"].tolist() == ["H-300-15146-792745"]
    # no visa post, desk officer or applicant: their rules are reported as skipped, with why
    for rule in ("post_id:missing_column", "desk_officer_id:missing_column", "applicant_id:missing_column"):
        assert check.skipped_rules[rule].startswith("the source does not supply")
    assert "applicant_sex:not_allowed" in check.skipped_rules
    # rules on the supplied fields are not skipped
    assert not {"decision:not_allowed", "submitted_at:missing", "decided_at:before_submitted_at"} & set(
        check.skipped_rules
    )


@pytest.mark.parametrize("rule", sorted(BAD_ROWS))
def test_a_bad_filing_is_quarantined_with_its_rule_id(rule: str, tmp_path: Path) -> None:
    filings = _filings([_filing(application_id="H-300-15146-000001"), BAD_ROWS[rule]])
    accepted, check = us_dol.check_filings(filings, SPEC, tmp_path, "bad")
    assert (check.read, check.accepted, check.quarantined) == (2, 1, 1)
    assert check.reasons == {rule: 1}
    assert accepted["application_id"].tolist() == ["H-300-15146-000001"]
    assert check.quarantine_file is not None
    quarantined = pq.read_table(tmp_path / check.quarantine_file)
    assert quarantined.column("_reasons").to_pylist() == [[rule]]
    assert quarantined.column("_line").to_pylist() == [3]  # second data row
    assert quarantined.column("_file").to_pylist() == [SPEC.path]


def test_a_decision_on_the_day_of_receipt_is_in_order(tmp_path: Path) -> None:
    # H-2B receipt dates carry a time, decision dates are days: the order is checked on days
    row = _filing(submitted_at="2018-01-02 14:05:00", decided_at="01/02/2018")
    _, check = us_dol.check_filings(_filings([row]), SPEC, tmp_path, "same-day")
    assert check.accepted == 1 and check.reasons == {}


def test_an_unknown_case_status_is_quarantined(tmp_path: Path) -> None:
    assert [us_dol.decision_of(s) for s in ("Received", "Incomplete", "Modification")] == ["pending"] * 3
    assert us_dol.decision_of("SOMETHING NEW") is None
    _, check = us_dol.check_filings(_filings([_filing(case_status="SOMETHING NEW")]), SPEC, tmp_path, "status")
    assert check.reasons == {"decision:missing": 1}


def test_a_year_without_receipt_dates_skips_the_date_order_rule(tmp_path: Path) -> None:
    spec = us_dol.BY_KEY["h2a_fy2007"]  # decision dates, no receipt date
    assert "submitted_at" in spec.unsupplied and "decided_at" not in spec.unsupplied
    _, check = us_dol.check_filings(_filings([_filing()], spec), spec, tmp_path, "fy2007")
    assert check.accepted == 1
    assert "decided_at:before_submitted_at" in check.skipped_rules
    assert "submitted_at:missing_column" in check.skipped_rules
    assert "submitted_at:missing_column" not in check.reasons


def test_the_cache_holds_only_accepted_rows(tmp_path: Path) -> None:
    source = tmp_path / "filings.csv"
    source.write_text("stand-in for the spreadsheet\n")
    rows = [_filing(application_id=f"H-300-15146-00000{i}") for i in range(3)] + [BAD_ROWS["declared_wage:below_min"]]
    job = us_dol.ParseJob(SPEC.key, source, SPEC.declaration_hash, lambda: _filings(rows), SPEC)
    home = tmp_path / "home"
    checks: dict[str, us_dol.ContractCheck] = {}
    frames = us_dol.cached_frames([job], home, workers=1, checks=checks)
    assert len(frames[SPEC.key]) == 3
    (cached,) = us_dol.cache_dir(home).glob("*.parquet")
    assert sorted(pd.read_parquet(cached)["application_id"]) == [f"H-300-15146-00000{i}" for i in range(3)]
    assert (checks[SPEC.key].accepted, checks[SPEC.key].quarantined) == (3, 1)
    # a second run reads the cache and the check kept beside it: no parse
    again: dict[str, us_dol.ContractCheck] = {}

    def refuse() -> pd.DataFrame:
        raise AssertionError("re-parsed")

    cached_job = us_dol.ParseJob(SPEC.key, source, SPEC.declaration_hash, refuse, SPEC)
    assert len(us_dol.cached_frames([cached_job], home, workers=1, checks=again)[SPEC.key]) == 3
    assert again[SPEC.key] == checks[SPEC.key]


def test_outcomes_and_the_contractor_register_go_through_their_contracts(tmp_path: Path) -> None:
    outcomes = pd.DataFrame(
        {
            "outcome_id": ["debarment:0", "debarment:1"],
            "entity_type": ["employer", "employer"],
            "entity_name": ["A FARM", "B FARM"],
            "decided_on": pd.to_datetime(["2012-03-01", None]),
            "kind": ["debarment", "debarment"],
            "issuing_body": ["US DOL OFLC", "US DOL OFLC"],
        }
    )
    kept, check = us_dol._checked(
        outcomes, us_dol.enforcement_outcome_rows(outcomes, "t"), "enforcement_outcome", "deb", "deb.csv", tmp_path
    )
    assert kept["entity_name"].tolist() == ["A FARM"] and check.reasons == {"decided_on:missing": 1}
    assert "entity_ref:missing_column" in check.skipped_rules
    flc = pd.DataFrame(
        {
            "recruiter_ref": ["1", "2"],
            "name": ["C LLC", "D LLC"],
            "agency_type": "labour_contractor",
            "country": "US",
            "licence_id": ["1", "2"],
            "licence_valid_from": pd.to_datetime(["2020-01-01", "2021-01-01"]),
            "licence_valid_to": pd.to_datetime(["2021-01-01", "2020-06-01"]),
        }
    )
    kept, check = us_dol._checked(flc, us_dol.recruiter_rows(flc), "recruiter", "flc", "flc.csv", tmp_path)
    assert kept["name"].tolist() == ["C LLC"]
    assert check.reasons == {"licence_valid_to:before_licence_valid_from": 1}
    assert {"licence_status:missing_column", "registered_on:missing_column"} <= set(check.skipped_rules)


def test_validate_batch_unsupplied_parameter() -> None:
    table = pa.table(
        {
            "record_id": ["r1"],
            "source": ["s"],
            "outcome_id": ["o1"],
            "entity_type": ["employer"],
            "decided_on": ["2012-01-01"],
            "kind": ["debarment"],
            "_line": pa.array([2], pa.int64()),
        }
    )
    raw = RawBatch(table, [], "parquet", None, [])
    key = PseudonymKey(b"k" * 32, "test")
    now = datetime(2020, 1, 1)
    strict = validate_batch(raw, "enforcement_outcome", {}, now, key)
    assert strict.reasons == {"entity_ref:missing_column": 1} and strict.skipped_rules == {}
    lenient = validate_batch(raw, "enforcement_outcome", {}, now, key, unsupplied=("entity_ref",))
    assert lenient.accepted.num_rows == 1 and lenient.reasons == {}
    assert set(lenient.skipped_rules) == {
        "entity_ref:missing",
        "entity_ref:missing_column",
        "entity_ref:too_long",
        "entity_ref:control_character",
    }
    with pytest.raises(WrongRecordType, match="declared as not supplied"):
        validate_batch(raw, "enforcement_outcome", {}, now, key, unsupplied=("decided_on",))
    with pytest.raises(ValueError, match="no fields"):
        skipped_rules(us_dol.CONTRACTS["enforcement_outcome"], ("no_such_field",))


def test_the_gx_suite_runs_on_accepted_rows_without_the_unsupplied_fields(tmp_path: Path) -> None:
    from data_contracts.gx_suites import GxBatchValidator, build_suite, expectation_rule_id

    contract = us_dol.CONTRACTS["visa_application"]
    spec = us_dol.BY_KEY["h2a_fy2007"]
    suite = build_suite(contract, datetime(2020, 1, 1), {"application_id", "decision"}, spec.unsupplied)
    rules = {expectation_rule_id(e) for e in suite.expectations}
    assert "decision:not_allowed" in rules and "application_id:missing" in rules
    assert not {"post_id:missing_column", "submitted_at:missing_column"} & rules
    gx = GxBatchValidator(tmp_path / "home", datetime.now().replace(microsecond=0), docs_per_batch=False)
    rows = [_filing(application_id="H-300-15146-000001"), BAD_ROWS["declared_wage:below_min"]]
    _, check = us_dol.check_filings(_filings(rows), SPEC, tmp_path, "gx", gx)
    assert check.quarantined == 1
    assert check.gx_success is True and check.gx_failed == []
