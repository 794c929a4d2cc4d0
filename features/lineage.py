"""Which feature columns depend on which person attribute: the lineage of the resolved columns, measured.

Reading indicator SQL for a column name misses what a view, a join or entity resolution carries along. This
measures dependence instead: the features are built once on the lake as it is and once more with one sensitive
contract column masked (every value replaced by NULL, then by one constant value); a feature column depends on that
attribute if its values change under either mask. ``sensitive_lineage`` reports, per sensitive column, the feature
columns (and the red-flag count) that depend on it; the guard in the tests requires that nationality, ethnicity,
religion and sex feed none, and that any other fairness-only attribute (age bands) feeds only indicators marked
sensitive.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from data_contracts.contracts import CONTRACTS, sensitive_columns
from data_contracts.lake import Lake
from features.build import FeatureTable, build_features
from features.registry import ENTITY_TYPES, EntityType

MASKS = ("NULL", "'masked'")  # SQL replacing a sensitive column: absent, then one value for every row


class MaskedLake(Lake):
    """A read-only view of ``lake`` whose records of every type show ``column`` as ``mask`` (SQL); like
    ``LakeSnapshot``, a ``Lake`` with no catalogue connection of its own: ``lake`` answers its queries."""

    def __init__(self, lake: Lake, column: str, mask: str) -> None:
        self.home = lake.home
        self.lake = lake
        self.column = column
        self.mask = mask

    def _masked(self, record_type: str, sql: str | None) -> str | None:
        if sql is None or self.column not in sensitive_columns(CONTRACTS[record_type]):
            return sql
        return f'SELECT * REPLACE ({self.mask} AS "{self.column}") FROM ({sql})'

    def current_sql(self, record_type: str) -> str | None:
        return self._masked(record_type, self.lake.current_sql(record_type))

    def versions_sql(self, record_type: str) -> str | None:
        return self._masked(record_type, self.lake.versions_sql(record_type))

    def superseded(self, record_type: str) -> bool:
        return self.lake.superseded(record_type)


def changed_columns(a: FeatureTable, b: FeatureTable) -> set[str]:
    """Feature columns (values, numerators, denominators, red-flag count) whose values differ between a and b."""
    if a.table.column("entity_id").to_pylist() != b.table.column("entity_id").to_pylist():
        return {"entity_id"}
    out = set()
    for name in a.table.column_names:
        if name == "entity_id":
            continue
        x = a.table.column(name).to_numpy(zero_copy_only=False).astype(float)
        y = b.table.column(name).to_numpy(zero_copy_only=False).astype(float)
        if not np.array_equal(x, y, equal_nan=True):
            out.add(name)
    return out


def sensitive_lineage(
    lake: Lake, as_of: date, entities: tuple[EntityType, ...] = ENTITY_TYPES
) -> dict[str, dict[EntityType, set[str]]]:
    """Sensitive contract column -> entity type -> the feature columns whose values depend on it (as of a day)."""
    base = build_features(lake, as_of, entities)
    columns = sorted({c for contract in CONTRACTS.values() for c in sensitive_columns(contract)})
    out: dict[str, dict[EntityType, set[str]]] = {}
    for column in columns:
        found: dict[EntityType, set[str]] = {e: set() for e in entities}
        for mask in MASKS:
            masked = build_features(MaskedLake(lake, column, mask), as_of, entities)
            for entity in entities:
                found[entity] |= changed_columns(base[entity], masked[entity])
        out[column] = found
    return out
