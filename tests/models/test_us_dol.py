"""US DOL views: the backtest report and card, the foreign recruiter indicators and listing, the summary over
origins (the pipeline's own checks: tests/flows/test_us_dol_pipeline.py)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from data_contracts.sources.country_tables import load_country_context
from features.us_dol import DOL_INDICATORS, foreign_recruiter_features, red_flags
from models.report import render_report, render_us_dol_report, us_dol_model_card
from models.us_dol import foreign_recruiters, origin_label_end, origin_summary
from tests.us_dol_data import hand_made_backtest, require_data


def test_model_report_and_card_show_model_rule_and_random_with_intervals() -> None:
    results = [hand_made_backtest("employer"), hand_made_backtest("recruiter")]
    html = render_us_dol_report(results)
    assert html.count("<h3>") == 2 and "agents, attorneys and law firms" in html
    for text in ("rule: labour contractors first, then size", "random", "precision@50", "lift@50", "<svg"):
        assert text in html
    assert '0.250 <span class="ci">[0.125, 0.375]</span>' in html
    assert "higher in 88%, lower in 12% (difference -0.500 to 0.250)" in html
    main = render_report({}, "report", us_dol=results)
    assert "US DOL H-2A / H-2B backtest" in main and "[0.625, 0.875]" in main
    assert "US DOL" not in render_report({}, "report")
    card = us_dol_model_card(results)
    assert "| model | 0.250 [0.125, 0.375] | 0.750 [0.625, 0.875] | 0.500 [0.250, 0.750] |" in card
    assert "nationality is never a feature" in card


def _appendix(rows: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    """Hand-made Appendix C rows: case, organisation, country, staff key, day the row is known from."""
    frame = pd.DataFrame(rows, columns=["application_id", "name", "country", "staff_key", "known_on"])
    frame["known_on"] = pd.to_datetime(frame["known_on"])
    frame["region"] = None
    return frame


def test_foreign_recruiter_indicators_on_hand_made_rows() -> None:
    appendix = _appendix(
        [
            ("C1", "Alpha Agency S.A.", "MEXICO", "s1", "2020-10-01"),
            ("C1", "Beta Recruiters", "MEXICO", "s2", "2020-10-01"),
            ("C2", "ALPHA AGENCY", "MEXICO", "s1", "2020-10-01"),
            ("C3", "Gamma Ltd", "JAMAICA", "s1", "2020-10-01"),
            ("C4", "Delta", "GUATEMALA", "s9", "2021-10-01"),  # known only from 2021-10-01
            ("C4", "Alpha Agency", "MEXICO", "s1", "2021-10-01"),
        ]
    )
    filings = pd.DataFrame(
        {"agent_id": ["beta recruiters", "beta recruiters", None], "employer_id": ["farm one", "farm two", "farm 3"]}
    )
    feats = foreign_recruiter_features(appendix, filings, {"farm one"}, None, date(2021, 1, 1))
    assert list(feats.index) == ["alpha agency", "beta recruiters", "gamma"]
    got = feats[["cases", "named_staff", "chain_share_raw", "shared_staff_orgs", "clients_debarred", "us_agent"]]
    assert got.loc["alpha agency"].tolist() == [2.0, 1.0, 0.5, 1.0, 0.0, False]
    assert got.loc["beta recruiters"].tolist() == [1.0, 1.0, 1.0, 0.0, 1.0, True]
    assert got.loc["gamma"].tolist() == [1.0, 1.0, 0.0, 1.0, 0.0, False]
    assert feats.loc["gamma", "country"] == "JAMAICA"
    assert red_flags(feats, "foreign_recruiter").to_dict() == {"alpha agency": 1, "beta recruiters": 1, "gamma": 1}
    later = foreign_recruiter_features(appendix, filings, {"farm one"}, None, date(2021, 10, 2))
    assert later.loc["alpha agency", "cases"] == 3 and "delta" in later.index


def test_country_context_is_never_a_feature() -> None:
    """Principle 2 and INDICATORS.md: country figures are context beside a listing, never an indicator."""
    context_words = ("country", "cpi", "tip", "wgi", "nationality", "goods")
    for indicator in DOL_INDICATORS:
        assert not any(w in indicator.id for w in context_words), indicator.id


def test_foreign_recruiters_context_changes_no_rank_flag_or_reason() -> None:
    """The country figures sit beside the listing: with or without them, the same ranks, flags and reasons."""
    appendix = _appendix(
        [
            ("C1", "Alpha Agency S.A.", "MEXICO", "s1", "2020-10-01"),
            ("C1", "Beta Recruiters", "MEXICO", "s2", "2020-10-01"),
            ("C2", "Gamma Ltd", "JAMAICA", "s1", "2020-10-01"),
        ]
    )
    pairs = pd.DataFrame({"agent_id": ["beta recruiters"], "employer_id": ["sponsor:farm one"]})
    day = date(2021, 7, 1)
    listing = foreign_recruiters(appendix, pairs, {"sponsor:farm one"}, None, day, load_country_context(require_data()))
    plain = foreign_recruiters(appendix, pairs, {"sponsor:farm one"}, None, day, None)
    columns = ["recruiter_name", "red_flags", "rank", "reasons"]
    pd.testing.assert_frame_equal(listing.recruiters[columns], plain.recruiters[columns])
    assert listing.recruiters["context"].str.contains("TI CPI").any() and (plain.recruiters["context"] == "").all()
    assert listing.countries.loc["MEXICO", "organisations"] == 2 and listing.countries.loc["MEXICO", "iso3"] == "MEX"


def test_origin_label_end_on_the_calendar() -> None:
    assert origin_label_end(date(2011, 7, 1), date(2014, 12, 31)) == date(2013, 6, 30)
    assert origin_label_end(date(2013, 7, 1), date(2014, 12, 31)) == date(2014, 12, 31)


def test_origin_summary_states_served_and_the_targets() -> None:
    row = origin_summary(hand_made_backtest("employer"))
    assert row["served"] == "model" and row["positives_new"] == 10 and row["positives_known"] == 2
    assert row["served_precision_at_100"] == 0.04 and row["red_flag_count_precision_at_100"] == 0.01
    assert row["served_ap_over_count"] == 4.0 and row["meets_ap_target"] and row["meets_precision_target"]
