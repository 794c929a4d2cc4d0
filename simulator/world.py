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
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulator import text
from simulator.actors import AGENCY_TYPES, LICENCE_STATUSES, NEVER, ORIGIN_COUNTRIES, Actors, build_actors, side_stream
from simulator.chunk import ChunkBuilder, _where, outcome_table
from simulator.config import EMPLOYERS_PER_SCALE, SimulationConfig
from simulator.mess import apply_mess
from simulator.schema import EXPORT_TABLES
from simulator.scripts import ORIGIN_SCRIPT, script_index

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
    days = cfg.world.years * 365
    n_rec = a.n_recruiters
    placed = np.zeros(n_rec)
    for r, c in findings.items():
        placed[r] = c
    licensed = a.rec_licence_status != LICENCE_STATUSES.index("none")
    # A licence is revoked after it was granted, within the window.
    revoke_day = np.maximum(rng.integers(days // 4, days, n_rec), a.rec_licence_from + 30)
    revoked = licensed & (rng.random(n_rec) < 1 - np.exp(-0.6 * placed)) & (revoke_day < days)
    convicted = a.rec_abusive & (rng.random(n_rec) < 0.03 + 0.05 * np.minimum(placed, 4))
    complaints = rng.poisson(cfg.world.years * (0.05 + 0.6 * a.rec_intensity))
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
    registry = _registry_versions(cfg, a, licensed, revoked, revoke_day, moves, canonical, cal, side_stream(rng, 96))

    parts: list[pa.Table] = []

    def outcomes(
        entity_type: str,
        ref: pa.Array,
        name: pa.Array | None,
        idx: np.ndarray,
        day: np.ndarray,
        kind: int,
        body: int,
    ) -> None:
        n = len(idx)
        entity_name = name.take(pa.array(idx)) if name is not None else pa.nulls(n, type=pa.string())
        parts.append(
            outcome_table(
                pa.nulls(n, type=pa.string()),
                pa.nulls(n, type=pa.string()),
                entity_type,
                ref.take(pa.array(idx)),
                entity_name,
                cal.date(day),
                np.full(n, kind),
                np.full(n, body),
                day,
            )
        )

    rec_position = text.choose_variant(rng, np.arange(n_rec), variant)
    rec_scripted = script_index(ORIGIN_SCRIPT, ORIGIN_COUNTRIES, a.rec_origin) != 0
    rec_position = text.in_script(side_stream(rng, 93), rec_position, cfg.realism.name_script_share, rec_scripted)
    rec_name_variant = a.rec_names.take(pa.array(rec_position))
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
                    a.rec_successor_ref,
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
    return {"recruiter": registry, "enforcement_outcome": _numbered_outcomes(pa.concat_tables(parts), rng)}, truth


def _numbered_outcomes(outcomes: pa.Table, rng: np.random.Generator) -> pa.Table:
    """The outcomes with record and outcome ids numbered in the order of their decision day."""
    serial = text.chronological_rank(outcomes.column("_day").to_numpy(), side_stream(rng, 95))
    outcomes = outcomes.set_column(0, "record_id", text.padded_ids("EOG", serial, 9))
    return outcomes.set_column(1, "outcome_id", text.padded_ids("OUTG", serial, 9))


ACTIVE, EXPIRED, SUSPENDED, REVOKED, NO_LICENCE = (LICENCE_STATUSES.index(s) for s in LICENCE_STATUSES)
STATUS_HISTORY_DAYS = 3 * 365  # a suspension or revocation in force at the window start happened this far back at most


def _registry_versions(
    cfg: SimulationConfig,
    a: Actors,
    licensed: np.ndarray,
    revoked: np.ndarray,
    revoke_day: np.ndarray,
    moves: np.ndarray,
    successor_names: pa.Array,
    cal: text.Calendar,
    rng: np.random.Generator,
) -> pa.Table:
    """The recruiter register as it publishes its history: one row per version of a registration, each with
    the day it took effect (``status_since``). Versions: registration (licensed: active; else none), the
    licence status a recruiter had come to (expiry on its licence's end, a suspension or revocation on a day
    drawn before the window end), a revocation after placements at employers referred for forced labour
    (``revoke_day``), the licence lapsing when the recruiter goes on unlicensed (Actors.rec_shift_day), and a
    renaming (realism.recruiter_rename_share: the registered name changes to one of its variants). Successors
    of revoked recruiters (``moves``) register once, licensed."""
    days = cfg.world.years * 365
    reg_rows = np.flatnonzero(a.rec_in_registry)
    k = len(moves)
    # Registrants: registered recruiters, then the successors.
    rec = np.concatenate([reg_rows, moves])
    successor = np.concatenate([np.zeros(len(reg_rows), dtype=bool), np.ones(k, dtype=bool)])
    registered_on = np.concatenate([a.rec_registered_on[reg_rows], revoke_day[moves] + 60])
    licence_from = np.concatenate([a.rec_licence_from[reg_rows], revoke_day[moves] + 90])
    licence_to = np.concatenate([a.rec_licence_to[reg_rows], revoke_day[moves] + 90 + 3 * 365])
    has_licence = np.concatenate([licensed[reg_rows], np.ones(k, dtype=bool)])
    initial = np.concatenate([a.rec_licence_status[reg_rows], np.full(k, ACTIVE)])
    status_day = np.maximum(registered_on, -STATUS_HISTORY_DAYS) + (
        rng.random(len(rec)) * (days - np.maximum(registered_on, -STATUS_HISTORY_DAYS))
    ).astype(np.int64)
    renamed = ~successor & (rng.random(len(rec)) < cfg.realism.recruiter_rename_share)
    rename_day = np.maximum(registered_on, 0) + (rng.random(len(rec)) * (days - np.maximum(registered_on, 0))).astype(
        np.int64
    )
    rename_variant = rng.integers(1, text.SCRIPT_VARIANT, len(rec))  # renamed to a Latin variant

    who: list[int] = []
    since: list[int] = []
    status: list[int] = []
    valid_to: list[int] = []
    variant: list[int] = []
    for j in range(len(rec)):
        r = int(rec[j])
        events: list[tuple[int, int, int, int]] = []  # (day, status or -1 for a renaming, valid_to, variant)
        if has_licence[j]:
            if initial[j] == EXPIRED:
                events.append((max(int(licence_to[j]), int(registered_on[j])), EXPIRED, int(licence_to[j]), -1))
            elif initial[j] in (SUSPENDED, REVOKED):
                ended = int(status_day[j]) if initial[j] == REVOKED else int(licence_to[j])
                events.append((int(status_day[j]), int(initial[j]), ended, -1))
            if not successor[j] and revoked[r]:
                events.append((int(revoke_day[r]), REVOKED, int(revoke_day[r]), -1))
            if not successor[j] and a.rec_shift_day[r] < NEVER:
                events.append((int(a.rec_shift_day[r]), EXPIRED, int(a.rec_shift_day[r]), -1))
        if renamed[j]:
            events.append((int(rename_day[j]), -1, -1, int(rename_variant[j])))
        events = sorted(e for e in events if e[0] < days)  # the export holds what happened by the window end
        current = (ACTIVE if has_licence[j] else NO_LICENCE, int(licence_to[j]), 0)
        who.append(j)
        since.append(int(registered_on[j]))
        status.append(current[0])
        valid_to.append(current[1])
        variant.append(current[2])
        for day, new_status, ends, new_variant in events:
            if new_status >= 0:
                if current[0] not in (ACTIVE, SUSPENDED):  # a licence already ended is not ended again
                    continue
                current = (new_status, ends, current[2])
            else:
                current = (current[0], current[1], new_variant)
            who.append(j)
            since.append(max(day, int(registered_on[j])))
            status.append(current[0])
            valid_to.append(current[1])
            variant.append(current[2])
    row = np.array(who, dtype=np.int64)
    since_day = np.array(since, dtype=np.int64)
    r_of = rec[row]
    succ = successor[row]
    names = pa.concat_arrays([a.rec_names, successor_names.cast(pa.string()) if k else pa.array([], type=pa.string())])
    succ_pos = np.cumsum(successor) - 1  # position among the successors
    name_pos = np.where(
        succ, len(a.rec_names) + succ_pos[row], r_of * text.N_VARIANTS + np.array(variant, dtype=np.int64)
    )
    # Registry and licence numbers: the recruiter's own, after them its successor's.
    number = np.where(succ, a.n_recruiters + r_of, r_of)
    licence_id = pa.concat_arrays([a.rec_licence_id, a.rec_successor_licence_id])
    has = has_licence[row]
    n = len(row)
    return pa.table(
        {
            # Register rows are numbered in no meaningful order.
            "record_id": text.padded_ids("REC", rng.permutation(n), 9),
            "recruiter_ref": pa.concat_arrays([a.rec_ref, a.rec_successor_ref]).take(pa.array(number)),
            "name": names.take(pa.array(name_pos)),
            "agency_type": text.pick(text.strings(AGENCY_TYPES), a.rec_type[r_of]),
            "country": text.pick(text.strings(ORIGIN_COUNTRIES), a.rec_origin[r_of]),
            "address": a.rec_address.take(pa.array(r_of)),
            "phone": a.rec_phone.take(pa.array(r_of)),
            "directors": pc.if_else(
                pa.array(succ), a.rec_network_director.take(pa.array(r_of)), a.rec_directors.take(pa.array(r_of))
            ),
            "licence_id": _where(pa.array(has), licence_id.take(pa.array(number))),
            "licence_status": text.pick(text.strings(LICENCE_STATUSES), np.array(status, dtype=np.int64)),
            "licence_valid_from": _where(pa.array(has), cal.date(licence_from[row])),
            "licence_valid_to": _where(pa.array(has), cal.date(np.array(valid_to, dtype=np.int64))),
            "declared_fee_to_workers_usd": pa.array(a.rec_declared_fee[r_of]),
            "registered_on": cal.date(registered_on[row]),
            "status_since": cal.date(since_day),
            "_day": pa.array(np.maximum(since_day, 0)),
        }
    )


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
