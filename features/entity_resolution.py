"""Entity resolution: attach names on records that the exact name keys miss (typos) to register entries.

``features.build.create_views`` maps a name on a record to an entity only when its comparison key
(``data_contracts.names``: transliterated to ASCII, case, punctuation and legal forms dropped) equals the key of a
register name, which handles script, case, diacritics, punctuation and legal forms but not typos:
'Golen Agri Harvest 12 Ltd' stays unmatched and, for a recruiter, becomes a separate ``unregistered:<key>``
recruiter.

``resolve_names`` links every name key seen on records that is not in the exact maps to the register
(``org`` for employers, with the filers known by name alone in ``NAME_REGISTERS``; ``registry`` for
recruiters) with Splink on the DuckDB backend, over the same
connection's tables (nothing leaves DuckDB):

* comparisons: the name key (Levenshtein distance 1; two adjacent characters swapped; distance 2;
  Jaro-Winkler >= 0.95; the same sound skeleton; else) and the numbers in the name (equal or not: 'harvest 12'
  and 'harvest 13' are different organisations, one character apart). The sound skeleton (``_skeleton``) is
  what is left of the key when vowels, 'h', 'w', 'y' and spaces are dropped and consonants that scripts write
  alike are merged: a name written in another script and read back to Latin letters ('غولدن هارفست' reads
  'ghwldn harfst') keeps the skeleton of its Latin spelling ('golden harvest': 'kltnrfst');
* blocking: the single-deletion neighbourhood of the key (the key and every string made by dropping one of
  its characters, exploded): two keys within edit distance 1 (or one swap) always share an element, and the
  blocks stay tiny even where many register names share their words (first-characters blocks do not: the
  large world has ~1,000 register names per three-letter prefix). A second rule (same first three and last
  three characters, same numbers, length within 2) brings in candidates further apart for the 'possible' tier,
  a third (the same skeleton of at least ``MIN_SKELETON`` letters) the spellings from other scripts;
* parameters: fixed m / u probabilities and prior declared below (``M_U`` / ``PRIOR``), not trained.
  The name is the only evidence, so expectation maximisation has nothing to separate it from, and u from
  random sampling is noisy on small registers and depends on the sample; fixed values keep the result
  deterministic and the same at every scale. With them a pair one edit (or one swap) apart with the same
  numbers scores 0.993, two edits apart with the same numbers 0.613 (possible), the same skeleton further
  apart with the same numbers 0.798 (possible: a sound skeleton is shared by more unrelated names than a
  spelling, so it is never merged on its own), a pair whose numbers differ at most 0.318 (not kept).

Links at or above ``merge_threshold`` go into ``employer_name_map`` / ``recruiter_name_map`` (the best one
per name key: highest probability, then closest spelling, then the smallest entity id, as the exact maps
do for names shared by several entries); links from ``possible_threshold`` up to the merge threshold of the
names left unmerged go to the temp table ``possible_links(kind, name_key, entity_id, probability)``: a risk
signal for review, never merged.

The maps are read by the views that ``create_views`` builds after them (``va``, ``li``, ...): call
``resolve_names`` between the maps and those views for the links to reach the features.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import duckdb

from data_contracts.contracts import ORGANISATION_TYPES, OrganisationType
from data_contracts.names import name_key_sql, register_name_key

Kind = OrganisationType

# (table, name column, filter) of every place a name of each kind appears on a record.
NAME_SOURCES: dict[Kind, tuple[tuple[str, str, str], ...]] = {
    "employer": (
        ("raw_visa_application", "sponsor_name", "TRUE"),
        ("raw_labour_inspection", "worksite_name", "TRUE"),
        ("raw_enforcement_outcome", "entity_name", "entity_type = 'employer'"),
        # Each legal name an employer outcome gives ('A | B', 'A DBA C': A and B), as features.views reads them.
        ("outcome_names", "name", "TRUE"),
    ),
    "recruiter": (
        ("raw_visa_application", "recruiter_name", "TRUE"),
        ("raw_labour_inspection", "labour_contractor_name", "TRUE"),
        ("raw_enforcement_outcome", "entity_name", "entity_type = 'recruiter'"),
    ),
}
# (register table, its id column, the exact map, the map's id column) per kind.
REGISTERS: dict[Kind, tuple[str, str, str, str]] = {
    "employer": ("org", "registration_no", "employer_name_map", "employer_id"),
    "recruiter": ("registry", "recruiter_ref", "recruiter_name_map", "recruiter_id"),
}
# Entities known by a name alone that are linked to like register entries, read where the temp table exists
# (entity_id, name, name_key), and the temp table of the comparison features of their name keys
# (``name_comparison_features``, made once for them): employers known only by the petitions they filed
# (``features.views``, ``features.filer_resolution``).
NAME_REGISTERS: dict[Kind, tuple[str, str]] = {"employer": ("filer_register", "filer_key_features")}

# Fixed Fellegi-Sunter parameters (not trained; see the module docstring). m: share of true links at the
# level (typos are mostly one dropped / swapped / changed character); u: share of unrelated
# (name, register name) candidate pairs at the level. PRIOR: probability that two random records match.
PRIOR = 1e-4
M_U: dict[str, tuple[tuple[float, float], ...]] = {
    # Levenshtein <= 1, two adjacent characters swapped, Levenshtein <= 2, Jaro-Winkler >= 0.95, the same sound
    # skeleton, anything else.
    "name_key": (
        (0.70, 2e-6),
        (0.05, 1.5e-7),
        (0.12, 3e-5),
        (0.08, 1e-4),
        (0.03, 3e-6),
        (0.02, 1 - 2e-6 - 1.5e-7 - 3e-5 - 1e-4 - 3e-6),
    ),
    # Same numbers in the name (or none on either side), different numbers.
    "name_numbers": ((0.99, 0.25), (0.01, 0.75)),
}


@dataclass(frozen=True)
class ResolutionReport:
    kind: str  # 'employer' or 'recruiter'
    names: int  # distinct name keys seen on records
    matched_exact: int  # of them already in the exact map
    matched_fuzzy: int  # linked by Splink at or above the merge threshold (added to the map)
    possible: int  # 'possibly the same' links kept in possible_links below the threshold (not merged)


def splink_settings(
    link_type: Literal["link_only", "dedupe_only"] = "link_only", retain: tuple[str, ...] = ("entity_id",)
) -> Any:
    """The declared Splink settings: ``link_type`` link_only (names on records against register names) or
    dedupe_only (names of one table against each other); ``retain``: columns kept beside each pair."""
    from splink import SettingsCreator, block_on
    from splink import comparison_level_library as cll
    from splink.blocking_rule_library import CustomRule

    def level(creator: Any, m: float, u: float) -> Any:
        return creator.configure(m_probability=m, u_probability=u, fix_m_probability=True, fix_u_probability=True)

    name = M_U["name_key"]
    numbers = M_U["name_numbers"]
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="name_key",
        probability_two_random_records_match=PRIOR,
        comparisons=[
            {
                "output_column_name": "name_key",
                "comparison_levels": [
                    cll.NullLevel("name_key"),
                    level(cll.LevenshteinLevel("name_key", 1), *name[0]),
                    # Damerau-Levenshtein costs seven times Levenshtein in DuckDB: only where it can matter.
                    level(
                        cll.CustomLevel(
                            "levenshtein(name_key_l, name_key_r) = 2"
                            " AND damerau_levenshtein(name_key_l, name_key_r) = 1",
                            label_for_charts="Adjacent characters swapped",
                        ),
                        *name[1],
                    ),
                    level(cll.LevenshteinLevel("name_key", 2), *name[2]),
                    level(cll.JaroWinklerLevel("name_key", 0.95), *name[3]),
                    level(
                        cll.CustomLevel(
                            f"name_skeleton_l = name_skeleton_r AND length(name_skeleton_l) >= {MIN_SKELETON}",
                            label_for_charts="Same sound skeleton",
                        ),
                        *name[4],
                    ),
                    level(cll.ElseLevel(), *name[5]),
                ],
            },
            {
                "output_column_name": "name_numbers",
                "comparison_levels": [
                    cll.NullLevel("name_numbers"),  # never null ('' when the name has no number)
                    level(cll.ExactMatchLevel("name_numbers"), *numbers[0]),
                    level(cll.ElseLevel(), *numbers[1]),
                ],
            },
        ],
        blocking_rules_to_generate_predictions=[
            block_on("name_deletions", arrays_to_explode=["name_deletions"]),
            # Candidates further apart (the 'possible' tier): same ends, same numbers, similar length. Pairs
            # whose numbers differ cannot reach the possible tier, so they are not generated here.
            CustomRule(
                "substr(l.name_key, 1, 3) = substr(r.name_key, 1, 3) AND right(l.name_key, 3) = right(r.name_key, 3)"
                " AND l.name_numbers = r.name_numbers AND abs(length(l.name_key) - length(r.name_key)) <= 2"
            ),
            # Spellings from other scripts: the same sound skeleton.
            CustomRule(f"l.name_skeleton = r.name_skeleton AND length(l.name_skeleton) >= {MIN_SKELETON}"),
        ],
        additional_columns_to_retain=list(retain),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


# Letters read as one sound ('dzh' and 'zh': Cyrillic 'дж' and 'ж' for 'j'), then letters that scripts write
# alike (c k g j q x as k; z as s; p as b; v as f; d as t), on the way to a name's sound skeleton.
_SOUND_PAIRS = (
    ("dzh", "j"),
    ("zh", "j"),
    ("ph", "f"),
    ("gh", "g"),
    ("kh", "k"),
    ("sh", "s"),
    ("ch", "k"),
    ("th", "t"),
    ("dh", "d"),
    ("x", "ks"),
)
_SOUND_FROM, _SOUND_TO = "cgjqzpvd", "kkkksbft"
# Skeletons shorter than this (in letters and digits) are too common to compare.
MIN_SKELETON = 6


def _skeleton(key: str) -> str:
    """SQL: the sound skeleton of name key ``key`` (see the module docstring); repeated letters written once."""
    sql = key
    for pair, sound in _SOUND_PAIRS:
        sql = f"replace({sql}, '{pair}', '{sound}')"
    sql = f"regexp_replace({sql}, 'c([eiy])', 's\\1', 'g')"  # a soft 'c'
    sql = f"regexp_replace(translate({sql}, '{_SOUND_FROM}', '{_SOUND_TO}'), '[^a-z0-9]|[aeiouyhw]', '', 'g')"
    for letter in "bfklmnrst":
        sql = f"regexp_replace({sql}, '{letter}{letter}+', '{letter}', 'g')"
    return sql


def name_comparison_features(key: str) -> str:
    """SQL select list: the key, its numbers, its sound skeleton and its single-deletion neighbourhood
    (blocking)."""
    return (
        f"{key} AS name_key, array_to_string(regexp_extract_all({key}, '[0-9]+'), ' ') AS name_numbers, "
        f"{_skeleton(key)} AS name_skeleton, "
        f"list_distinct(list_append(list_transform(range(1, length({key}) + 1), "
        f"lambda i: substr({key}, 1, i - 1) || substr({key}, i + 1)), {key})) AS name_deletions"
    )


def _spellings_sql(con: duckdb.DuckDBPyConnection, kind: Kind) -> str:
    """The distinct names of ``kind`` on the records: every NAME_SOURCES table the connection has."""
    present = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views()"
        ).fetchall()
    }
    parts = [
        f"SELECT {column} AS name FROM {table} WHERE {column} IS NOT NULL AND {where}"
        for table, column, where in NAME_SOURCES[kind]
        if table in present
    ]
    if not parts:
        return "SELECT CAST(NULL AS VARCHAR) AS name WHERE FALSE"
    return "SELECT DISTINCT name FROM (" + " UNION ALL ".join(parts) + ")"


def seen_name_keys(con: duckdb.DuckDBPyConnection, kind: Kind, table: str = "__er_seen") -> str:
    """Create temp table ``table(name_key)``: the distinct name keys of ``kind`` on the records; returns its name.

    The distinct spellings are materialised first, so that the key function runs once per spelling (in one
    statement DuckDB drops the inner DISTINCT and runs it once per record). Names without a key are left out.
    """
    register_name_key(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {_spellings_sql(con, kind)}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT DISTINCT name_key FROM (SELECT {name_key_sql("name")} AS name_key FROM {table})
            WHERE name_key IS NOT NULL"""
    )
    return table


def _register_table(con: duckdb.DuckDBPyConnection, kind: Kind) -> int:
    """Temp table ``__er_register``: the comparison features of every register name key of ``kind`` (with the
    entities known by name alone of ``NAME_REGISTERS``) and its entity (the smallest id per name key); returns
    its row count."""
    register, register_id, _, _ = REGISTERS[kind]
    entries = f"""SELECT {name_comparison_features("name_key")}, entity_id FROM (
                      SELECT name_key, min(entity_id) AS entity_id FROM (
                          SELECT {register_id} AS entity_id, {name_key_sql("name")} AS name_key FROM {register})
                      WHERE name_key IS NOT NULL GROUP BY 1)"""
    query = "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = $t"
    named, features = NAME_REGISTERS.get(kind, ("", ""))
    if named and con.execute(query, {"t": named}).fetchall()[0][0]:
        # A name key of an entity known by name alone is no register name's (features.views): no key twice.
        entries += f""" UNION ALL SELECT f.*, n.entity_id FROM (
                           SELECT name_key, min(entity_id) AS entity_id FROM {named} GROUP BY 1) n
                       JOIN {features} f USING (name_key)"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE __er_register AS SELECT * FROM ({entries}) ORDER BY name_key")
    (registered,) = con.execute("SELECT count(*) FROM __er_register").fetchall()[0]
    return int(registered)


def predict_pairs(
    con: duckdb.DuckDBPyConnection, tables: list[str], settings: Any, threshold: float, name: str
) -> tuple[Any, Any]:
    """Splink's scored pairs of ``tables`` (temp tables of comparison features, see ``name_comparison_features``) at
    or above ``threshold``: (the linker, its predictions table); drop both with ``drop_predictions``."""
    from splink import Linker
    from splink.backends.duckdb import DuckDBAPI

    db = DuckDBAPI(connection=con)
    inputs = [db.register(t, dataset_display_name=f"__er_{name}_{n}") for n, t in enumerate(tables)]
    linker = Linker(inputs, settings, log_level=None)
    return linker, linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")


def drop_predictions(linker: Any, predictions: Any) -> None:
    predictions.drop_table_from_database_and_remove_from_cache()
    linker.table_management.delete_tables_created_by_splink_from_db()


def link_to_register(con: duckdb.DuckDBPyConnection, kind: Kind, names: str, threshold: float) -> str:
    """Temp table ``__er_links(name_key, entity_id, probability, jw)``: Splink's links at or above ``threshold``
    of the name keys in temp table ``names`` (a ``name_key`` column) to the register of ``kind``
    (``_register_table``), with the Jaro-Winkler similarity of the two spellings; returns its name."""
    links = "__er_links"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {links} (name_key VARCHAR, entity_id VARCHAR, probability DOUBLE, jw DOUBLE)"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __er_names AS
            SELECT {name_comparison_features("name_key")}, CAST(NULL AS VARCHAR) AS entity_id
            FROM (SELECT DISTINCT name_key FROM {names} WHERE name_key IS NOT NULL) ORDER BY name_key"""
    )
    (unmatched,) = con.execute("SELECT count(*) FROM __er_names").fetchall()[0]
    if unmatched and _register_table(con, kind):
        linker, predictions = predict_pairs(con, ["__er_names", "__er_register"], splink_settings(), threshold, kind)
        # Orient each pair: the record's name (no entity) and the register's name (with its entity).
        con.execute(
            f"""INSERT INTO {links}
                SELECT CASE WHEN entity_id_l IS NULL THEN name_key_l ELSE name_key_r END,
                       coalesce(entity_id_l, entity_id_r), match_probability,
                       jaro_winkler_similarity(name_key_l, name_key_r)
                FROM {predictions.physical_name}
                WHERE (entity_id_l IS NULL) <> (entity_id_r IS NULL)"""
        )
        drop_predictions(linker, predictions)
    con.execute("DROP TABLE IF EXISTS __er_names")
    con.execute("DROP TABLE IF EXISTS __er_register")
    return links


def best_links(con: duckdb.DuckDBPyConnection, links: str, merge_threshold: float, table: str = "__er_best") -> str:
    """Temp table ``table(name_key, entity_id)``: the best link at or above ``merge_threshold`` per name key of
    ``links`` (highest probability, then closest spelling, then the smallest entity id); returns its name."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT name_key, entity_id FROM {links} WHERE probability >= $merge
            QUALIFY row_number() OVER (PARTITION BY name_key ORDER BY probability DESC, jw DESC, entity_id) = 1""",
        {"merge": merge_threshold},
    )
    return table


def _resolve(
    con: duckdb.DuckDBPyConnection, kind: Kind, merge_threshold: float, possible_threshold: float, labels: str | None
) -> ResolutionReport:
    _, _, name_map, map_id = REGISTERS[kind]
    seen_name_keys(con, kind)
    names, exact = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE name_key IN (SELECT name_key FROM {name_map})) FROM __er_seen"
    ).fetchall()[0]
    unmapped = f"name_key NOT IN (SELECT name_key FROM {name_map} WHERE name_key IS NOT NULL)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE __er_unmatched AS SELECT name_key FROM __er_seen WHERE {unmapped}")
    con.execute("DROP TABLE __er_seen")
    # The names of outcomes read as labels go through the same Splink run, their links apart from the map.
    extra = f" UNION SELECT name_key FROM {labels} WHERE {unmapped}" if labels else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE __er_to_link AS SELECT name_key FROM __er_unmatched{extra}")
    links = link_to_register(con, kind, "__er_to_link", possible_threshold)
    best = best_links(con, links, merge_threshold)
    if labels:
        con.execute(f"INSERT INTO label_links SELECT * FROM {best} WHERE name_key IN (SELECT name_key FROM {labels})")
    for table in (best, links):
        con.execute(f"DELETE FROM {table} WHERE name_key NOT IN (SELECT name_key FROM __er_unmatched)")
    (fuzzy,) = con.execute(f"SELECT count(*) FROM {best}").fetchall()[0]
    con.execute(f"INSERT INTO {name_map} (name_key, {map_id}) SELECT name_key, entity_id FROM {best}")
    con.execute(
        f"""INSERT INTO possible_links
            SELECT '{kind}', name_key, entity_id, probability FROM {links}
            WHERE probability < $merge AND name_key NOT IN (SELECT name_key FROM {best})
            ORDER BY name_key, probability DESC, entity_id""",
        {"merge": merge_threshold},
    )
    (possible,) = con.execute(f"SELECT count(*) FROM possible_links WHERE kind = '{kind}'").fetchall()[0]
    for table in (best, links, "__er_unmatched", "__er_to_link"):
        con.execute(f"DROP TABLE {table}")
    return ResolutionReport(kind, int(names), int(exact), int(fuzzy), int(possible))


def resolve_names(
    con: duckdb.DuckDBPyConnection,
    merge_threshold: float = 0.95,
    possible_threshold: float = 0.5,
    labels: str | None = None,
) -> list[ResolutionReport]:
    """Link unmatched names on records to register entries (see the module docstring); one report per kind.

    Needs the tables of ``features.build.create_views`` (``org``, ``registry``, the ``raw_*`` records and
    the two exact name maps) on ``con``; adds links to the maps and (re)creates ``possible_links``.
    ``labels``: a temp table of the name keys (``name_key``) of employer outcomes read as labels, whatever their
    date: linked in the same employer run, their best links at the merge threshold go to temp table
    ``label_links(name_key, entity_id)`` (always (re)created), never to the map or ``possible_links``.
    Deterministic: the same tables give the same links (each name's links do not depend on the other names).
    """
    if not 0 < possible_threshold <= merge_threshold <= 1:
        raise ValueError("need 0 < possible_threshold <= merge_threshold <= 1")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE possible_links
           (kind VARCHAR, name_key VARCHAR, entity_id VARCHAR, probability DOUBLE)"""
    )
    con.execute("CREATE OR REPLACE TEMP TABLE label_links (name_key VARCHAR, entity_id VARCHAR)")
    splink_logger = logging.getLogger("splink")
    level = splink_logger.level
    splink_logger.setLevel(logging.WARNING)
    try:
        return [
            _resolve(con, kind, merge_threshold, possible_threshold, labels if kind == "employer" else None)
            for kind in ORGANISATION_TYPES
        ]
    finally:
        splink_logger.setLevel(level)


def pairwise_accuracy(predicted: dict[str, str], expected: dict[str, str]) -> tuple[float, float]:
    """(precision, recall) over pairs of name keys put in the same entity: ``predicted`` and ``expected`` map the
    same keys to entity ids (a key left unassigned is its own entity). Empty pair sets count as 1.0."""

    def pairs(entity_of: dict[str, str]) -> set[tuple[str, str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for k, entity in entity_of.items():
            groups[entity].append(k)
        return {p for keys in groups.values() for p in combinations(sorted(keys), 2)}

    got, want = pairs(predicted), pairs(expected)
    both = len(got & want)
    return (both / len(got) if got else 1.0, both / len(want) if want else 1.0)
