"""Entity resolution of names on records: typos linked to the register, measured against the simulator's truth."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.names import name_key, name_key_sql, register_name_key
from data_contracts.sources import load_source
from features.entity_resolution import (
    REGISTERS,
    Kind,
    ResolutionReport,
    pairwise_accuracy,
    resolve_names,
    seen_name_keys,
)
from features.views import create_views
from simulator.text import N_VARIANTS, SCRIPT_VARIANT
from simulator.truth import load_truth
from tests.ingestion import NOW, pseudonym_key

KEY = pseudonym_key("test", "x")
AS_OF = date(2024, 12, 31)
WINDOW_DAYS = 1095


@pytest.fixture(scope="module")
def world_lake(tiny_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Lake]]:
    lake = Lake(tmp_path_factory.mktemp("er_lake") / "home")
    source = load_source("synthetic", tiny_world)
    for f in source.files(tiny_world):
        ingest_file(lake, f, source, NOW, KEY)
    yield tiny_world, lake
    lake.close()


def _views(lake: Lake) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    create_views(con, lake, AS_OF, WINDOW_DAYS, resolve=False)
    return con


def measure(con: duckdb.DuckDBPyConnection, world: Path, kind: Kind) -> dict[str, float]:
    """Name keys on records against the truth: key -> entity precision / recall and cluster (key pair) F1.

    Precision: of the keys the map attaches to an entity, the share attached to their true entity.
    Recall: of the keys of Latin spellings whose true entity is in the register as of the date, the share attached
    to it (names in another script are linked as possibly the same: tests/features/test_scripts.py).
    Clusters: keys grouped by the map's entity (an unmatched key is its own 'unregistered:<key>' entity)
    against keys grouped by true entity; precision / recall / F1 over the pairs of keys put together.
    """
    id_column = "registration_no" if kind == "employer" else "recruiter_ref"
    true: dict[str, set[str]] = defaultdict(set)
    latin: set[str] = set()
    for row in load_truth(world, f"{kind}_names").to_pylist():
        true[name_key(row["name_variant"])].add(row[id_column])
        if row["variant"] % N_VARIANTS != SCRIPT_VARIANT:
            latin.add(name_key(row["name_variant"]))
    register, register_id, name_map, map_id = REGISTERS[kind]
    registered = {r[0] for r in con.execute(f"SELECT {register_id} FROM {register}").fetchall()}
    predicted = dict(con.execute(f"SELECT name_key, {map_id} FROM {name_map}").fetchall())
    table = seen_name_keys(con, kind, "seen_keys")
    seen = sorted(r[0] for r in con.execute(f"SELECT name_key FROM {table}").fetchall() if r[0] in true)
    con.execute(f"DROP TABLE {table}")
    assigned = [k for k in seen if k in predicted]
    linkable = [k for k in seen if true[k] & registered and k in latin]
    precision = sum(predicted[k] in true[k] for k in assigned) / len(assigned)
    recall = sum(predicted.get(k) in true[k] for k in linkable) / len(linkable)

    c_precision, c_recall = pairwise_accuracy(
        {k: predicted.get(k, f"unregistered:{k}") for k in seen}, {k: min(true[k]) for k in seen}
    )
    f1 = 2 * c_precision * c_recall / (c_precision + c_recall) if c_precision * c_recall else 0.0
    return {
        "keys": len(seen),
        "precision": precision,
        "recall": recall,
        "cluster_precision": c_precision,
        "cluster_recall": c_recall,
        "cluster_f1": f1,
    }


def _fmt(m: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items())


def test_typos_are_linked_with_the_target_precision_and_recall(world_lake: tuple[Path, Lake]) -> None:
    world, lake = world_lake
    con = _views(lake)
    kinds: tuple[Kind, ...] = ("employer", "recruiter")
    before = {kind: measure(con, world, kind) for kind in kinds}
    reports = resolve_names(con)
    after = {kind: measure(con, world, kind) for kind in kinds}
    for kind in kinds:
        print(f"{kind} before: {_fmt(before[kind])}")
        print(f"{kind} after:  {_fmt(after[kind])}")
    print(reports)
    assert [r.kind for r in reports] == ["employer", "recruiter"]
    for report, kind in zip(reports, kinds, strict=True):
        assert report.names == before[kind]["keys"]
        assert report.matched_fuzzy > 0
        assert after[kind]["precision"] >= 0.98, (kind, after[kind])
        assert after[kind]["recall"] >= 0.95, (kind, after[kind])
        assert after[kind]["recall"] > before[kind]["recall"]
        assert after[kind]["cluster_f1"] > before[kind]["cluster_f1"]
        counted = con.execute(
            f"SELECT count(*) FROM possible_links WHERE kind = '{kind}' AND probability >= 0.5 AND probability < 0.95"
        ).fetchall()[0][0]
        assert counted == report.possible
    # One entity per name key: the exact keys were not touched, the links added once.
    for _, _, name_map, _ in REGISTERS.values():
        dupes = con.execute(f"SELECT count(*) - count(DISTINCT name_key) FROM {name_map}").fetchall()[0][0]
        assert dupes == 0


def test_same_input_same_links(world_lake: tuple[Path, Lake]) -> None:
    _, lake = world_lake
    results = []
    for _ in range(2):
        con = _views(lake)
        reports = resolve_names(con)
        maps = [
            con.execute(f"SELECT * FROM {name_map} ORDER BY ALL").fetchall() for _, _, name_map, _ in REGISTERS.values()
        ]
        possible = con.execute("SELECT * FROM possible_links ORDER BY ALL").fetchall()
        leftovers = con.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE contains(table_name, 'splink') OR starts_with(table_name, '__er')"
        ).fetchall()
        assert leftovers == []
        results.append((reports, maps, possible))
        con.close()
    assert results[0] == results[1]


def test_links_below_the_merge_threshold_are_kept_as_possible(world_lake: tuple[Path, Lake]) -> None:
    _, lake = world_lake
    con = _views(lake)
    maps = [name_map for _, _, name_map, _ in REGISTERS.values()]
    exact = [con.execute(f"SELECT count(*) FROM {m}").fetchall()[0][0] for m in maps]
    reports = resolve_names(con, merge_threshold=0.999)
    for report, name_map, count in zip(reports, maps, exact, strict=True):
        assert report.matched_fuzzy == 0
        assert report.possible > 0
        assert con.execute(f"SELECT count(*) FROM {name_map}").fetchall()[0][0] == count
    low, high = con.execute("SELECT min(probability), max(probability) FROM possible_links").fetchall()[0]
    assert low >= 0.5 and high < 0.999


def _tables(con: duckdb.DuckDBPyConnection, register: list[str], on_records: list[str]) -> None:
    """The tables resolve_names reads, with employers only: ``register`` names and names seen on records."""
    org = " UNION ALL ".join(f"SELECT 'RN{i}' AS registration_no, '{n}' AS name" for i, n in enumerate(register))
    seen = " UNION ALL ".join(
        f"SELECT '{n}' AS sponsor_name, CAST(NULL AS VARCHAR) AS recruiter_name" for n in on_records
    )
    for sql in (
        f"CREATE TEMP TABLE org AS {org}",
        "CREATE TEMP TABLE registry AS SELECT 'RA1' AS recruiter_ref, 'Blue Staffing Jobs 7 Ltd' AS name",
        f"CREATE TEMP TABLE raw_visa_application AS {seen}",
        "CREATE TEMP TABLE raw_labour_inspection AS SELECT CAST(NULL AS VARCHAR) AS worksite_name, "
        "CAST(NULL AS VARCHAR) AS labour_contractor_name WHERE FALSE",
        "CREATE TEMP TABLE raw_enforcement_outcome AS SELECT 'employer' AS entity_type, "
        "CAST(NULL AS VARCHAR) AS entity_name WHERE FALSE",
    ):
        con.execute(sql)
    register_name_key(con)
    con.execute(
        f"CREATE TEMP TABLE employer_name_map AS SELECT {name_key_sql('name')} AS name_key, "
        "min(registration_no) AS employer_id FROM org GROUP BY 1"
    )
    con.execute(
        f"CREATE TEMP TABLE recruiter_name_map AS SELECT {name_key_sql('name')} AS name_key, "
        "min(recruiter_ref) AS recruiter_id FROM registry GROUP BY 1"
    )


def test_numbers_and_spelling_decide_the_link() -> None:
    con = duckdb.connect()
    _tables(
        con,
        ["Golden Agri Harvest 12 Ltd", "Golden Agri Harvest 13 Ltd", "Silver Marine Catch Co", "Amber Fishing Fleet"],
        [
            "GOLDEN AGRI HARVEST 12 LIMITED",  # exact key
            "Golen Agri Harvest 12 Ltd",  # one character dropped: merged with 12, not 13
            "Golden Agri Harvest 14 Ltd",  # another number: a different organisation, not linked
            "Ambre Fishing Fleet",  # two characters swapped: merged
            "Silvr Marin Catch Co",  # two characters dropped: possibly the same
            "Crystal Textile Mills",  # nothing like it
        ],
    )
    reports = resolve_names(con)
    assert reports[0] == ResolutionReport("employer", names=6, matched_exact=1, matched_fuzzy=2, possible=1)
    assert reports[1] == ResolutionReport("recruiter", names=0, matched_exact=0, matched_fuzzy=0, possible=0)
    mapped = dict(con.execute("SELECT name_key, employer_id FROM employer_name_map").fetchall())
    assert mapped["golen agri harvest 12"] == "RN0"
    assert mapped["ambre fishing fleet"] == "RN3"
    assert "golden agri harvest 14" not in mapped and "silvr marin catch" not in mapped
    possible = con.execute("SELECT kind, name_key, entity_id FROM possible_links").fetchall()
    assert possible == [("employer", "silvr marin catch", "RN2")]


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError):
        resolve_names(duckdb.connect(), merge_threshold=0.4, possible_threshold=0.5)


@pytest.fixture(scope="module")
def displaced_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Lake]]:
    """A tiny world where every sanctioned employer re-registers (displacement_share 1) and inspections find
    more (so more are sanctioned); only the register and the outcomes are ingested."""
    from simulator.config import load_config
    from simulator.world import simulate_world

    folder = tmp_path_factory.mktemp("displaced")
    config = folder / "displacement.toml"
    config.write_text("[realism]\ndisplacement_share = 1.0\ndetection_probability = 0.8\n")
    world = folder / "world"
    simulate_world("tiny", 1, world, load_config(config), workers=1)
    lake = Lake(folder / "home")
    source = load_source("synthetic", world)
    for f in source.files(world):
        if f.record_type in ("organisation", "enforcement_outcome"):
            ingest_file(lake, f, source, datetime(2026, 11, 1), KEY)
    yield world, lake
    lake.close()


def test_re_registered_employers_are_linked_back_to_their_past(displaced_world: tuple[Path, Lake]) -> None:
    """Displacement: a sanctioned employer re-registered under a new name keeps a director, phone or
    address; the "possibly the same" links must tie at least half of the successors back to their predecessor."""
    world, lake = displaced_world
    successors = {
        (r["registration_no"], r["successor_of"])
        for r in load_truth(world, "employers").to_pylist()
        if r["successor_of"]
    }
    con = _views(lake)
    links = {(a, b) for a, b in con.execute("SELECT registration_no, other_id FROM org_links").fetchall()}
    con.close()
    linked = sum(pair in links for pair in successors)
    print(f"re-registered employers linked to their predecessor: {linked} of {len(successors)}")
    assert len(successors) >= 3, "the displaced world should re-register several sanctioned employers"
    assert linked >= 0.5 * len(successors)
