"""Country tables as context baselines: declared mappings (golden rows read in place), the as-of rule, codes."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_contracts.sources import country_tables as ct
from tests.us_dol_data import require_data


@pytest.fixture(scope="module")
def context() -> ct.CountryContext:
    return ct.load_country_context(require_data())


def _figure(tables: pd.DataFrame, table: str, iso3: str, year: int) -> pd.Series:
    rows = tables[(tables["table"] == table) & (tables["iso3"] == iso3) & (tables["year"] == year)]
    assert len(rows) == 1, (table, iso3, year)
    return rows.iloc[0]


def test_golden_rows_of_each_table(context: ct.CountryContext) -> None:
    """Figures read by hand from the CSV files in ../shared/data/country_indices."""
    tables = context.tables
    assert set(tables["table"]) == {t.key for t in ct.COUNTRY_TABLES}
    tip = _figure(tables, "tip_tier", "MEX", 2015)
    assert tip["label"] == "Tier 2" and tip["value"] == 2.0  # "Tier 2    " in the file
    assert _figure(tables, "tip_tier", "JAM", 2015)["value"] == 2.5  # "Watchlist"
    assert _figure(tables, "cpi", "MEX", 2017)["value"] == pytest.approx(2.9)
    assert _figure(tables, "cpi", "MEX", 2011)["value"] == pytest.approx(2.971)
    assert _figure(tables, "wgi_control_of_corruption", "MEX", 2019)["value"] == pytest.approx(-0.821080088615417)
    goods = _figure(tables, "ilab_goods", "MEX", 2016)
    assert goods["value"] == 11 and goods["label"].startswith("11 goods (child labour 11")
    assert not ((tables["table"] == "cpi") & (tables["value"] == 0.0)).any()  # 0.0 is missing in the CPI file


def test_a_figure_counts_only_once_published(context: ct.CountryContext) -> None:
    early = ct.context_as_of(context.tables, date(2015, 1, 1)).loc["MEX"]
    assert early["tip_tier_year"] == 2014  # the 2015 report came out in June 2015
    assert early["cpi_year"] == 2013 and early["wgi_control_of_corruption_year"] == 2013
    assert pd.isna(early["ilab_goods_label"])  # the 2016 goods list did not exist yet
    late = ct.context_as_of(context.tables, date(2022, 7, 1)).loc["MEX"]
    assert (late["tip_tier_year"], late["cpi_year"], late["wgi_control_of_corruption_year"]) == (2015, 2017, 2019)
    assert "US TIP report Tier 2 (2015)" in ct.context_text(late)


def test_every_appendix_c_country_has_a_code(context: ct.CountryContext) -> None:
    names = pd.Series(["MEXICO", "UNITED STATES OF AMERICA", "JAMAICA", "TAIWAN", "MACEDONIA", "Côte d'Ivoire"])
    found = context.for_names(names, date(2022, 7, 1))
    assert found["iso3"].tolist() == ["MEX", "USA", "JAM", "TWN", "MKD", "CIV"]
    assert found.loc[1, "context"].startswith("TI CPI 7.5/10 (2017)")  # no TIP tier for the United States
    assert ct.country_key("CZECHOSLOVAKIA") not in context.codes  # dissolved: no figures, said as such


def test_context_as_of_on_hand_made_rows() -> None:
    tables = pd.DataFrame(
        {
            "table": ["tip_tier", "tip_tier", "cpi"],
            "iso3": ["AAA", "AAA", "AAA"],
            "country": ["A", "A", "A"],
            "year": [2010, 2011, 2010],
            "value": [2.0, 3.0, 4.5],
            "label": ["Tier 2", "Tier 3", "4.5"],
            "available_from": pd.to_datetime(["2010-07-01", "2011-07-01", "2011-02-01"]),
        }
    )
    assert ct.context_as_of(tables, date(2011, 7, 1)).loc["AAA", "tip_tier_label"] == "Tier 2"  # not yet 2011's
    later = ct.context_as_of(tables, date(2011, 7, 2)).loc["AAA"]
    assert later["tip_tier_label"] == "Tier 3" and later["cpi"] == 4.5
    assert ct.context_as_of(tables, date(2010, 7, 1)).empty
    assert ct.tier_number("Watchlist    ") == 2.5 and ct.tier_number("Tier 1") == 1.0
