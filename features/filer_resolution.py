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
names of each resolve to as of D through the same employer name map (exact keys, then the links of the same
entity resolution run to the register at its merge threshold), so that labels read after D reach the entity whose
features were built as of D: a debarment filed under either spelling of a merged filer labels it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from data_contracts.names import SPONSOR_ID_PREFIX, legal_name_sql, name_key_sql, register_name_key
from features.entity_resolution import (
    NAME_REGISTERS,
    drop_predictions,
    name_comparison_features,
    predict_pairs,
    splink_settings,
)

# Temp table of the comparison features of every filer's name key (entity_resolution.name_comparison_features), made by
# merge_filers and read again when entity resolution links other names to the filers.
FILER_KEY_FEATURES = NAME_REGISTERS["employer"][1]


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


def _groups(first: dict[str, tuple[object, str]], pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Name key -> its group's representative, for the keys of ``pairs``: the groups are the connected components of
    ``pairs``; the representative is the member with the smallest ``first`` (its first filing day, then itself)."""
    parent = {k: k for pair in pairs for k in pair}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            earlier, later = (ra, rb) if first[ra] < first[rb] else (rb, ra)
            parent[later] = earlier
    return {k: root(k) for k in parent}


def _table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, pa.Array]) -> None:
    """Temp table ``name`` of ``columns``."""
    con.register("__fr_rows", pa.table(columns))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM __fr_rows")
    finally:
        con.unregister("__fr_rows")


def _scored_pairs(
    con: duckdb.DuckDBPyConnection, keys: str, possible_threshold: float
) -> list[tuple[str, str, float, bool, object, object]]:
    """Splink's pairs of the filers' name keys at or above ``possible_threshold``: (key, other key, probability,
    whether they filed from a place in common, each one's first filing day)."""
    linker, predictions = predict_pairs(
        con, [FILER_KEY_FEATURES], splink_settings("dedupe_only", ()), possible_threshold, "filer"
    )
    rows = con.execute(
        f"""SELECT p.name_key_l, p.name_key_r, p.match_probability,
                   coalesce(len(list_intersect(a.places, b.places)) > 0, false), a.first_day, b.first_day
            FROM {predictions.physical_name} p JOIN {keys} a ON a.name_key = p.name_key_l
                 JOIN {keys} b ON b.name_key = p.name_key_r
            ORDER BY 1, 2"""
    ).fetchall()
    drop_predictions(linker, predictions)
    return [(str(a), str(b), float(p), bool(shared), da, db) for a, b, p, shared, da, db in rows]


def merge_filers(
    con: duckdb.DuckDBPyConnection,
    keys: str,
    merge_threshold: float = 0.95,
    possible_threshold: float = 0.5,
    link: bool = True,
) -> FilerReport:
    """Resolve the filers' name keys in temp table ``keys(name_key, first_day, places)`` (one row per key;
    ``places``: the texts of the places it filed from, 'KY:LEXINGTON', 'postal:40509'; see the module docstring)
    into temp tables ``filer_entities(name_key, entity_id)`` (every key), ``filer_possible_links(name_key,
    entity_id, probability)`` and ``FILER_KEY_FEATURES``; ``link`` False: exact keys alone, every key a filer of
    its own. Deterministic: the same keys, days and places give the same entities."""
    if not 0 < possible_threshold <= merge_threshold <= 1:
        raise ValueError("need 0 < possible_threshold <= merge_threshold <= 1")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {FILER_KEY_FEATURES} AS
            SELECT {name_comparison_features("name_key")}
            FROM (SELECT DISTINCT name_key FROM {keys} WHERE name_key IS NOT NULL) ORDER BY name_key"""
    )
    (spellings,) = con.execute(f"SELECT count(*) FROM {FILER_KEY_FEATURES}").fetchall()[0]
    scored = _scored_pairs(con, keys, possible_threshold) if link and spellings > 1 else []
    # A pair the name alone supports (no place in common, or initials alone differing) is only possibly the same.
    pairs = [
        (a, b, p if shared and not _initials_differ(a, b) else min(p, UNSUPPORTED_PROBABILITY))
        for a, b, p, shared, _, _ in scored
    ]
    first = {k: (day, k) for a, b, _, _, da, db in scored for k, day in ((a, da), (b, db))}
    group = _groups(first, [(a, b) for a, b, p in pairs if p >= merge_threshold])
    merged = sorted(k for k, g in group.items() if k != g)
    _table(
        con,
        "__fr_merged",
        {"name_key": pa.array(merged, pa.string()), "entity_id": pa.array([group[k] for k in merged], pa.string())},
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE filer_entities AS
            SELECT k.name_key, '{SPONSOR_ID_PREFIX}' || coalesce(m.entity_id, k.name_key) AS entity_id
            FROM (SELECT DISTINCT name_key FROM {keys} WHERE name_key IS NOT NULL) k
            LEFT JOIN __fr_merged m USING (name_key) ORDER BY k.name_key"""
    )
    con.execute("DROP TABLE __fr_merged")

    def entity(k: str) -> str:
        return SPONSOR_ID_PREFIX + group.get(k, k)

    possible = sorted(
        {
            (x, entity(y), p)
            for a, b, p in pairs
            if p < merge_threshold and entity(a) != entity(b)
            for x, y in ((a, b), (b, a))
        }
    )
    _table(
        con,
        "filer_possible_links",
        {
            "name_key": pa.array([r[0] for r in possible], pa.string()),
            "entity_id": pa.array([r[1] for r in possible], pa.string()),
            "probability": pa.array([r[2] for r in possible], pa.float64()),
        },
    )
    return FilerReport(int(spellings), int(spellings) - len(merged), len(merged), len(possible) // 2)


LABEL_KEYS = "label_outcome_keys"  # temp table (entity_ref, name_key) of ``label_name_keys``


def label_name_keys(con: duckdb.DuckDBPyConnection, outcomes_sql: str, known_ids: str) -> str:
    """Temp table ``LABEL_KEYS(entity_ref, name_key)``: the name keys of the legal names of the employer outcomes of
    ``outcomes_sql`` (any date) that name their employer by name alone (an id of ``SPONSOR_ID_PREFIX``; an outcome
    carrying a register number stays that organisation's) and whose id is not one of ``known_ids`` (SQL of the
    entity ids the features know), for ``entity_resolution.resolve_names(labels=...)`` and ``outcome_aliases``;
    returns its name."""
    register_name_key(con)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __fr_outcome_names AS
            SELECT DISTINCT entity_ref, {legal_name_sql("trim(part)")} AS name
            FROM ({outcomes_sql}), unnest(string_split(entity_name, '|')) t(part)
            WHERE entity_type = 'employer' AND entity_name IS NOT NULL
              AND starts_with(entity_ref, '{SPONSOR_ID_PREFIX}') AND entity_ref NOT IN ({known_ids})"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {LABEL_KEYS} AS
            SELECT entity_ref, name_key FROM (
                SELECT entity_ref, {name_key_sql("name")} AS name_key FROM __fr_outcome_names)
            WHERE name_key IS NOT NULL"""
    )
    con.execute("DROP TABLE __fr_outcome_names")
    return LABEL_KEYS


def outcome_aliases(con: duckdb.DuckDBPyConnection, label_keys: str = LABEL_KEYS) -> dict[str, str]:
    """Entity id an employer outcome carries -> the entity its names (``label_name_keys``) resolve to through the
    employer name map on ``con`` or, for a name the map lacks, entity resolution's best link of it
    (``label_links``; see the module docstring), where that entity is another id; several names resolving to
    several entities: the smallest id, as the features attach the outcome."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS label_links (name_key VARCHAR, entity_id VARCHAR)")
    rows = con.execute(
        f"""SELECT entity_ref, min(employer_id) FROM {label_keys} k JOIN (
                SELECT name_key, employer_id FROM employer_name_map
                UNION ALL SELECT name_key, entity_id FROM label_links) m USING (name_key)
            GROUP BY 1 HAVING min(employer_id) <> entity_ref ORDER BY 1"""
    ).fetchall()
    return {str(ref): str(entity) for ref, entity in rows}
