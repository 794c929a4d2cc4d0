"""US DOL scoring: the as-of rule (nothing dated on or after DATE changes a score) and the backtest's shape."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.sources import us_dol
from data_contracts.sources.country_tables import load_country_context
from features.us_dol import DOL_INDICATORS, employer_key, foreign_recruiter_features, name_parts, red_flags
from models.report import render_report, render_us_dol_report, us_dol_model_card
from models.us_dol import (
    GATE_K,
    backtest,
    backtest_markdown,
    expected_precision_at_k,
    fold_start,
    fold_window,
    foreign_recruiters_as_of,
    gate_decision,
    origin_label_end,
    origin_summary,
    origins_for,
    score_as_of,
)
from tests.us_dol_data import hand_made_backtest, require_data

KEYS = ["h2a_fy2009", "h2a_fy2010", "h2a_fy2011", "h2a_fy2012", "h2a_fy2013"]
AS_OF = date(2012, 7, 1)


@pytest.fixture(scope="module")
def subset(us_dol_home: Path) -> us_dol.DolData:
    return us_dol.load(require_data(), us_dol_home, keys=KEYS, appendix_c=False, workers=1)


def _known_before(data: us_dol.DolData, day: date) -> us_dol.DolData:
    cut = pd.Timestamp(day)
    return us_dol.DolData(
        data.filings[data.filings["decided_on"] < cut].reset_index(drop=True),
        data.recruiters_appendix_c,
        data.flc_register,
        data.outcomes[data.outcomes["decided_on"] < cut].reset_index(drop=True),
        data.rows_per_source,
    )


@pytest.mark.parametrize("entity", ["employer", "recruiter"])
def test_nothing_dated_after_the_as_of_day_changes_a_score(subset: us_dol.DolData, entity: str) -> None:
    full = score_as_of(subset, AS_OF, entity)  # type: ignore[arg-type]
    known = score_as_of(_known_before(subset, AS_OF), AS_OF, entity)  # type: ignore[arg-type]
    assert len(full.scores) > 1000
    assert full.origins and all(end <= AS_OF for _, end, _, _ in full.origins)
    pd.testing.assert_frame_equal(full.scores, known.scores)
    assert full.gate == known.gate and full.gate.fold_labels == (date(2011, 7, 1), AS_OF)  # the fold ends before
    later = set(
        subset.filings.loc[subset.filings["decided_on"] >= pd.Timestamp(AS_OF), "sponsor_name"]
        .dropna()
        .map(employer_key)
    )
    earlier = set(
        subset.filings.loc[subset.filings["decided_on"] < pd.Timestamp(AS_OF), "sponsor_name"]
        .dropna()
        .map(employer_key)
    )
    if entity == "employer":
        assert not (set(full.scores.index) & (later - earlier))  # only filers before the day are scored


def test_training_origins_stop_at_the_as_of_day_and_the_label_lists() -> None:
    assert origins_for(date(2013, 1, 1)) == [
        (date(2010, 1, 1), date(2012, 1, 1)),
        (date(2011, 1, 1), date(2013, 1, 1)),
        (date(2012, 1, 1), date(2013, 1, 1)),
    ]
    assert all(end <= date(2015, 1, 1) for _, end in origins_for(date(2019, 1, 1)))


def test_dba_names_resolve_to_the_legal_name() -> None:
    assert employer_key("GF Farm, Inc. DBA Sand Creek Farm") == employer_key("GF FARM INC")
    assert name_parts("Charles Hass DBA H&R Farms") == ["Charles Hass", "H&R Farms"]


def test_backtest_reports_model_rule_and_random(subset: us_dol.DolData) -> None:
    result = backtest(
        subset, date(2012, 1, 1), date(2012, 12, 31), "employer", ks=(50,), random_draws=20, bootstrap_samples=200
    )
    assert set(result["rankings"]) == {"served", "model", "rule_contractor_then_size", "red_flag_count", "random"}
    assert result["positives"] > 0 and result["later_debarments_linked_to_a_filer"] <= result["later_debarments"]
    # New debarments only: entities debarred before the day are left out of the judged population.
    assert result["positives"] == result["positives_new"] and result["entities_judged"] < result["entities_scored"]
    assert result["served"] in ("model", "red_flag_count") and result["served_reason"]
    gate = result["gate"]
    assert gate["fold_as_of"] == "2011-01-01" and gate["fold_labels"] == ["2011-01-01", "2012-01-01"]
    for name, metrics in result["rankings"].items():
        for key in ("average_precision", "roc_auc", "precision_at_50", "lift_at_50"):
            lo, hi = metrics[f"{key}_ci95"]
            assert lo <= hi, (name, key)
            if name != "random":  # random's point figure is a mean over draws, its interval one draw per resample
                assert lo <= metrics[key] <= hi, (name, key)
    assert result["bootstrap"]["resamples"] == 200 and result["bootstrap"]["level"] == 0.95
    assert set(result["paired"]) == {"model_vs_rule_contractor_then_size", "model_vs_red_flag_count"}
    assert set(result["paired_served"]) == {"served_vs_rule_contractor_then_size", "served_vs_red_flag_count"}
    share = result["paired"]["model_vs_red_flag_count"]["average_precision"]
    assert 0 <= share["model_higher_share"] + share["model_lower_share"] <= 1
    assert result["gain"]["model"][0] == (0.0, 0.0) and result["gain"]["model"][-1] == (1.0, 1.0)
    text = backtest_markdown(result)
    assert "precision@50" in text and "[" in text and "resamples" in text


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


def test_foreign_recruiters_as_of_rule_and_context_beside_the_ranking(us_dol_home: Path) -> None:
    data = us_dol.load(require_data(), us_dol_home, keys=["h2b_fy2018", "h2b_fy2019"], workers=1)
    context = load_country_context(require_data())
    day = date(2021, 7, 1)
    listing = foreign_recruiters_as_of(data, day, context)
    plain = foreign_recruiters_as_of(data, day, None)
    # The country figures change no rank, flag or reason.
    columns = ["recruiter_name", "red_flags", "rank", "reasons"]
    pd.testing.assert_frame_equal(listing.recruiters[columns], plain.recruiters[columns])
    assert listing.recruiters["context"].str.contains("TI CPI").any() and (plain.recruiters["context"] == "").all()
    # Only FY2020 rows (known from 2020-10-01) are known on 2021-07-01: dropping the later files changes nothing.
    known = data.recruiters_appendix_c[data.recruiters_appendix_c["known_on"] < pd.Timestamp(day)]
    assert set(known["fiscal_year"]) == {2020}
    cut = us_dol.DolData(data.filings, known, data.flc_register, data.outcomes, data.rows_per_source)
    pd.testing.assert_frame_equal(foreign_recruiters_as_of(cut, day, context).recruiters, listing.recruiters)
    assert foreign_recruiters_as_of(data, date(2020, 10, 1), None).recruiters.empty
    mexico = listing.countries.loc["MEXICO"]
    assert mexico["iso3"] == "MEX" and mexico["organisations"] > 50 and mexico["tip_tier_label"] == "Tier 2"


def _fold(n: int = 5_000, positives: int = 40, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=int)
    labels[rng.choice(n, positives, replace=False)] = 1
    return labels, rng.random(n), rng


def test_the_gate_serves_a_model_that_beats_the_count_on_the_fold() -> None:
    labels, noise, _ = _fold()
    count = noise * 3  # the count knows nothing
    model = noise + labels * 2  # every positive at the top
    gate = gate_decision(model, count, labels)
    assert gate.served == "model" and gate.model_higher_share[f"precision_at_{GATE_K}"] >= 0.8
    assert gate.model["average_precision"] > gate.red_flag_count["average_precision"]
    assert gate.fold_positives == 40 and "resamples" in gate.reason


def _scores_of(order: np.ndarray) -> np.ndarray:
    """Scores that rank the entities in ``order`` (first = highest)."""
    scores = np.empty(len(order))
    scores[order] = np.arange(len(order), 0, -1)
    return scores


def test_the_gate_serves_the_count_unless_the_model_beats_it() -> None:
    labels, noise, _ = _fold()
    count = noise + labels * 2
    assert gate_decision(count.copy(), count, labels).served == "red_flag_count"  # a tie is no win
    assert gate_decision(noise, count, labels).served == "red_flag_count"  # worse
    # Entities 0-39 are the positives. The count: 10 of them first, 30 just below the top 100. The model: 30
    # of them at places 71-100, 10 last. The model's precision@100 is higher, its average precision lower.
    n, positives = 5_000, np.arange(40)
    labels = np.isin(np.arange(n), positives).astype(int)
    others = np.arange(40, n)
    count = _scores_of(np.concatenate([positives[:10], others[:90], positives[10:], others[90:]]))
    model = _scores_of(np.concatenate([others[:70], positives[:30], others[70:], positives[30:]]))
    gate = gate_decision(model, count, labels)
    assert gate.model[f"precision_at_{GATE_K}"] == 0.30 and gate.red_flag_count[f"precision_at_{GATE_K}"] == 0.10
    assert gate.model_higher_share[f"precision_at_{GATE_K}"] >= 0.8
    assert gate.model["average_precision"] < gate.red_flag_count["average_precision"]
    assert gate.served == "red_flag_count"


def test_the_gate_needs_positives_and_a_model() -> None:
    labels, noise, _ = _fold(positives=4)
    gate = gate_decision(noise + labels * 2, noise, labels)
    assert gate.served == "red_flag_count" and "fewer than 5" in gate.reason
    gate = gate_decision(None, noise, labels)
    assert gate.served == "red_flag_count" and gate.reason.startswith("no model")


def test_fold_and_label_windows_on_the_calendar() -> None:
    assert fold_start(date(2012, 7, 1)) == date(2011, 7, 1)
    assert fold_start(date(2012, 2, 29)) == date(2011, 2, 28)
    assert fold_window(date(2012, 7, 1)) == (date(2011, 7, 1), date(2012, 7, 1))
    # After the debarment lists end, the fold is their last year (a later day is never gated on an empty fold).
    assert fold_window(date(2019, 3, 1)) == (date(2014, 1, 1), date(2015, 1, 1))
    assert origin_label_end(date(2011, 7, 1), date(2014, 12, 31)) == date(2013, 6, 30)
    assert origin_label_end(date(2013, 7, 1), date(2014, 12, 31)) == date(2014, 12, 31)


def test_expected_precision_at_k_spreads_a_tie_over_its_places() -> None:
    scores = np.array([3.0, 2.0, 2.0, 2.0, 2.0, 1.0])
    labels = np.array([1, 1, 0, 0, 0, 1])
    assert expected_precision_at_k(scores, labels, 1) == 1.0
    assert expected_precision_at_k(scores, labels, 3) == pytest.approx((1 + 2 * 0.25) / 3)
    assert expected_precision_at_k(scores, labels, 10) == pytest.approx(0.5)  # k above n: every entity


def test_origin_summary_states_served_and_the_targets() -> None:
    row = origin_summary(hand_made_backtest("employer"))
    assert row["served"] == "model" and row["positives_new"] == 10 and row["positives_known"] == 2
    assert row["served_precision_at_100"] == 0.04 and row["red_flag_count_precision_at_100"] == 0.01
    assert row["served_ap_over_count"] == 4.0 and row["meets_ap_target"] and row["meets_precision_target"]
