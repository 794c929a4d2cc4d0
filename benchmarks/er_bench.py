"""Entity resolution benchmark: ``python -m benchmarks.er_bench --home HOME --world WORLD --as-of DATE --json FILE``.

Over an ingested lake: the point-in-time views with exact-key matching only (``create_views(resolve=False)``),
then Splink (``resolve_names``, DuckDB backend) timed on its own. Name keys on records are measured against the
simulator's identity map (the world's truth; the same measure as tests/features/test_entity_resolution.py):
pairwise precision and recall over the pairs of name keys put in one entity, before and after Splink; and per
script of the names on records (``by_script``, see ``per_script``): precision and recall of the spellings
attached to their true entity, with the 'possibly the same' links of each script's spellings after Splink.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rigour.text.scripts import text_scripts

from data_contracts.lake import Lake
from data_contracts.names import name_key
from features.entity_resolution import (
    NAME_SOURCES,
    REGISTERS,
    Kind,
    pairwise_accuracy,
    resolve_names,
    seen_name_keys,
)
from features.registry import INDICATORS
from features.views import create_views
from simulator.truth import load_truth

KINDS: tuple[Kind, ...] = ("employer", "recruiter")
# Records whose names are resolved (entity_resolution.NAME_SOURCES) and the registers they are resolved against.
NAME_RECORD_TYPES = ("visa_application", "labour_inspection", "enforcement_outcome", "organisation", "recruiter")


def pairwise(con: duckdb.DuckDBPyConnection, world: Path, kind: Kind) -> dict[str, float]:
    """Pairwise precision / recall of the name keys seen on records, grouped by the map's entity (an unmatched key
    is its own entity) against the keys grouped by their true entity."""
    id_column = "registration_no" if kind == "employer" else "recruiter_ref"
    true: dict[str, set[str]] = defaultdict(set)
    for r in load_truth(world, f"{kind}_names").to_pylist():
        true[name_key(r["name_variant"])].add(r[id_column])
    _, _, name_map, map_id = REGISTERS[kind]
    predicted = dict(con.execute(f"SELECT name_key, {map_id} FROM {name_map}").fetchall())
    table = seen_name_keys(con, kind, "__bench_seen")
    seen = sorted(r[0] for r in con.execute(f"SELECT name_key FROM {table}").fetchall() if r[0] in true)
    con.execute(f"DROP TABLE {table}")

    precision, recall = pairwise_accuracy(
        {k: predicted.get(k, f"unregistered:{k}") for k in seen}, {k: min(true[k]) for k in seen}
    )
    return {
        "keys": float(len(seen)),
        "precision": precision,
        "recall": recall,
    }


def script_of(name: str) -> str:
    """The script a name is written in: its non-Latin script if it has one (the first by name if several),
    'Latin', or 'none' for a name without letters."""
    scripts = text_scripts(name) - {"Common", "Inherited"}
    other = sorted(scripts - {"Latin"})
    return other[0] if other else ("Latin" if scripts else "none")


def per_script(con: duckdb.DuckDBPyConnection, world: Path, kind: Kind, possible: bool) -> dict[str, dict[str, float]]:
    """Per script of the names on records (``script_of`` each distinct spelling): how many spellings, and as
    tests/features/test_entity_resolution.py measures keys: precision (of the spellings the map attaches to an
    entity, the share attached to their true entity) and recall (of the spellings whose true entity is in the
    register, the share attached to it). With ``possible`` (after ``resolve_names``), also the 'possibly the
    same' links from those spellings' keys: how many, the share pointing to the true entity, and the share of
    the spellings left unattached to their registered true entity that have a possible link to it."""
    register, register_id, name_map, map_id = REGISTERS[kind]
    id_column = "registration_no" if kind == "employer" else "recruiter_ref"
    true: dict[str, set[str]] = defaultdict(set)
    for r in load_truth(world, f"{kind}_names").to_pylist():
        true[name_key(r["name_variant"])].add(r[id_column])
    spellings = " UNION ".join(
        f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL AND {where}"
        for table, column, where in NAME_SOURCES[kind]
    )
    by_script: dict[str, list[str]] = defaultdict(list)  # script -> the keys of its spellings (one per spelling)
    for (name,) in con.execute(spellings).fetchall():
        key = name_key(name)
        if key in true:
            by_script[script_of(name)].append(key)
    predicted = dict(con.execute(f"SELECT name_key, {map_id} FROM {name_map}").fetchall())
    registered = {r[0] for r in con.execute(f"SELECT {register_id} FROM {register}").fetchall()}
    links: dict[str, list[str]] = defaultdict(list)
    if possible:
        query = "SELECT name_key, entity_id FROM possible_links WHERE kind = $kind"
        for key, entity in con.execute(query, {"kind": kind}).fetchall():
            links[key].append(entity)
    out: dict[str, dict[str, float]] = {}
    for script, keys in sorted(by_script.items()):
        assigned = [k for k in keys if k in predicted]
        linkable = [k for k in keys if true[k] & registered]
        row = {
            "names": float(len(keys)),
            "precision": sum(predicted[k] in true[k] for k in assigned) / len(assigned) if assigned else 1.0,
            "recall": sum(predicted.get(k) in true[k] for k in linkable) / len(linkable) if linkable else 1.0,
        }
        if possible:
            from_script = [(k, e) for k in keys for e in links.get(k, [])]
            unattached = [k for k in linkable if predicted.get(k) not in true[k]]
            row["possible_links"] = float(len(from_script))
            row["possible_precision"] = (
                sum(e in true[k] for k, e in from_script) / len(from_script) if from_script else 1.0
            )
            row["possible_recall"] = (
                sum(any(e in true[k] for e in links.get(k, [])) for k in unattached) / len(unattached)
                if unattached
                else 1.0
            )
        out[script] = row
    return out


def measure(home: Path, world: Path, as_of: date) -> dict[str, Any]:
    lake = Lake(home)
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        records = 0
        for record_type in NAME_RECORD_TYPES:
            sql = lake.current_sql(record_type)
            records += int(con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]) if sql else 0
        window = max(i.window_days for i in INDICATORS)
        started = time.perf_counter()
        create_views(con, lake, as_of, window, resolve=False)
        exact_s = time.perf_counter() - started
        before = {kind: pairwise(con, world, kind) for kind in KINDS}
        before_scripts = {kind: per_script(con, world, kind, possible=False) for kind in KINDS}
        started = time.perf_counter()
        reports = resolve_names(con)
        splink_s = time.perf_counter() - started
        after = {kind: pairwise(con, world, kind) for kind in KINDS}
        after_scripts = {kind: per_script(con, world, kind, possible=True) for kind in KINDS}
    finally:
        con.close()
        lake.close()
    return {
        "records": records,
        "exact_seconds": exact_s,
        "splink_seconds": splink_s,
        "before": before,
        "after": after,
        "fuzzy_links": {r.kind: r.matched_fuzzy for r in reports},
        "possible_links": {r.kind: r.possible for r in reports},
        "by_script": {"before": before_scripts, "after": after_scripts},
    }


def main(
    home: Annotated[Path, typer.Option()],
    world: Annotated[Path, typer.Option()],
    as_of: Annotated[str, typer.Option("--as-of")],
    json_path: Annotated[Path, typer.Option("--json")],
) -> None:
    result = measure(home, world, date.fromisoformat(as_of))
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
