"""The indicator registry: complete, sourced, explained, and blind to protected attributes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from data_contracts import contracts
from data_contracts.contracts import CONTRACTS
from features import registry
from features.catalogue import write_catalogue
from features.registry import (
    FORBIDDEN_ATTRIBUTES,
    INDICATORS,
    feature_columns,
    for_entity,
    indicator_of,
    monotone_constraints,
    sensitive_indicators,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED_INDICATORS = ROOT.parent / "shared" / "INDICATORS.md"
SENSITIVE_COLUMNS = {f.name for c in CONTRACTS.values() for f in c.fields if f.sensitive}


def test_every_indicator_of_the_shared_list_is_declared() -> None:
    listed = set(re.findall(r"^\| ([EBRVI]\d\d) \|", SHARED_INDICATORS.read_text(encoding="utf-8"), re.M))
    assert len(listed) == 53
    declared = {i.id for i in INDICATORS}
    assert listed <= declared
    # The only others are the network table's graph features and what sponsors' petitions support.
    assert {i for i in declared - listed} == {"G01", "G03", *(f"L{n:02d}" for n in range(1, 17))}


@pytest.mark.parametrize("ind", INDICATORS, ids=lambda i: i.id)
def test_indicator_has_source_why_direction_and_texts(ind: object) -> None:
    from features.registry import Indicator

    assert isinstance(ind, Indicator)
    assert ind.sources, "no source"
    assert ind.direction in (-1, 0, 1)
    assert len(ind.why) > 80, "no why-text"
    assert ind.title and len(ind.title) <= 70
    assert ind.texts.get("based_on") and str(ind.texts.get("exclusions", "")).strip()
    if ind.sql is None:
        assert ind.not_computable, "an indicator that is not computed must say why"
    else:
        assert ind.data and ind.detail and ind.unit
        assert ind.direction != 0, "a direction-0 caution must not become a feature"


@pytest.mark.parametrize("ind", [i for i in INDICATORS if i.sql], ids=lambda i: i.id)
def test_no_feature_derives_from_nationality_ethnicity_religion_or_sex(ind: object) -> None:
    from features.registry import Indicator

    assert isinstance(ind, Indicator) and ind.sql
    text = ind.sql.lower()
    for attribute in FORBIDDEN_ATTRIBUTES:
        assert attribute not in text, f"{ind.id} reads {attribute}"
    # Any other fairness-only column (age band) may only feed an indicator marked sensitive.
    if any(col in text for col in SENSITIVE_COLUMNS):
        assert ind.sensitive, f"{ind.id} reads a fairness-only attribute but is not marked sensitive"


def test_sensitive_indicators_are_listed_in_the_fairness_note(tmp_path: Path) -> None:
    assert [i.id for i in sensitive_indicators()] == ["R13", "B07"]
    write_catalogue(tmp_path)
    note = (tmp_path / "fairness.md").read_text()
    assert "R13" in note and "B07" in note


@pytest.mark.parametrize("entity", ["employer", "recruiter", "visa_desk", "border_post", "inspector"])
def test_monotone_constraints_follow_the_feature_columns(entity: str) -> None:
    columns = feature_columns(entity)  # type: ignore[arg-type]
    constraints = monotone_constraints(entity)  # type: ignore[arg-type]
    assert len(columns) == len(constraints) == len(for_entity(entity)) > 0  # type: ignore[arg-type]
    assert all(c == 1 for c in constraints)


def test_entity_types_are_the_contracts_declaration() -> None:
    assert registry.ENTITY_TYPES is contracts.ENTITY_TYPES
    assert registry.EntityType is contracts.EntityType
    entity_type = next(f for f in CONTRACTS["enforcement_outcome"].fields if f.name == "entity_type")
    assert entity_type.values == contracts.ENTITY_TYPES
    assert {i.entity for i in INDICATORS} == set(contracts.ENTITY_TYPES)
    assert contracts.ORGANISATION_TYPES + contracts.OFFICIAL_DESK_TYPES == contracts.ENTITY_TYPES


def test_a_feature_column_names_its_indicator() -> None:
    assert indicator_of("E01_w1095") == "E01"
    assert indicator_of("red_flags") == "red_flags"
    assert all(indicator_of(i.feature) == i.id for i in INDICATORS)


@pytest.mark.parametrize("ind", [i for i in INDICATORS if i.sql], ids=lambda i: i.id)
def test_reason_detail_fills_in(ind: object) -> None:
    from features.build import reason_detail
    from features.registry import Indicator

    assert isinstance(ind, Indicator)
    row = {ind.feature: 0.25, f"{ind.feature}__num": 3.0, f"{ind.feature}__den": 12.0}
    text = reason_detail(ind, row, 0.05)
    assert "{" not in text and len(text) > 20


@pytest.mark.parametrize("ind", [i for i in INDICATORS if i.sql], ids=lambda i: i.id)
def test_reason_detail_reads_with_a_count_of_one(ind: object) -> None:
    """A count of one is never written before a plural noun ('1 inspections'): "1 of 1 inspections" reads, and a
    count stands after its noun ("inspections: 1") where it is not an "x of n"."""
    from features.build import reason_detail
    from features.registry import Indicator

    assert isinstance(ind, Indicator)
    row = {ind.feature: 1.0, f"{ind.feature}__num": 1.0, f"{ind.feature}__den": 1.0}
    text = reason_detail(ind, row, 1.0)
    plural = r"(?:inspections|applications|employers|petitions|workers|decisions|states|recruiters|organisations)"
    assert not re.search(rf"(?<!of )(?<!of the )\b1 {plural}\b", text), text


def test_committed_catalogue_is_current(tmp_path: Path) -> None:
    write_catalogue(tmp_path)
    committed = ROOT / "docs" / "indicators"
    generated = {p.name: p.read_text() for p in tmp_path.iterdir()}
    on_disk = {p.name: p.read_text() for p in committed.iterdir()} if committed.exists() else {}
    assert generated == on_disk, "regenerate with: python -m features.catalogue docs/indicators"
