"""Point-in-time features: one row per entity with every registry indicator, as of a date.

Only records dated before the as-of date and known before it (``known_on``: the day the record reached
tracerisk) are used: visa decisions taken on or after it count as pending, crossings, inspections and outcomes
after it do not exist yet, overstays are only counted once a visa has run out 60 days before it. A register
entry reads as the version in force on the as-of date (the latest ``status_since`` before it), and a document
found fraudulent only once the finding was made (``fraud_found_on`` before the as-of date). ``event_time``
drops the ``known_on`` cut (records by their event dates alone, whenever they became known). Everything is
DuckDB SQL over the lake's records (pure functions of a DuckDB connection and a Lake; the Prefect flow in
flows/features.py only wires them; features/stored.py keeps what they built per day).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.atomic import write_atomically
from data_contracts.lake import Lake
from data_contracts.sql_text import literal
from features.filer_resolution import outcome_aliases
from features.network import build_network
from features.profiles import entity_profile, entity_scope
from features.registry import BY_ID, ENTITY_TYPES, INDICATORS, EntityType, Indicator, for_entity, indicator_of
from features.shrinkage import fit_beta_prior, shrunk_rate
from features.views import create_views

NETWORK_EDGES = "network_edges.parquet"  # the network table of a features folder (build_features network_out)

ENTITY_UNIVERSE = {
    "employer": "SELECT registration_no AS entity_id FROM org UNION SELECT employer_id FROM va "
    "WHERE employer_id IS NOT NULL UNION SELECT employer_id FROM li WHERE employer_id IS NOT NULL "
    "UNION SELECT employer_id FROM lc WHERE employer_id IS NOT NULL",
    "recruiter": "SELECT recruiter_id AS entity_id FROM recruiters UNION SELECT agent_id FROM lc "
    "UNION SELECT recruiter_id FROM pr",
    "visa_desk": "SELECT DISTINCT desk_id AS entity_id FROM va",
    "border_post": "SELECT DISTINCT officer_key AS entity_id FROM bc",
    "inspector": "SELECT DISTINCT inspector_id AS entity_id FROM li",
}


@dataclass(frozen=True)
class FeatureTable:
    entity: EntityType
    # entity_id, one value column per indicator (a share: its shrunk rate), <feature>__num / __den, a share's raw
    # rate <feature>__raw, red_flags
    table: pa.Table
    cutoffs: dict[str, float]  # indicator id -> threshold used for the red-flag count
    peers: dict[str, float]  # indicator id -> peer value (pooled share, or median) for reason details
    profile: pa.Table | None = None  # entity_id, name, country, region, sector (features/profiles.py)
    scope: pa.Table | None = None  # entity_id, kind, value: the keys users are scoped by
    # indicator id -> (alpha, beta): the beta prior fitted on the peers that each shrunk share is pulled toward
    priors: dict[str, tuple[float, float]] = field(default_factory=dict)
    # entity id an outcome of any date carries -> the entity of this table its names resolve to as of the day
    # (features.filer_resolution.outcome_aliases): labels are read through it
    aliases: dict[str, str] = field(default_factory=dict)


def compute_entity(con: duckdb.DuckDBPyConnection, entity: EntityType) -> FeatureTable:
    """Every indicator of ``entity`` over the views of ``create_views``; one row per entity."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE universe AS SELECT DISTINCT entity_id FROM ({ENTITY_UNIVERSE[entity]}) "
        "WHERE entity_id IS NOT NULL"
    )
    select = ["u.entity_id"]
    joins = []
    indicators = for_entity(entity)
    for n, ind in enumerate(indicators):
        alias = f"i{n}"
        value = (
            f"CASE WHEN {alias}.den >= {ind.min_den} THEN {alias}.num / {alias}.den END"
            if ind.kind == "share"
            else f"{alias}.num"
        )
        if ind.kind in ("flag", "count"):
            value = f"coalesce({alias}.num, 0)"
        select += [
            f'CAST({value} AS DOUBLE) AS "{ind.feature}"',
            f'CAST({alias}.num AS DOUBLE) AS "{ind.feature}__num"',
            f'CAST({alias}.den AS DOUBLE) AS "{ind.feature}__den"',
        ]
        joins.append(f"LEFT JOIN ({ind.sql}) {alias} ON {alias}.entity_id = u.entity_id")
    table = con.sql(
        f"SELECT {', '.join(select)} FROM universe u {' '.join(joins)} ORDER BY u.entity_id"
    ).to_arrow_table()
    cutoffs, peers, priors = {}, {}, {}
    flags = np.zeros(table.num_rows, dtype=np.int64)
    for ind in indicators:
        values = table.column(ind.feature).to_numpy(zero_copy_only=False).astype(float)
        defined = values[~np.isnan(values)]
        if ind.kind == "share":
            num = table.column(f"{ind.feature}__num").to_numpy(zero_copy_only=False).astype(float)
            den = table.column(f"{ind.feature}__den").to_numpy(zero_copy_only=False).astype(float)
            peers[ind.id] = float(np.nansum(num) / np.nansum(den)) if np.nansum(den) else 0.0
        else:
            peers[ind.id] = float(np.median(defined)) if len(defined) else 0.0
        # The red-flag count thresholds the raw value (a share's num / den), as inspectorates read it.
        cutoffs[ind.id] = threshold_value(ind, defined)
        with np.errstate(invalid="ignore"):
            flags += (values > cutoffs[ind.id]).astype(np.int64) * (ind.direction > 0)
        if ind.shrunk:
            prior = fit_beta_prior(pd.Series(num), pd.Series(den))
            priors[ind.id] = (prior.alpha, prior.beta)
            shrunk = pa.array(shrunk_rate(values, num, den, prior), from_pandas=True)  # NaN -> null, as the SQL
            table = table.set_column(table.schema.get_field_index(ind.feature), ind.feature, shrunk).append_column(
                f"{ind.feature}__raw", pa.array(values, from_pandas=True)
            )
    table = table.append_column("red_flags", pa.array(flags))
    profile, scope = entity_profile(con, entity), entity_scope(con, entity)
    return FeatureTable(entity, table, cutoffs, peers, profile, scope, priors)


def threshold_column(ind: Indicator) -> str:
    """The feature-table column the red-flag threshold of ``ind`` applies to: a shrunk share's raw rate."""
    return f"{ind.feature}__raw" if ind.shrunk else ind.feature


def red_flag_matrix(ft: FeatureTable, features: list[str]) -> np.ndarray:
    """[rows of ``ft``, len(features)] 0/1: the indicator of each feature column is past its red-flag threshold
    in its risk direction. Over all of an entity type's feature columns, a row sums to its ``red_flags``."""
    out = np.zeros((ft.table.num_rows, len(features)))
    for j, f in enumerate(features):
        ind = BY_ID[indicator_of(f)]
        if ind.direction > 0 and ind.id in ft.cutoffs:
            values = np.asarray(ft.table.column(threshold_column(ind)).to_numpy(zero_copy_only=False), dtype=float)
            with np.errstate(invalid="ignore"):
                out[:, j] = (values > ft.cutoffs[ind.id]).astype(float)
    return out


def threshold_value(ind: Indicator, defined: np.ndarray) -> float:
    """The declared threshold, or the declared percentile of the entities' values ('p90')."""
    if isinstance(ind.threshold, float | int):
        return float(ind.threshold)
    pct = float(ind.threshold[1:])
    return float(np.percentile(defined, pct)) if len(defined) else float("inf")


def build_features(
    lake: Lake,
    as_of: date,
    entities: tuple[EntityType, ...] = ENTITY_TYPES,
    threads: int = 2,
    network_out: Path | None = None,
    memory_limit: str = "3GB",
    event_time: bool = False,
) -> dict[EntityType, FeatureTable]:
    """Features of ``entities`` as of ``as_of``; the network table is written to ``network_out`` if given.

    event_time: use records by their event dates alone, whenever they became known (``create_views``)."""
    con = duckdb.connect()
    con.execute(f"SET threads TO {threads}")
    # Bounded memory (under 6 GB in all): large worlds spill to disk under $TRACERISK_HOME.
    spill = lake.layout.tmp
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = {literal(str(spill))}")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    out: dict[EntityType, FeatureTable] = {}
    try:
        windows = sorted({i.window_days for i in INDICATORS})
        if len(windows) != 1:
            raise NotImplementedError("one window per run is supported; the registry declares " + str(windows))
        create_views(con, lake, as_of, windows[0], event_time=event_time)
        build_network(con)
        if network_out is not None:
            network_out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(con.sql("SELECT * FROM network_edges").to_arrow_table(), network_out)
        for entity in entities:
            out[entity] = compute_entity(con, entity)
        if "employer" in out:
            out["employer"] = replace(out["employer"], aliases=outcome_aliases(con))
    finally:
        con.close()
    return out


# The code that decides which entity each record reaches (views, names merged by entity resolution) and how the
# table is computed: a change to it changes a day's features as a new batch does.
BUILD_MODULES: tuple[Path, ...] = tuple(
    Path(__file__).with_name(m) for m in ("build.py", "views.py", "entity_resolution.py", "filer_resolution.py")
)


def lake_state(lake: Lake) -> str:
    """What a feature table as of a day depends on besides the day, as one key: the lake's committed batches, the
    indicator declarations and the code of ``BUILD_MODULES``. Equal keys give equal features (``build_features``
    is deterministic)."""
    batches = [e.batch_id for e in lake.ledger() if e.status == "committed"]
    declared = repr(sorted((i.id, i.entity, i.sql, i.threshold, i.window_days, i.kind) for i in INDICATORS))
    code = [path.read_text(encoding="utf-8") for path in BUILD_MODULES]
    digest = hashlib.sha256("\n".join([*batches, declared, *code]).encode("utf-8")).hexdigest()[:16]
    return f"{len(batches)} batches, {digest}"


def write_features(
    tables: dict[EntityType, FeatureTable],
    out_dir: Path,
    as_of: date,
    state: str | None = None,
    network_written: bool | None = None,
) -> list[Path]:
    """One Parquet file per entity type and the run's data-derived cut-offs (cutoffs.json), with the ``state``
    they were built on (``lake_state``) when given. ``network_written``: True, the same build wrote the folder's
    network_edges.parquet; False, it did not, and one an earlier build left there is removed; None: left as is."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if network_written is False:
        (out_dir / NETWORK_EDGES).unlink(missing_ok=True)
    written = []
    for entity, ft in tables.items():
        for name, table in ((entity, ft.table), (f"{entity}.profile", ft.profile), (f"{entity}.scope", ft.scope)):
            if table is not None:
                written.append(write_atomically(out_dir / f"{name}.parquet", partial(pq.write_table, table)))
    meta = {
        "as_of": as_of.isoformat(),
        "cutoffs": {e: ft.cutoffs for e, ft in tables.items()},
        "peers": {e: ft.peers for e, ft in tables.items()},
        "priors": {e: {i: list(ab) for i, ab in ft.priors.items()} for e, ft in tables.items()},
        "rows": {e: ft.table.num_rows for e, ft in tables.items()},
        "aliases": {e: ft.aliases for e, ft in tables.items() if ft.aliases},
        **({"state": state} if state is not None else {}),
    }
    (out_dir / "cutoffs.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written.append(out_dir / "cutoffs.json")
    return written


def reason_detail(ind: Indicator, row: dict[str, float | None], peer: float) -> str:
    """The filled-in detail of one indicator for one entity row (value columns of the feature table)."""
    num = row.get(f"{ind.feature}__num") or 0.0
    den = row.get(f"{ind.feature}__den") or 0.0
    value = row.get(ind.feature) or 0.0
    return ind.detail.format(num=float(num), den=float(den), value=float(value), peer=peer)


def _kept_meta(out_dir: Path) -> dict[str, Any] | None:
    """The cutoffs.json ``write_features`` wrote to ``out_dir``; None without one."""
    meta_path = out_dir / "cutoffs.json"
    if not meta_path.is_file():
        return None
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    return meta


def kept_state(out_dir: Path) -> str | None:
    """The lake state the features kept in ``out_dir`` were built on (``write_features``); None without any."""
    state = (_kept_meta(out_dir) or {}).get("state")
    return str(state) if state is not None else None


def read_features(
    out_dir: Path, entities: tuple[EntityType, ...], state: str | None = None
) -> dict[EntityType, FeatureTable] | None:
    """The feature tables ``write_features`` wrote to ``out_dir``, or None if any of ``entities`` is missing or,
    with ``state``, if they record another state (built on another lake or other indicators)."""
    meta = _kept_meta(out_dir)
    if meta is None:
        return None
    if state is not None and meta.get("state") != state:
        return None
    out: dict[EntityType, FeatureTable] = {}
    for entity in entities:
        path = out_dir / f"{entity}.parquet"
        if not path.is_file() or entity not in meta["cutoffs"]:
            return None
        extras = {}
        for part in ("profile", "scope"):
            extra = out_dir / f"{entity}.{part}.parquet"
            extras[part] = pq.read_table(extra) if extra.is_file() else None
        cutoffs, peers = meta["cutoffs"][entity], meta["peers"][entity]
        priors = {i: (float(ab[0]), float(ab[1])) for i, ab in meta.get("priors", {}).get(entity, {}).items()}
        aliases = {str(k): str(v) for k, v in meta.get("aliases", {}).get(entity, {}).items()}
        out[entity] = FeatureTable(
            entity, pq.read_table(path), cutoffs, peers, extras["profile"], extras["scope"], priors, aliases
        )
    return out
