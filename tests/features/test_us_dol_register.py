"""The US DOL vertical and the farm labour contractor register: a contractor counts as unregistered only while the
register is in force, and a register certificate named like an agent does not take the agent's outcomes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from features.us_dol import before, employer_features, red_flags, resolve
from tests.features.test_us_dol_shrinkage import _filings


def _register(name: str, start: str) -> pd.DataFrame:
    return pd.DataFrame({"recruiter_ref": ["FLC-1"], "name": [name], "licence_valid_from": [pd.Timestamp(start)]})


def test_a_contractor_is_unregistered_only_once_the_register_is_in_force() -> None:
    frame = _filings([("Crew Contractor", "Agent A", "certified"), ("Family Farm", "Agent A", "certified")])
    frame["labour_contractor"] = frame["sponsor_name"].eq("Crew Contractor")
    filings = before(frame, date(2013, 1, 1))
    register = _register("Someone Else LLC", "2019-06-01")
    for flc in (None, register):  # no register at all, or one whose certificates all start after the date
        feats = employer_features(filings, set(), flc, date(2013, 1, 1))
        assert np.isnan(feats.loc["crew contractor", "contractor_unregistered"])
        # The contractor's one signal is counted once.
        assert red_flags(feats, "employer")["crew contractor"] == 1
    feats = employer_features(filings, set(), register, date(2020, 1, 1))
    assert feats.loc["crew contractor", "contractor_unregistered"] == 1.0
    assert feats.loc["family farm", "contractor_unregistered"] == 0.0
    registered = employer_features(filings, set(), _register("Crew Contractor", "2019-06-01"), date(2020, 1, 1))
    assert registered.loc["crew contractor", "contractor_unregistered"] == 0.0


def test_an_outcome_named_like_an_agent_and_a_register_certificate_goes_to_the_agent() -> None:
    filings = before(_filings([("Family Farm", "Zeta Labor Services", "certified")]), date(2013, 1, 1))
    # The certificate's id sorts before the agent's: taking the smallest id would pick the certificate.
    flc = _register("Zeta Labor Services", "2019-06-01").assign(recruiter_ref="A-0001")
    assert "A-0001" < "zeta labor services"
    outcomes = pd.DataFrame({"outcome_id": ["D1"], "entity_name": ["Zeta Labor Services"]})
    links = resolve(filings, outcomes, flc).links
    assert links[["entity_type", "entity_id"]].values.tolist() == [["recruiter", "zeta labor services"]]
