"""Write a whole synthetic world: ``OUT/export/`` (what agencies export), ``OUT/truth/`` (the planted
latent truth, never to be read by training or feature code) and ``OUT/manifest.json``.

Chunks of employers are generated in worker processes, each from its own random stream, and each
writes its own part files; the output is byte-identical for a seed and config whatever the number of
workers.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulator import text
from simulator.actors import Actors, build_actors
from simulator.chunk import ChunkBuilder
from simulator.config import EMPLOYERS_PER_SCALE, SimulationConfig
from simulator.draws import side_stream
from simulator.mess import apply_mess
from simulator.outcomes import numbered_outcomes, official_outcomes, official_truth, recruiter_outcomes
from simulator.register import recruiter_sanctions, recruiter_truth, registry_versions
from simulator.schema import EXPORT_TABLES

FileFormat = Literal["parquet", "csv"]
EXPORT_DIR = "export"
TRUTH_DIR = "truth"  # hidden truth: only simulator.truth and evaluation against truth may read it


@dataclass(frozen=True)
class WorldSummary:
    out: Path
    records: dict[str, int]  # rows written per export table (duplicates included)
    chunks: int

    @property
    def truth_dir(self) -> Path:
        return self.out / TRUTH_DIR

    @property
    def total_records(self) -> int:
        return sum(self.records.values())


# Set in the parent before the worker pool forks; read-only in workers.
_STATE: dict[str, object] = {}


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _write(table: pa.Table, path: Path, fmt: FileFormat) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        pacsv.write_csv(table, path.with_suffix(".csv"))
    else:
        # Dictionary pages only for the dictionary-encoded (low-cardinality) columns: trying them on ids
        # and timestamps costs time and saves nothing.
        dictionary = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
        table = pa.table(
            {
                name: text.normalise_dictionary(table.column(name)) if name in dictionary else table.column(name)
                for name in table.column_names
            }
        )
        pq.write_table(
            table,
            path.with_suffix(".parquet"),
            compression="none",  # fastest to write; about 4x the size of snappy
            write_statistics=False,
            store_schema=False,
            use_dictionary=dictionary,
        )


def _write_export(name: str, table: pa.Table, part: str, rng: np.random.Generator) -> int:
    cfg: SimulationConfig = _STATE["cfg"]  # type: ignore[assignment]
    out: Path = _STATE["out"]  # type: ignore[assignment]
    fmt: FileFormat = _STATE["fmt"]  # type: ignore[assignment]
    spec = EXPORT_TABLES[name]
    mess = apply_mess(spec, table, rng, cfg.realism, cfg.world.start_date, cfg.world.years)
    _write(mess.table.select(spec.column_names), out / EXPORT_DIR / name / part, fmt)
    if mess.malformed.num_rows:
        _write(mess.malformed, out / TRUTH_DIR / "malformed" / name / part, "parquet")
    if mess.duplicates.num_rows:
        _write(mess.duplicates, out / TRUTH_DIR / "duplicates" / name / part, "parquet")
    return int(mess.table.num_rows)


def _run_chunk(chunk: int) -> tuple[dict[str, int], dict[int, int]]:
    cfg: SimulationConfig = _STATE["cfg"]  # type: ignore[assignment]
    actors: Actors = _STATE["actors"]  # type: ignore[assignment]
    seed: int = _STATE["seed"]  # type: ignore[assignment]
    n_emp: int = _STATE["n_emp"]  # type: ignore[assignment]
    out: Path = _STATE["out"]  # type: ignore[assignment]
    per = cfg.world.employers_per_chunk
    first = chunk * per
    count = min(per, n_emp - first)
    cal = text.Calendar(cfg.world.start_date, cfg.world.years * 365)
    builder = ChunkBuilder(cfg, actors, chunk, first, count, _stream(seed, 1, chunk), cal)
    result = builder.build()
    part = f"part-{chunk:05d}"
    mess_rng = _stream(seed, 2, chunk)
    counts = {name: _write_export(name, table, part, mess_rng) for name, table in result.tables.items()}
    for name, table in result.truth.items():
        _write(table, out / TRUTH_DIR / name / part, "parquet")
    return counts, result.recruiter_findings


def _global_tables(
    cfg: SimulationConfig, a: Actors, findings: dict[int, int], rng: np.random.Generator, cal: text.Calendar
) -> tuple[dict[str, pa.Table], dict[str, pa.Table]]:
    """Recruiter registry and the outcomes on recruiters, desks, border officers and inspectors."""
    sanctions = recruiter_sanctions(cfg, a, findings, rng)
    registry = registry_versions(cfg, a, sanctions, cal, side_stream(rng, 96))
    outcomes = recruiter_outcomes(cfg, a, sanctions, rng, cal) + official_outcomes(a, cfg.world.years * 365, rng, cal)
    truth = {**recruiter_truth(a, sanctions), **official_truth(a)}
    return {"recruiter": registry, "enforcement_outcome": numbered_outcomes(pa.concat_tables(outcomes), rng)}, truth


def simulate_world(
    scale: str,
    seed: int,
    out: Path,
    cfg: SimulationConfig | None = None,
    fmt: FileFormat = "parquet",
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> WorldSummary:
    """Generate the world for ``scale`` and ``seed`` into ``out`` (replacing what was there)."""
    cfg = cfg or SimulationConfig()
    if scale not in EMPLOYERS_PER_SCALE:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(EMPLOYERS_PER_SCALE)}")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    for sub in (EXPORT_DIR, TRUTH_DIR):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)
    n_emp = EMPLOYERS_PER_SCALE[scale]
    actors = build_actors(cfg, scale, _stream(seed, 0))
    _STATE.update(cfg=cfg, actors=actors, seed=seed, n_emp=n_emp, out=out, fmt=fmt)
    n_chunks = -(-n_emp // cfg.world.employers_per_chunk)
    records: dict[str, int] = {name: 0 for name in EXPORT_TABLES}
    findings: dict[int, int] = {}
    for done, (counts, rf) in enumerate(_map_chunks(n_chunks, workers), start=1):
        for name, c in counts.items():
            records[name] += c
        for r, c in rf.items():
            findings[r] = findings.get(r, 0) + c
        if progress:
            progress(done, n_chunks + 1)
    cal = text.Calendar(cfg.world.start_date, cfg.world.years * 365)
    global_rng = _stream(seed, 3)
    tables, truth = _global_tables(cfg, actors, findings, global_rng, cal)
    for name, table in tables.items():
        records[name] += _write_export(name, table, "part-global", _stream(seed, 4))
    for name, table in truth.items():
        _write(table, out / TRUTH_DIR / name, "parquet")
    manifest = {
        "scale": scale,
        "seed": seed,
        "format": fmt,
        "employers": n_emp,
        "chunks": n_chunks,
        "start_date": cfg.world.start_date,
        "years": cfg.world.years,
        "records": records,
        "total_records": sum(records.values()),
        "config": cfg.model_dump(mode="json"),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if progress:
        progress(n_chunks + 1, n_chunks + 1)
    _STATE.clear()
    return WorldSummary(out=out, records=records, chunks=n_chunks)


def _map_chunks(n_chunks: int, workers: int) -> Iterator[tuple[dict[str, int], dict[int, int]]]:
    if workers <= 1 or n_chunks == 1:
        for c in range(n_chunks):
            yield _run_chunk(c)
        return
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield from pool.map(_run_chunk, range(n_chunks))
