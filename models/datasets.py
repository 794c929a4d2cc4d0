"""Training data as of a day: the windows of a model trained with what was known on day D, the observed labels
that follow each feature day, and the feature matrices that go with them.

Windows (horizon H, ``training_windows``):
- fold: features as of F = D - H, labels decided in (F, D], entities labelled on or before F left out (they are
  known already; the fold measures finding new ones);
- fitting origins t_j = F - H - j x step, labels in (t_j, t_j + H]: every fitted label is decided on or before F,
  so the trees never see a label of the fold.
Labels are outcomes recorded in the lake (``LABEL_KINDS``) and, for employers, inspections that found a
forced-labour indicator (``FINDING_LABELS``), read as known by a day; an entity is known (left out of a window's
new positives) only once sanctioned. Nothing here reads the simulator's truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from data_contracts.contracts import ILO_INDICATORS
from data_contracts.lake import Lake
from features.build import FeatureTable, build_features, red_flag_matrix
from features.registry import BY_ID, EntityType, feature_columns, indicator_of
from models.ranking import tiebreak_keys

HORIZON_DAYS = 270
FIT_ORIGINS = 3  # fitting origins pooled into one training set
ORIGIN_STEP_DAYS = 90  # days between two fitting origins
# Outcome kinds that label an entity as found exploitative or corrupt (complaints are signals, not labels).
LABEL_KINDS: dict[EntityType, tuple[str, ...]] = {
    "employer": ("substantiated_forced_labour", "debarment", "conviction"),
    "recruiter": ("licence_revocation", "conviction", "substantiated_forced_labour", "debarment"),
    "visa_desk": ("integrity_case_substantiated", "conviction"),
    "border_post": ("integrity_case_substantiated", "conviction"),
    "inspector": ("integrity_case_substantiated", "conviction"),
}
# Entity types that an inspection finding at least one ILO forced-labour indicator also labels: inspectors record
# findings within weeks of a visit, while the sanctions above follow years later and for a few of them.
FINDING_LABELS: tuple[EntityType, ...] = ("employer",)
LOTTERY_TRIGGERS = ("random", "complaint")


@dataclass(frozen=True)
class TrainingWindows:
    fit_origins: tuple[date, ...]  # feature days of the pooled fitting sets, oldest first
    fold_as_of: date
    trained_as_of: date
    horizon: int

    @property
    def train_labels(self) -> tuple[date, date]:
        """(from, to]: every label the trees are fitted on is decided in this window."""
        return self.fit_origins[0], self.fit_origins[-1] + timedelta(days=self.horizon)

    @property
    def fold_labels(self) -> tuple[date, date]:
        """(from, to]: the labels of the fold; they start where the training labels end."""
        return self.fold_as_of, self.trained_as_of

    def as_dict(self) -> dict[str, Any]:
        return {
            "fit_origins": [d.isoformat() for d in self.fit_origins],
            "fold_as_of": self.fold_as_of.isoformat(),
            "train_labels": [d.isoformat() for d in self.train_labels],
            "fold_labels": [d.isoformat() for d in self.fold_labels],
            "horizon_days": self.horizon,
        }


def training_windows(
    as_of: date, horizon: int = HORIZON_DAYS, origins: int = FIT_ORIGINS, step: int = ORIGIN_STEP_DAYS
) -> TrainingWindows:
    """The windows of a model trained with what was known on ``as_of`` (see the module docstring)."""
    fold = as_of - timedelta(days=horizon)
    last = fold - timedelta(days=horizon)
    fit = tuple(last - timedelta(days=step * j) for j in reversed(range(origins)))
    return TrainingWindows(fit, fold, as_of, horizon)


def training_days(as_of: date, horizon: int = HORIZON_DAYS) -> tuple[date, ...]:
    """Every feature day a model trained as of ``as_of`` reads: the fitting origins (oldest first), the fold, then
    ``as_of`` itself (where the weighted red flags are fitted to serve)."""
    w = training_windows(as_of, horizon)
    return (*w.fit_origins, w.fold_as_of, as_of)


def _has_column(sql: str, column: str) -> bool:
    con = duckdb.connect()
    try:
        return column in {row[0] for row in con.execute(f"DESCRIBE {sql}").fetchall()}
    finally:
        con.close()


def _known_by(sql: str, known_by: date | None) -> str:
    """The condition that a record of ``sql`` was recorded by ``known_by`` (records without ``known_on``: always)."""
    if known_by is None or not _has_column(sql, "known_on"):
        return "TRUE"
    return f"(known_on IS NULL OR known_on <= DATE '{known_by}')"


def _outcomes_sql(lake: Lake, entity: EntityType, known_by: date | None) -> str | None:
    """(entity_ref, decided_on) of the sanctions that label ``entity`` (``LABEL_KINDS``) recorded by ``known_by``."""
    sql = lake.current_sql("enforcement_outcome")
    if sql is None:
        return None
    kinds = ", ".join(f"'{k}'" for k in LABEL_KINDS[entity])
    where = f"entity_type = '{entity}' AND kind IN ({kinds}) AND {_known_by(sql, known_by)}"
    return f"SELECT entity_ref, decided_on FROM ({sql}) WHERE {where}"


def _findings_sql(lake: Lake, known_by: date | None) -> str | None:
    """(entity_ref, decided_on) of the inspections that found at least one ILO forced-labour indicator at the
    employer visited, recorded by ``known_by``."""
    sql = lake.current_sql("labour_inspection")
    if sql is None:
        return None
    found = " OR ".join(f"coalesce(finding_{k}, FALSE)" for k in ILO_INDICATORS)
    return (
        f"SELECT organisation_registration_no AS entity_ref, inspected_on AS decided_on FROM ({sql}) "
        f"WHERE ({found}) AND {_known_by(sql, known_by)}"
    )


def _labels_sql(lake: Lake, entity: EntityType, known_by: date | None) -> str | None:
    """(entity_ref, decided_on) of every observation that labels ``entity``: sanctions, and findings where
    ``FINDING_LABELS`` says so."""
    parts = [_outcomes_sql(lake, entity, known_by)]
    if entity in FINDING_LABELS:
        parts.append(_findings_sql(lake, known_by))
    present = [p for p in parts if p is not None]
    return " UNION ALL ".join(f"({p})" for p in present) if present else None


def _entities(sql: str | None, decided: str, aliases: Mapping[str, str] | None) -> set[str]:
    """The distinct ``entity_ref`` of the observations ``sql`` whose ``decided_on`` meets ``decided`` (SQL), each
    through ``aliases`` (the entity an observation's id resolves to, a feature table's ``aliases``) where it has one."""
    if sql is None:
        return set()
    con = duckdb.connect()
    try:
        rows = con.execute(f"SELECT DISTINCT entity_ref FROM ({sql}) WHERE {decided}").fetchall()
    finally:
        con.close()
    return {(aliases or {}).get(r[0], r[0]) for r in rows}


def labels_between(
    lake: Lake,
    entity: EntityType,
    start: date,
    end: date,
    known_by: date | None = None,
    aliases: Mapping[str, str] | None = None,
) -> set[str]:
    """Entities labelled in (start, end]: a sanction decided, or (``FINDING_LABELS``) an inspection finding a
    forced-labour indicator, in the window (and, with ``known_by``, recorded by that day), through ``aliases``."""
    window = f"decided_on > DATE '{start}' AND decided_on <= DATE '{end}'"
    return _entities(_labels_sql(lake, entity, known_by), window, aliases)


def labelled_by(lake: Lake, entity: EntityType, day: date, aliases: Mapping[str, str] | None = None) -> set[str]:
    """Entities sanctioned (``LABEL_KINDS``) on or before ``day``: the known positives at that day, through
    ``aliases``."""
    return _entities(_outcomes_sql(lake, entity, day), f"decided_on <= DATE '{day}'", aliases)


def lottery_inspected(lake: Lake, start: date, end: date) -> dict[str, str]:
    """Employer id -> trigger of its first random or complaint inspection in (start, end] (random first)."""
    sql = lake.current_sql("labour_inspection")
    if sql is None:
        return {}
    triggers = ", ".join(f"'{t}'" for t in LOTTERY_TRIGGERS)
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT organisation_registration_no, min(CASE trigger WHEN 'random' THEN 0 ELSE 1 END) FROM ({sql}) "
            f"WHERE trigger IN ({triggers}) AND inspected_on > DATE '{start}' AND inspected_on <= DATE '{end}' "
            "GROUP BY 1"
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]): LOTTERY_TRIGGERS[int(r[1])] for r in rows}


def feature_frame(table: pa.Table, features: list[str]) -> np.ndarray:
    return np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(float) for c in features])


@dataclass
class Dataset:
    entity: EntityType
    as_of: date
    ids: list[str]
    x: np.ndarray  # [n, features] float, NaN = not measured
    y: np.ndarray  # 0/1 observed labels in the window after as_of
    red_flags: np.ndarray
    flags: np.ndarray  # [n, features] 0/1: each column's indicator past its red-flag threshold (sums to red_flags)
    inspected: np.ndarray  # bool: employer had at least one inspection in the feature window (others: True)
    features: list[str] = field(default_factory=list)
    table: pa.Table | None = None  # the feature table the rows come from (other models' features too)
    lottery: np.ndarray | None = None  # trigger per row ("random", "complaint" or ""), employers only
    group: np.ndarray | None = None  # fitting origin index per row (one query each for ranking objectives)

    @property
    def keys(self) -> np.ndarray:
        return tiebreak_keys(self.ids)


def dataset(
    lake: Lake,
    entity: EntityType,
    as_of: date,
    label_end: date,
    table: FeatureTable | None = None,
    exclude: tuple[str, ...] = (),
    known_by: date | None = None,
    drop_known: bool = False,
) -> Dataset:
    """Features as of ``as_of`` (without the indicators in ``exclude``) and labels in (as_of, label_end] recorded
    by ``known_by``; with ``drop_known``, entities labelled on or before ``as_of`` are left out."""
    ft = table or build_features(lake, as_of, (entity,))[entity]
    cols = [c for c in feature_columns(entity) if indicator_of(c) not in exclude]
    t = ft.table
    if drop_known:
        known = labelled_by(lake, entity, as_of, ft.aliases)
        ids_all = [str(v) for v in t.column("entity_id").to_pylist()]
        keep = np.array([i not in known for i in ids_all], dtype=bool)
        t = t.filter(pa.array(keep))
    x = feature_frame(t, cols) if t.num_rows else np.zeros((0, len(cols)))
    ids = [str(v) for v in t.column("entity_id").to_pylist()]
    positives = labels_between(lake, entity, as_of, label_end, known_by, ft.aliases)
    y = np.array([i in positives for i in ids], dtype=float)
    if entity == "employer":
        inspected = ~np.isnan(t.column(BY_ID["E01"].feature).to_numpy(zero_copy_only=False).astype(float))
        triggers = lottery_inspected(lake, as_of, label_end)
        lottery = np.array([triggers.get(i, "") for i in ids], dtype=object)
    else:
        inspected = np.ones(len(ids), dtype=bool)
        lottery = None
    flags = t.column("red_flags").to_numpy().astype(float)
    matrix = red_flag_matrix(ft, cols)
    if drop_known:
        matrix = matrix[keep]
    return Dataset(entity, as_of, ids, x, y, flags, matrix, inspected, cols, t, lottery)


def pooled(parts: list[Dataset]) -> Dataset:
    """Datasets of several fitting origins as one (rows keep their origin in ``group``)."""
    first = parts[0]
    lottery = np.concatenate([p.lottery for p in parts if p.lottery is not None]) if first.lottery is not None else None
    return Dataset(
        first.entity,
        parts[-1].as_of,
        [i for p in parts for i in p.ids],
        np.vstack([p.x for p in parts]),
        np.concatenate([p.y for p in parts]),
        np.concatenate([p.red_flags for p in parts]),
        np.vstack([p.flags for p in parts]),
        np.concatenate([p.inspected for p in parts]),
        first.features,
        None,
        lottery,
        np.concatenate([np.full(len(p.ids), j) for j, p in enumerate(parts)]),
    )
