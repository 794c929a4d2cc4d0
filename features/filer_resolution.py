"""Employers known by the petitions they filed, resolved across fiscal years, and the outcomes that name them.

A filer's name is spelled differently from one fiscal year's file to the next ('R&K Doyle Harvesting Ltd.',
'RK Doyle Harvesting'; 'Jonson Farms' for 'Johnson Farms'). Exact name keys (``data_contracts.names``) handle
case, punctuation and legal forms; ``merge_filers`` links the remaining spellings to each other with the declared
Splink settings of ``features.entity_resolution`` (deduplication of the filers' name keys, the same comparisons,
blocking and fixed parameters as names on records against a register):

* a pair at or above the merge threshold joins one filer when the two spellings also filed from a place in
  common (the same city of the same state, or the same postal code) and differ in more than initials: small
  farms' names are short and alike ('Ross Farms', 'Moss Farms'; 'J and K Farms', 'J and P Farms'), and one
  edit between two of them is as often two employers as a typo. A filer is a connected group of such pairs; its
  entity id is ``SPONSOR_ID_PREFIX`` + the key of its first filed spelling (earliest petition day, then the
  smallest key), so that the id a filer gets does not change when a later year adds a spelling;
* every other pair from the possible threshold up (the merge tier without the place or with initials alone
  differing, at ``UNSUPPORTED_PROBABILITY``) of two different filers is kept both ways as a 'possibly the same'
  link (``filer_possible_links``): never merged, read with the other names entity resolution found possibly
  the same (indicator L11).

Point in time: the features as of D read only the petitions known before D (``features.views``), so the map as of
D never depends on a later filing.

Outcomes (debarments) name an employer by a name of their own and carry the id of that name
(``data_contracts.names.sponsor_id``). ``outcome_aliases`` gives, for the outcomes of every date, the entity the
names of each resolve to as of D through the same employer name map (exact keys, then entity resolution's links
to the register at its merge threshold), so that labels read after D reach the entity whose features were built
as of D: a debarment filed under either spelling of a merged filer labels it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from data_contracts.names import SPONSOR_ID_PREFIX, legal_name_sql, name_key_sql, register_name_key
from features.entity_resolution import (
    _features,
    _settings,
    best_links,
    drop_predictions,
    link_to_register,
    predict_pairs,
)


@dataclass(frozen=True)
class FilerReport:
    spellings: int  # distinct name keys of filers
    filers: int  # entities after merging
    merged: int  # name keys joined to a filer whose id is another key's
    possible: int  # 'possibly the same' pairs of two filers, not merged


# Tokens of at most this many characters are initials ('aa farms', 'j and k farms', 'david j watson'): two keys
# whose differing tokens are all initials name different filers as often as the same one.
INITIALS_LENGTH = 3
# The probability a pair of filers is kept with, at most, when the name alone supports it (no place in common, or
# initials alone differing): in the 'possibly the same' tier, below every merge threshold.
UNSUPPORTED_PROBABILITY = 0.6


def _initials_differ(a: str, b: str) -> bool:
    """Whether the tokens of name keys ``a`` and ``b`` that the other lacks are all initials (``INITIALS_LENGTH``)."""
    left, right = a.split(), b.split()
    differing = [t for t in left if t not in right] + [t for t in right if t not in left]
    return bool(differing) and all(len(t) <= INITIALS_LENGTH for t in differing)


def _groups(keys: list[tuple[str, object]], pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Name key -> its group's representative: the groups are the connected components of ``pairs``; the
    representative is the member first in ``keys`` order (each key once, ordered by first filing, then key)."""
    order = {k: n for n, (k, _) in enumerate(keys)}
    parent = {k: k for k, _ in keys}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            first, second = (ra, rb) if order[ra] < order[rb] else (rb, ra)
            parent[second] = first
    return {k: root(k) for k, _ in keys}


def _table(
    con: duckdb.DuckDBPyConnection, name: str, text: dict[str, list[str]], probability: list[float] | None = None
) -> None:
    """Temp table ``name`` of the text columns ``text`` (and a ``probability`` column when given)."""
    columns: dict[str, pa.Array] = {c: pa.array(v, pa.string()) for c, v in text.items()}
    if probability is not None:
        columns["probability"] = pa.array(probability, pa.float64())
    con.register("__fr_rows", pa.table(columns))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM __fr_rows")
    finally:
        con.unregister("__fr_rows")


def merge_filers(
    con: duckdb.DuckDBPyConnection,
    keys: str,
    merge_threshold: float = 0.95,
    possible_threshold: float = 0.5,
    link: bool = True,
) -> FilerReport:
    """Resolve the filers' name keys in temp table ``keys(name_key, first_day, places)`` (``places``: the texts of
    the places each filed from, 'KY:LEXINGTON', 'postal:40509'; see the module docstring) into
    temp tables ``filer_entities(name_key, entity_id)`` (every key) and ``filer_possible_links(name_key,
    entity_id, probability)``; ``link`` False: exact keys alone, every key a filer of its own. Deterministic: the
    same keys and days give the same entities."""
    if not 0 < possible_threshold <= merge_threshold <= 1:
        raise ValueError("need 0 < possible_threshold <= merge_threshold <= 1")
    ordered = [
        (str(k), d)
        for k, d in con.execute(
            f"SELECT name_key, min(first_day) FROM {keys} WHERE name_key IS NOT NULL GROUP BY 1 ORDER BY 2, 1"
        ).fetchall()
    ]
    pairs: list[tuple[str, str, float]] = []
    if link and len(ordered) > 1:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __fr_keys AS
                SELECT {_features("name_key")} FROM (SELECT DISTINCT name_key FROM {keys} WHERE name_key IS NOT NULL)
                ORDER BY name_key"""
        )
        linker, predictions = predict_pairs(
            con, ["__fr_keys"], _settings("dedupe_only", ()), possible_threshold, "filer"
        )
        pairs = [
            (str(a), str(b), float(p))
            for a, b, p in con.execute(
                f"SELECT name_key_l, name_key_r, match_probability FROM {predictions.physical_name} ORDER BY 1, 2"
            ).fetchall()
        ]
        drop_predictions(linker, predictions)
        con.execute("DROP TABLE __fr_keys")
    places = {str(k): set(v or ()) for k, v in con.execute(f"SELECT name_key, places FROM {keys}").fetchall()}
    pairs = [
        (a, b, p if places[a] & places[b] and not _initials_differ(a, b) else min(p, UNSUPPORTED_PROBABILITY))
        for a, b, p in pairs
    ]
    group = _groups(ordered, [(a, b) for a, b, p in pairs if p >= merge_threshold])
    entity = {k: SPONSOR_ID_PREFIX + g for k, g in group.items()}
    keys_sorted = sorted(entity)
    _table(con, "filer_entities", {"name_key": keys_sorted, "entity_id": [entity[k] for k in keys_sorted]})
    possible = sorted(
        {
            (x, entity[y], p)
            for a, b, p in pairs
            if p < merge_threshold and group[a] != group[b]
            for x, y in ((a, b), (b, a))
        }
    )
    _table(
        con,
        "filer_possible_links",
        {"name_key": [r[0] for r in possible], "entity_id": [r[1] for r in possible]},
        [r[2] for r in possible],
    )
    merged = sum(1 for k, g in group.items() if k != g)
    return FilerReport(len(ordered), len(ordered) - merged, merged, len(possible) // 2)


def outcome_aliases(
    con: duckdb.DuckDBPyConnection, outcomes_sql: str, known_ids: str, merge_threshold: float = 0.95
) -> dict[str, str]:
    """Entity id an employer outcome carries -> the entity its names resolve to through the employer name map on
    ``con`` (see the module docstring), for the outcomes of ``outcomes_sql`` (any date) whose id is not one of
    ``known_ids`` (SQL of the entity ids the features know) and whose names resolve to an entity; several names
    resolving to several entities: the smallest id, as the features attach the outcome."""
    register_name_key(con)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __fr_outcome_names AS
            SELECT DISTINCT entity_ref, {legal_name_sql("trim(part)")} AS name
            FROM ({outcomes_sql}), unnest(string_split(entity_name, '|')) t(part)
            WHERE entity_type = 'employer' AND entity_ref IS NOT NULL AND entity_name IS NOT NULL
              AND entity_ref NOT IN ({known_ids})"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __fr_outcome_keys AS
            SELECT entity_ref, name_key FROM (
                SELECT entity_ref, {name_key_sql("name")} AS name_key FROM __fr_outcome_names)
            WHERE name_key IS NOT NULL"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __fr_unmatched AS SELECT DISTINCT name_key FROM __fr_outcome_keys
           WHERE name_key NOT IN (SELECT name_key FROM employer_name_map)"""
    )
    links = link_to_register(con, "employer", "__fr_unmatched", merge_threshold)
    best = best_links(con, links, merge_threshold, "__fr_best")
    rows = con.execute(
        f"""SELECT entity_ref, min(employer_id) FROM __fr_outcome_keys k JOIN (
                SELECT name_key, employer_id FROM employer_name_map
                UNION ALL SELECT name_key, entity_id FROM {best}) m USING (name_key)
            GROUP BY 1 HAVING min(employer_id) <> entity_ref ORDER BY 1"""
    ).fetchall()
    for table in ("__fr_outcome_names", "__fr_outcome_keys", "__fr_unmatched", links, best):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return {str(ref): str(entity) for ref, entity in rows}
