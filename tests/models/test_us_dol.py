"""US DOL scoring: the as-of rule (nothing dated on or after DATE changes a score) and the backtest's shape."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.sources import us_dol
from features.us_dol import employer_key, name_parts
from models.us_dol import backtest, origins_for, score_as_of
from tests.us_dol_data import require_data

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
    result = backtest(subset, date(2012, 1, 1), date(2012, 12, 31), "employer", ks=(50,), random_draws=20)
    assert set(result["rankings"]) == {"model", "rule_contractor_then_size", "red_flag_count", "random"}
    assert result["positives"] > 0 and result["later_debarments_linked_to_a_filer"] <= result["later_debarments"]
    for metrics in result["rankings"].values():
        assert {"average_precision", "roc_auc", "precision_at_50", "lift_at_50"} <= set(metrics)
