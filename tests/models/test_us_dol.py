"""US DOL views: the backtest report and card, the foreign recruiter listing from the recruiter features, the
summary over origins (the pipeline's own checks: tests/flows/test_us_dol_pipeline.py)."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pyarrow as pa

from data_contracts.sources.country_tables import load_country_context
from features.build import FeatureTable
from features.registry import BY_ID, INDICATORS
from models.report import render_report, render_us_dol_report, us_dol_model_card
from models.us_dol import foreign_recruiters, origin_label_end, origin_summary, origins_markdown
from tests.us_dol_data import hand_made_backtest, require_data


def test_model_report_and_card_show_model_rule_and_random_with_intervals() -> None:
    results = [hand_made_backtest("employer"), hand_made_backtest("recruiter")]
    html = render_us_dol_report(results)
    assert html.count("<h3>") == 2 and "agents, attorneys and law firms" in html
    for text in ("rule: labour contractors first, then size", "random", "precision@50", "lift@50", "<svg"):
        assert text in html
    assert '0.250 <span class="ci">[0.125, 0.375]</span>' in html
    assert "(5-fold), reach average precision 0.3125" in html
    assert "higher in 88%, lower in 12% (difference -0.500 to 0.250)" in html
    main = render_report({}, "report", us_dol=results)
    assert "US DOL H-2A / H-2B backtest" in main and "[0.625, 0.875]" in main
    assert "US DOL" not in render_report({}, "report")
    card = us_dol_model_card(results)
    assert "| model | 0.250 [0.125, 0.375] | 0.750 [0.625, 0.875] | 0.500 [0.250, 0.750] |" in card
    assert "nationality is never a feature" in card


def _appendix(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Hand-made Appendix C rows: case, organisation, country, day the row is known from."""
    frame = pd.DataFrame(rows, columns=["application_id", "name", "country", "known_on"])
    frame["known_on"] = pd.to_datetime(frame["known_on"])
    frame["region"] = None
    return frame


def _features(rows: dict[str, tuple[float, float | None, float, float | None]]) -> FeatureTable:
    """A hand-made recruiter feature table: per entity L15 (value, den) and L16 (value, den), red flags as the
    feature build counts them (each past 0)."""
    shared, clients = BY_ID["L15"], BY_ID["L16"]
    ids = sorted(rows)
    table = pa.table(
        {
            "entity_id": ids,
            shared.feature: [rows[i][0] for i in ids],
            f"{shared.feature}__num": [rows[i][0] for i in ids],
            f"{shared.feature}__den": [rows[i][1] for i in ids],
            clients.feature: [rows[i][2] for i in ids],
            f"{clients.feature}__num": [rows[i][2] for i in ids],
            f"{clients.feature}__den": [rows[i][3] for i in ids],
            "red_flags": [int(rows[i][0] > 0) + int(rows[i][2] > 0) for i in ids],
        }
    )
    return FeatureTable("recruiter", table, {"L15": 0.0, "L16": 0.0}, {"L15": 0.0, "L16": 0.0})


APPENDIX = [
    ("C1", "Alpha Agency S.A.", "MEXICO", "2020-10-01"),
    ("C1", "Beta Recruiters", "MEXICO", "2020-10-01"),
    ("C2", "ALPHA AGENCY", "MEXICO", "2020-10-01"),
    ("C3", "Gamma Ltd", "JAMAICA", "2020-10-01"),
    ("C4", "Alpha Agency", "MEXICO", "2016-10-01"),  # known before the window: not counted
]


def test_foreign_recruiters_rank_the_feature_tables_organisations_abroad() -> None:
    features = _features(
        {
            "abroad:alpha agency": (1.0, 2.0, 0.0, None),
            "abroad:beta recruiters": (0.0, 1.0, 1.0, 3.0),
            "abroad:gamma": (2.0, 1.0, 2.0, 2.0),
            "agent:beta recruiters": (0.0, None, 0.0, None),  # an H-2 agent: not an organisation abroad
        }
    )
    register = pd.DataFrame({"name": ["Gamma Ltd."], "licence_valid_from": pd.to_datetime(["2019-01-01"])})
    listing = foreign_recruiters(features, _appendix(APPENDIX), register, date(2021, 7, 1))
    table = listing.recruiters
    assert list(table.index) == ["abroad:gamma", "abroad:alpha agency", "abroad:beta recruiters"]
    assert table["rank"].tolist() == [1, 2, 3] and table["red_flags"].tolist() == [2, 1, 1]
    assert table["recruiter_name"].tolist() == ["Gamma Ltd", "ALPHA AGENCY", "Beta Recruiters"]  # ties: sort order
    assert table["cases"].tolist() == [1.0, 2.0, 1.0]  # C4 was known before the window
    assert table["named_staff"].tolist() == [1.0, 2.0, 1.0]
    assert table["us_agent"].tolist() == [True, False, True] and table["flc_registered"].tolist() == [
        True,
        False,
        False,
    ]
    assert table.loc["abroad:gamma", "reasons"] == (
        f"{BY_ID['L15'].title}: other recruiting organisations abroad that name one of its individual recruiters "
        f"(a renamed or related organisation): 2 (individual recruiters it names: 1); peers (median recruiter) 0; "
        f"{BY_ID['L16'].title}: "
        "2 of the 2 employers it filed petitions for as the agent or law firm of the same name were debarred or "
        "sanctioned before"
    )
    # Applications naming other organisations too: Beta 1 of 1, Alpha 1 of 2, Gamma 0 of 1; shrunk toward 2 of 4.
    chain = table["chain_share"]
    assert 0 < chain["abroad:gamma"] < chain["abroad:alpha agency"] == 0.5 < chain["abroad:beta recruiters"] < 1
    assert listing.countries.loc["MEXICO", "organisations"] == 2


def test_foreign_recruiter_indicators_read_no_country() -> None:
    """Principle 2 and INDICATORS.md: country figures are context beside a listing, never an indicator."""
    abroad = [i for i in INDICATORS if "petition_recruiter" in i.data]
    assert [i.id for i in abroad] == ["L15", "L16"]
    for indicator in abroad:
        assert indicator.sql is not None and "country" not in indicator.sql.lower(), indicator.id


def test_foreign_recruiters_context_changes_no_rank_flag_or_reason() -> None:
    """The country figures sit beside the listing: with or without them, the same ranks, flags and reasons."""
    features = _features({"abroad:alpha agency": (1.0, 1.0, 0.0, None), "abroad:gamma": (0.0, 1.0, 0.0, None)})
    day = date(2021, 7, 1)
    appendix = _appendix(APPENDIX)
    listing = foreign_recruiters(features, appendix, None, day, load_country_context(require_data()))
    plain = foreign_recruiters(features, appendix, None, day, None)
    columns = ["recruiter_name", "red_flags", "rank", "reasons"]
    pd.testing.assert_frame_equal(listing.recruiters[columns], plain.recruiters[columns])
    assert listing.recruiters["context"].str.contains("TI CPI").any() and (plain.recruiters["context"] == "").all()
    assert listing.countries.loc["MEXICO", "organisations"] == 1 and listing.countries.loc["MEXICO", "iso3"] == "MEX"


def test_origin_label_end_on_the_calendar() -> None:
    assert origin_label_end(date(2011, 7, 1), date(2014, 12, 31)) == date(2013, 6, 30)
    assert origin_label_end(date(2013, 7, 1), date(2014, 12, 31)) == date(2014, 12, 31)


def test_origin_summary_states_served_and_the_targets() -> None:
    row = origin_summary(hand_made_backtest("employer"))
    assert row["served"] == "model" and row["positives_new"] == 10 and row["positives_known"] == 2
    assert row["served_precision_at_100"] == 0.04 and row["red_flag_count_precision_at_100"] == 0.01
    assert row["served_ap_over_count"] == 4.0 and row["meets_ap_target"] and row["meets_precision_target"]
    assert row["ceiling_ap_over_count"] == 5.0


def test_the_origins_table_shows_a_dash_where_there_is_no_figure() -> None:
    row = origin_summary(hand_made_backtest("employer"))
    empty = {k: (math.nan if isinstance(v, float) else v) for k, v in row.items()}
    table = origins_markdown([row, empty])
    assert "nan" not in table and "| 0.040 |" in table
    assert table.splitlines()[-1].endswith("| – | – |")
