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
from simulator.actors import AGENCY_TYPES, LICENCE_STATUSES, NEVER, ORIGIN_COUNTRIES, Actors, build_actors
from simulator.chunk import ChunkBuilder, _where, outcome_table
from simulator.config import EMPLOYERS_PER_SCALE, SimulationConfig
from simulator.mess import apply_mess
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
    start_year = int(cfg.world.start_date[:4])
    mess = apply_mess(spec, table, rng, cfg.realism, start_year, cfg.world.years)
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
    days = cfg.world.years * 365
    n_rec = a.n_recruiters
    placed = np.zeros(n_rec)
    for r, c in findings.items():
        placed[r] = c
    licensed = a.rec_licence_status != LICENCE_STATUSES.index("none")
    revoked = licensed & (rng.random(n_rec) < 1 - np.exp(-0.6 * placed))
    revoke_day = rng.integers(days // 4, days, n_rec)
    convicted = a.rec_abusive & (rng.random(n_rec) < 0.03 + 0.05 * np.minimum(placed, 4))
    complaints = rng.poisson(cfg.world.years * (0.05 + 0.6 * a.rec_abusive))
    variant = cfg.realism.name_variant_share

    # Displacement: revoked abusive recruiters re-register under a new name, keeping phone / director; those
    # that go on unlicensed under a new name instead (Actors.rec_shift_day) do not.
    moves = np.flatnonzero(
        revoked
        & a.rec_abusive
        & (rng.random(n_rec) < cfg.realism.displacement_share)
        & (revoke_day + 60 < days)
        & (revoke_day + 60 >= cfg.realism.displacement_start_day)
    )
    canonical, _base, _suffix = text.recruiter_names(rng, len(moves))
    registers = a.rec_shift_day[moves] >= NEVER
    moves, canonical = moves[registers], canonical.filter(pa.array(registers))
    k = len(moves)
    # A recruiter that goes on unlicensed lets its registered licence lapse on the day it does.
    licence_to = np.where(revoked, revoke_day, a.rec_licence_to)
    licence_to = np.where(licensed, np.minimum(licence_to, a.rec_shift_day), licence_to)
    reg_rows = np.flatnonzero(a.rec_in_registry)
    status_text = text.strings(LICENCE_STATUSES)
    status = np.where(revoked, LICENCE_STATUSES.index("revoked"), a.rec_licence_status)
    registry = pa.table(
        {
            "record_id": text.padded_ids("REC", np.arange(len(reg_rows) + k), 9),
            "recruiter_ref": pa.concat_arrays(
                [a.rec_ref.take(pa.array(reg_rows)), text.padded_ids("RA", 5_000_000 + moves, 7)]
            ),
            "name": pa.concat_arrays([a.rec_names.take(pa.array(reg_rows * text.N_VARIANTS)), canonical]),
            "agency_type": text.pick(
                text.strings(AGENCY_TYPES), np.concatenate([a.rec_type[reg_rows], a.rec_type[moves]])
            ),
            "country": text.pick(
                text.strings(ORIGIN_COUNTRIES), np.concatenate([a.rec_origin[reg_rows], a.rec_origin[moves]])
            ),
            "address": pa.concat_arrays([a.rec_address.take(pa.array(reg_rows)), a.rec_address.take(pa.array(moves))]),
            "phone": pa.concat_arrays([a.rec_phone.take(pa.array(reg_rows)), a.rec_phone.take(pa.array(moves))]),
            "directors": pa.concat_arrays(
                [a.rec_directors.take(pa.array(reg_rows)), a.rec_network_director.take(pa.array(moves))]
            ),
            "licence_id": pa.concat_arrays(
                [
                    _where(pa.array(licensed[reg_rows]), a.rec_licence_id.take(pa.array(reg_rows))),
                    text.padded_ids("LIC-", 20_000_000 + moves, 8),
                ]
            ),
            "licence_status": text.pick(status_text, np.concatenate([status[reg_rows], np.zeros(k, dtype=np.int64)])),
            "licence_valid_from": pa.concat_arrays(
                [
                    _where(pa.array(licensed[reg_rows]), cal.date(a.rec_licence_from[reg_rows])),
                    cal.date(revoke_day[moves] + 90),
                ]
            ),
            "licence_valid_to": pa.concat_arrays(
                [
                    _where(pa.array(licensed[reg_rows]), cal.date(licence_to[reg_rows])),
                    cal.date(revoke_day[moves] + 90 + 3 * 365),
                ]
            ),
            "declared_fee_to_workers_usd": pa.array(
                np.concatenate([a.rec_declared_fee[reg_rows], a.rec_declared_fee[moves]])
            ),
            "registered_on": pa.concat_arrays(
                [cal.date(a.rec_registered_on[reg_rows]), cal.date(revoke_day[moves] + 60)]
            ),
            "_day": pa.array(np.concatenate([np.maximum(a.rec_registered_on[reg_rows], 0), revoke_day[moves] + 60])),
        }
    )

    parts: list[pa.Table] = []
    serial = 0

    def outcomes(
        entity_type: str,
        ref: pa.Array,
        name: pa.Array | None,
        idx: np.ndarray,
        day: np.ndarray,
        kind: int,
        body: int,
    ) -> None:
        nonlocal serial
        n = len(idx)
        ids = np.arange(serial, serial + n)
        serial += n
        entity_name = name.take(pa.array(idx)) if name is not None else pa.nulls(n, type=pa.string())
        parts.append(
            outcome_table(
                text.padded_ids("EOG", ids, 9),
                text.padded_ids("OUTG", ids, 9),
                entity_type,
                ref.take(pa.array(idx)),
                entity_name,
                cal.date(day),
                np.full(n, kind),
                np.full(n, body),
                day,
            )
        )

    rec_name_variant = a.rec_names.take(pa.array(text.choose_variant(rng, np.arange(n_rec), variant)))
    outcomes("recruiter", a.rec_ref, rec_name_variant, np.flatnonzero(revoked), revoke_day[revoked], 2, 1)
    conv = np.flatnonzero(convicted)
    outcomes("recruiter", a.rec_ref, rec_name_variant, conv, rng.integers(days // 3, days, len(conv)), 4, 2)
    ce = np.repeat(np.arange(n_rec), complaints)
    outcomes("recruiter", a.rec_ref, rec_name_variant, ce, rng.integers(0, days, len(ce)), 5, 3)
    # Integrity cases on officials: most corrupt officials are never caught (incomplete labels).
    desk_ref = text.join(a.post_code.take(pa.array(a.desk_post)), ":", a.desk_officer)
    caught = np.flatnonzero(rng.random(len(a.desk_post)) < np.where(a.desk_corrupt, 0.35, 0.005))
    outcomes("visa_desk", desk_ref, None, caught, rng.integers(days // 6, days, len(caught)), 3, 7)
    officer_ref = text.join(a.bpost_code.take(pa.array(a.officer_bpost)), ":", a.officer_badge)
    caught = np.flatnonzero(rng.random(len(a.officer_bpost)) < np.where(a.officer_corrupt, 0.3, 0.005))
    outcomes("border_post", officer_ref, None, caught, rng.integers(days // 6, days, len(caught)), 3, 7)
    caught = np.flatnonzero(rng.random(len(a.inspector_region)) < np.where(a.inspector_corrupt, 0.25, 0.005))
    outcomes("inspector", a.inspector_badge, None, caught, rng.integers(days // 6, days, len(caught)), 3, 7)

    truth = {
        "recruiters": pa.table(
            {
                "recruiter_ref": a.rec_ref,
                "abusive": pa.array(a.rec_abusive),
                "agency_type": text.pick(text.strings(AGENCY_TYPES), a.rec_type),
                "in_registry": pa.array(a.rec_in_registry),
                "successor_ref": _where(
                    pa.array(np.isin(np.arange(n_rec), moves)),
                    text.padded_ids("RA", 5_000_000 + np.arange(n_rec), 7),
                ),
                **_shift_truth(a),
            }
        ),
        "recruiter_names": _recruiter_names_truth(a),
        "visa_desks": pa.table({"desk_ref": desk_ref, "corrupt": pa.array(a.desk_corrupt)}),
        "border_officers": pa.table(
            {
                "officer_ref": officer_ref,
                "corrupt": pa.array(a.officer_corrupt),
                "night_shift": pa.array(a.officer_night),
            }
        ),
        "inspectors": pa.table({"inspector_badge_no": a.inspector_badge, "corrupt": pa.array(a.inspector_corrupt)}),
    }
    return {"recruiter": registry, "enforcement_outcome": pa.concat_tables(parts)}, truth


def _shift_truth(a: Actors) -> dict[str, pa.Array]:
    """Truth columns of the recruiters that go on unlicensed under a new name (none: no column, as before)."""
    moved = a.rec_shift_day < NEVER
    if not moved.any():
        return {}
    return {
        "unlicensed_from_day": pa.array(a.rec_shift_day, mask=~moved),
        "unlicensed_name": _where(
            pa.array(moved), a.rec_new_names.take(pa.array(np.arange(a.n_recruiters) * text.N_VARIANTS))
        ),
    }


def _recruiter_names_truth(a: Actors) -> pa.Table:
    """Every name variant each recruiter used: its registered name's, then (variants N_VARIANTS and up) the new
    name's of those that went on unlicensed under a new name."""
    n_rec = a.n_recruiters
    rows = np.repeat(np.arange(n_rec), text.N_VARIANTS)
    shifted = np.repeat(np.flatnonzero(a.rec_shift_day < NEVER), text.N_VARIANTS)
    offsets = np.tile(np.arange(text.N_VARIANTS), len(shifted) // text.N_VARIANTS)
    return pa.table(
        {
            "recruiter_ref": a.rec_ref.take(pa.array(np.concatenate([rows, shifted]))),
            "name_variant": pa.concat_arrays(
                [a.rec_names, a.rec_new_names.take(pa.array(shifted * text.N_VARIANTS + offsets))]
            ),
            "variant": pa.array(
                np.concatenate([np.tile(np.arange(text.N_VARIANTS), n_rec), text.N_VARIANTS + offsets])
            ),
        }
    )


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
