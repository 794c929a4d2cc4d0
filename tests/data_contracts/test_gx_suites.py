"""Great Expectations suites generated from the contracts: coverage of every field, and a validation whose
failed expectations name exactly the rule ids of the bad rows. GX is slow: one validator for the module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from data_contracts.contracts import CONTRACTS, compared_by_day
from data_contracts.gx_suites import GxBatchValidator, build_suite, expectation_rule_id, natural_id_rule_id
from data_contracts.rules import CONTROL_CHARACTERS, PLACEHOLDER, declared_rules

INGEST = datetime(2025, 6, 1, 12, 0, 0)
EARLIEST = datetime(1900, 1, 1)  # the floor of every date and datetime field


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GxBatchValidator]:
    yield GxBatchValidator(tmp_path_factory.mktemp("gx_home"), INGEST)


def _by_rule(suite: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """rule id -> (expectation type, kwargs), for every expectation of the suite."""
    return {expectation_rule_id(e): (e.expectation_type, dict(e.configuration.kwargs)) for e in suite.expectations}


def test_suite_covers_every_field_of_every_contract() -> None:
    for contract in CONTRACTS.values():
        suite = build_suite(contract, INGEST)
        assert suite.name == contract.name
        got = _by_rule(suite)
        assert len(got) == len(suite.expectations), f"{contract.name}: one expectation per rule id"
        declared = {rule_id for rule_id, _ in declared_rules(contract)}
        natural = {natural_id_rule_id(contract)} if contract.unique_natural_id else set()
        assert set(got) - declared == natural | {
            f"{f.name}:missing_column" for f in contract.fields if not f.required
        }, contract.name
        expected: dict[str, tuple[str, dict[str, Any]]] = {}
        for f in contract.fields:
            col = f.name
            expected[f"{col}:missing_column"] = ("expect_column_to_exist", {"column": col})
            if f.required:
                expected[f"{col}:missing"] = ("expect_column_values_to_not_be_null", {"column": col})
            if f.type == "string" and f.values is None:
                expected[f"{col}:control_character"] = (
                    "expect_column_values_to_not_match_regex",
                    {"column": col, "regex": CONTROL_CHARACTERS},
                )
            if f.code:
                expected[f"{col}:placeholder"] = (
                    "expect_column_values_to_not_match_regex",
                    {"column": col, "regex": PLACEHOLDER},
                )
            if f.values is not None:
                expected[f"{col}:not_allowed"] = (
                    "expect_column_values_to_be_in_set",
                    {"column": col, "value_set": list(f.values)},
                )
            if f.min is not None:
                expected[f"{col}:below_min"] = (
                    "expect_column_values_to_be_between",
                    {"column": col, "min_value": f.min},
                )
            if f.max is not None:
                expected[f"{col}:above_max"] = (
                    "expect_column_values_to_be_between",
                    {"column": col, "max_value": f.max},
                )
            if f.max_length is not None:
                expected[f"{col}:too_long"] = (
                    "expect_column_value_lengths_to_be_between",
                    {"column": col, "max_value": f.max_length},
                )
            if f.type in ("date", "datetime"):
                expected[f"{col}:too_early"] = (
                    "expect_column_values_to_be_between",
                    {"column": col, "min_value": EARLIEST},
                )
            if f.not_in_future:
                expected[f"{col}:in_future"] = (
                    "expect_column_values_to_be_between",
                    {"column": col, "max_value": INGEST},
                )
        for order in contract.date_orders:
            # A datetime compared with a date is compared by its day (a derived column).
            day = {c: c + "__day" if contract.field(c).type == "datetime" else c for c in (order.earlier, order.later)}
            if not compared_by_day(contract, order):
                day = {order.earlier: order.earlier, order.later: order.later}
            expected[f"{order.later}:before_{order.earlier}"] = (
                "expect_column_pair_values_a_to_be_greater_than_b",
                {
                    "column_A": day[order.later],
                    "column_B": day[order.earlier],
                    "or_equal": True,
                    "ignore_row_if": "either_value_is_missing",
                },
            )
        expected["record_id:duplicate_in_batch"] = ("expect_column_values_to_be_unique", {"column": "record_id"})
        if contract.unique_natural_id:
            expected[natural_id_rule_id(contract)] = (
                ("expect_column_values_to_be_unique", {"column": contract.natural_id})
                if contract.versioned_by is None
                else (
                    "expect_compound_columns_to_be_unique",
                    {"column_list": [contract.natural_id, contract.versioned_by]},
                )
            )
        assert set(got) == set(expected), contract.name
        for rule_id, (kind, kwargs) in expected.items():
            assert got[rule_id][0] == kind, rule_id
            assert {k: got[rule_id][1].get(k) for k in kwargs} == kwargs, rule_id


def test_suite_for_a_file_without_some_columns() -> None:
    contract = CONTRACTS["recruiter"]
    present = set(contract.columns) - {"source", "phone"}
    got = _by_rule(build_suite(contract, INGEST, present))
    assert [r for r in got if r.startswith("source:")] == ["source:missing_column"]  # required: only this, fails
    assert [r for r in got if r.startswith("phone:")] == []  # optional: nothing to check, like the row rules


def _recruiter_rows(n: int) -> list[dict[str, Any]]:
    return [
        dict(
            record_id=f"r{i}",
            source="registry",
            batch_id="b1",
            recruiter_ref=f"R{i}",
            name=f"Agency {i}",
            agency_type="licensed_agency",
            country="X",
            address=None,
            phone="1",
            directors="A;B",
            licence_id=None,
            licence_status="active",
            licence_valid_from=date(2020, 1, 1),
            licence_valid_to=date(2021, 1, 1),
            declared_fee_to_workers_usd=10.0,
            registered_on=date(2019, 1, 1),
        )
        for i in range(n)
    ]


def test_validation_reports_the_rule_ids_of_the_bad_rows(validator: GxBatchValidator) -> None:
    contract = CONTRACTS["recruiter"]
    good = validator.validate(contract, pd.DataFrame(_recruiter_rows(5)), "recruiter-good")
    assert good.success and good.failed_rule_ids == [] and good.evaluated_expectations > len(contract.fields)

    rows = _recruiter_rows(10)
    rows[1]["name"] = None  # name:missing
    rows[2]["agency_type"] = "pirate"  # agency_type:not_allowed
    rows[3]["declared_fee_to_workers_usd"] = -1.0  # :below_min
    rows[4]["declared_fee_to_workers_usd"] = 2e6  # :above_max
    rows[5]["country"] = "x" * 101  # country:too_long
    rows[6]["registered_on"] = date(2030, 1, 1)  # registered_on:in_future
    rows[7]["licence_valid_to"] = date(2019, 1, 1)  # licence_valid_to:before_licence_valid_from
    rows[8]["record_id"] = "r0"  # record_id:duplicate_in_batch
    rows[8]["recruiter_ref"] = "R0"  # recruiter_ref:duplicate_in_batch (GX only)
    rows[9]["name"] = "Bell\x07 Agency"  # name:control_character
    rows[0]["licence_valid_from"] = date(1800, 1, 1)  # licence_valid_from:too_early
    frame = pd.DataFrame(rows).drop(columns=["source", "phone"])  # source:missing_column; phone is optional
    bad = validator.validate(contract, frame, "recruiter-bad")
    assert not bad.success
    assert bad.failed_rule_ids == sorted(
        [
            "name:missing",
            "name:control_character",
            "agency_type:not_allowed",
            "declared_fee_to_workers_usd:below_min",
            "declared_fee_to_workers_usd:above_max",
            "country:too_long",
            "registered_on:in_future",
            "licence_valid_from:too_early",
            "licence_valid_to:before_licence_valid_from",
            "record_id:duplicate_in_batch",
            "recruiter_ref:duplicate_in_batch",
            "source:missing_column",
        ]
    )
    assert bad.docs_page is not None and bad.docs_page.is_file()

    # datetimes (and the pair rule on them), all-null optional columns, unparseable -> NaT / NaN
    visa = CONTRACTS["visa_application"]
    frame = pd.DataFrame({f.name: [None, None, None] for f in visa.fields})
    frame = frame.assign(
        record_id=["a", "b", "c"],
        source="visa",
        application_id=["A", "B", "C"],
        post_id="P1",
        desk_officer_id="o",
        visa_class="work",
        applicant_id=["x", "y", "z"],
        decision="approved",
        submitted_at=pd.to_datetime(["2025-01-01 10:00", "2025-07-01 00:00", None]),
        decided_at=pd.Series([datetime(2025, 1, 2), datetime(2024, 12, 1), None], dtype=object),
        declared_wage=pd.array([100, None, 5], dtype="Int64"),
    )
    result = validator.validate(visa, frame, "visa-1")
    assert result.failed_rule_ids == [
        "decided_at:before_submitted_at",
        "submitted_at:in_future",
        "submitted_at:missing",
    ]


def test_register_versions_share_their_reference_once_per_status_since(validator: GxBatchValidator) -> None:
    contract = CONTRACTS["recruiter"]
    rows = _recruiter_rows(3)
    rows[1] |= {"recruiter_ref": "R0", "licence_status": "revoked"}
    since = [date(2019, 1, 1), date(2020, 6, 1), date(2019, 1, 1)]
    versions = pd.DataFrame(rows).assign(status_since=pd.Series(since, dtype=object))
    assert validator.validate(contract, versions, "recruiter-versions").failed_rule_ids == []
    same_day = versions.assign(status_since=pd.Series([date(2019, 1, 1)] * 3, dtype=object))
    result = validator.validate(contract, same_day, "recruiter-versions-same-day")
    assert result.failed_rule_ids == ["recruiter_ref:duplicate_in_batch"]


def test_a_date_against_a_datetime_is_compared_by_day(validator: GxBatchValidator) -> None:
    contract = CONTRACTS["border_crossing"]
    frame = pd.DataFrame(
        {
            "record_id": ["c1", "c2"],
            "source": "border",
            "crossing_id": ["C1", "C2"],
            "border_post_id": "BP1",
            "officer_id": "o",
            "crossed_at": pd.to_datetime(["2024-03-05 14:30", "2024-03-05 14:30"]),
            "direction": "in",
            "traveller_id": ["t1", "t2"],
            "outcome": "admitted",
            "fraud_found_on": pd.Series([date(2024, 3, 5), date(2024, 6, 1)], dtype=object),
        }
    )
    assert validator.validate(contract, frame, "crossing-same-day").failed_rule_ids == []
    earlier = frame.assign(fraud_found_on=pd.Series([date(2024, 3, 4), date(2024, 6, 1)], dtype=object))
    result = validator.validate(contract, earlier, "crossing-day-before")
    assert result.failed_rule_ids == ["fraud_found_on:before_crossed_at"]


def test_build_docs_writes_the_index(validator: GxBatchValidator) -> None:
    validator.validate(CONTRACTS["recruiter"], pd.DataFrame(_recruiter_rows(3)), "recruiter-docs")
    index = validator.build_docs()
    assert index.name == "index.html" and index.is_file()
    assert index == Path(validator.home) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert "recruiter-docs" in index.read_text(encoding="utf-8")
