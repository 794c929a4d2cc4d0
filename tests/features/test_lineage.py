"""The sensitive-attribute guard on the resolved feature columns' lineage (measured by masking), not on SQL text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.pseudonymise import PseudonymKey
from data_contracts.sources import load_source
from features.lineage import sensitive_lineage
from features.registry import BY_ID, FORBIDDEN_ATTRIBUTES, indicator_of

KEY = PseudonymKey(b"lineage-key-" + b"l" * 40, "test")
AS_OF = date(2024, 6, 30)


@pytest.fixture(scope="module")
def lineage(tiny_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, set[str]]]]:
    lake = Lake(tmp_path_factory.mktemp("lineage_home"))
    source = load_source("synthetic", tiny_world)
    for f in source.files(tiny_world):
        ingest_file(lake, f, source, datetime(2026, 11, 1), KEY)
    yield sensitive_lineage(lake, AS_OF)  # type: ignore[misc]
    lake.close()


def test_nationality_and_sex_feed_no_feature_column(lineage: dict[str, dict[str, set[str]]]) -> None:
    protected = [c for c in lineage if c in FORBIDDEN_ATTRIBUTES]
    assert protected, "the contracts declare nationality and sex as sensitive columns"
    for column in protected:
        assert lineage[column] == {e: set() for e in lineage[column]}, column


def test_other_person_attributes_feed_only_indicators_marked_sensitive(
    lineage: dict[str, dict[str, set[str]]],
) -> None:
    for column, by_entity in lineage.items():
        for entity, changed in by_entity.items():
            indicators = {indicator_of(c) for c in changed if c != "red_flags"}
            assert all(BY_ID[i].sensitive for i in indicators), (column, entity, indicators)
            if "red_flags" in changed:  # the count moves only through a sensitive indicator it counts
                assert indicators, (column, entity)


def test_the_guard_sees_a_real_dependence(lineage: dict[str, dict[str, set[str]]]) -> None:
    # The age-mix indicators read age bands: masking them must show up, or the guard could never fail.
    seen = {indicator_of(c) for by_entity in lineage.values() for cols in by_entity.values() for c in cols}
    assert seen & {"R13", "B07"}
