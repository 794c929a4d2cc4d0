"""The recruiter register, the ``recruiter`` export: the sanctions that change it (revocations after
placements at employers referred for forced labour, and the successors that revoked abusive recruiters
register), every version of each registration, and the recruiters' truth tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator import text
from simulator.actors import Actors
from simulator.columns import where
from simulator.config import SimulationConfig
from simulator.geography import ORIGIN_COUNTRIES
from simulator.recruiters import AGENCY_TYPES, LICENCE_STATUSES
from simulator.text import NEVER

ACTIVE, EXPIRED, SUSPENDED, REVOKED, NO_LICENCE = (LICENCE_STATUSES.index(s) for s in LICENCE_STATUSES)
STATUS_HISTORY_DAYS = 3 * 365  # a suspension or revocation in force at the window start happened this far back at most


@dataclass(frozen=True)
class RecruiterSanctions:
    """What happened to each recruiter in the window (arrays per recruiter unless said)."""

    licensed: np.ndarray
    revoked: np.ndarray
    revoke_day: np.ndarray
    convicted: np.ndarray
    complaints: np.ndarray  # count
    moves: np.ndarray  # recruiters whose successor registers under a new name (indices)
    successor_names: pa.Array  # per move: its successor's name


def recruiter_sanctions(
    cfg: SimulationConfig, a: Actors, findings: dict[int, int], rng: np.random.Generator
) -> RecruiterSanctions:
    """Revocations (likelier after placements at referred employers, ``findings``), convictions, complaints,
    and the revoked abusive recruiters that re-register under a new name."""
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
    return RecruiterSanctions(
        licensed=licensed,
        revoked=revoked,
        revoke_day=revoke_day,
        convicted=convicted,
        complaints=complaints,
        moves=moves[registers],
        successor_names=canonical.filter(pa.array(registers)),
    )


@dataclass(frozen=True)
class _Registrations:
    """The register's registrations: registered recruiters, then the successors; with the draws that shape
    their history."""

    rec: np.ndarray  # recruiter index
    successor: np.ndarray
    registered_on: np.ndarray  # day offset
    licence_from: np.ndarray
    licence_to: np.ndarray
    has_licence: np.ndarray
    initial: np.ndarray  # licence status a registration came to (index into LICENCE_STATUSES)
    status_day: np.ndarray  # day a suspension or revocation took effect
    renamed: np.ndarray
    rename_day: np.ndarray
    rename_variant: np.ndarray


def _registrations(cfg: SimulationConfig, a: Actors, s: RecruiterSanctions, rng: np.random.Generator) -> _Registrations:
    days = cfg.world.years * 365
    reg_rows = np.flatnonzero(a.rec_in_registry)
    moves = s.moves
    k = len(moves)
    rec = np.concatenate([reg_rows, moves])
    registered_on = np.concatenate([a.rec_registered_on[reg_rows], s.revoke_day[moves] + 60])
    successor = np.concatenate([np.zeros(len(reg_rows), dtype=bool), np.ones(k, dtype=bool)])
    status_day = np.maximum(registered_on, -STATUS_HISTORY_DAYS) + (
        rng.random(len(rec)) * (days - np.maximum(registered_on, -STATUS_HISTORY_DAYS))
    ).astype(np.int64)
    renamed = ~successor & (rng.random(len(rec)) < cfg.realism.recruiter_rename_share)
    rename_day = np.maximum(registered_on, 0) + (rng.random(len(rec)) * (days - np.maximum(registered_on, 0))).astype(
        np.int64
    )
    return _Registrations(
        rec=rec,
        successor=successor,
        registered_on=registered_on,
        licence_from=np.concatenate([a.rec_licence_from[reg_rows], s.revoke_day[moves] + 90]),
        licence_to=np.concatenate([a.rec_licence_to[reg_rows], s.revoke_day[moves] + 90 + 3 * 365]),
        has_licence=np.concatenate([s.licensed[reg_rows], np.ones(k, dtype=bool)]),
        initial=np.concatenate([a.rec_licence_status[reg_rows], np.full(k, ACTIVE)]),
        status_day=status_day,
        renamed=renamed,
        rename_day=rename_day,
        rename_variant=rng.integers(1, text.SCRIPT_VARIANT, len(rec)),  # renamed to a Latin variant
    )


def _events(g: _Registrations, j: int, a: Actors, s: RecruiterSanctions, days: int) -> list[tuple[int, int, int, int]]:
    """Registration ``j``'s changes by the window end, in day order: (day, new licence status or -1 for a
    renaming, the licence's new end day, the new name variant)."""
    r = int(g.rec[j])
    events: list[tuple[int, int, int, int]] = []
    if g.has_licence[j]:
        if g.initial[j] == EXPIRED:
            events.append((max(int(g.licence_to[j]), int(g.registered_on[j])), EXPIRED, int(g.licence_to[j]), -1))
        elif g.initial[j] in (SUSPENDED, REVOKED):
            ended = int(g.status_day[j]) if g.initial[j] == REVOKED else int(g.licence_to[j])
            events.append((int(g.status_day[j]), int(g.initial[j]), ended, -1))
        if not g.successor[j] and s.revoked[r]:
            events.append((int(s.revoke_day[r]), REVOKED, int(s.revoke_day[r]), -1))
        if not g.successor[j] and a.rec_shift_day[r] < NEVER:
            events.append((int(a.rec_shift_day[r]), EXPIRED, int(a.rec_shift_day[r]), -1))
    if g.renamed[j]:
        events.append((int(g.rename_day[j]), -1, -1, int(g.rename_variant[j])))
    return sorted(e for e in events if e[0] < days)  # the export holds what happened by the window end


def _versions(g: _Registrations, a: Actors, s: RecruiterSanctions, days: int) -> dict[str, np.ndarray]:
    """One row per version of each registration: ``row`` (the registration), ``since`` (day it took effect),
    ``status``, ``valid_to`` (licence end day) and ``variant`` (of the registered name)."""
    columns: dict[str, list[int]] = {"row": [], "since": [], "status": [], "valid_to": [], "variant": []}

    def add(j: int, day: int, current: tuple[int, int, int]) -> None:
        for name, value in zip(columns, (j, day, *current), strict=True):
            columns[name].append(value)

    for j in range(len(g.rec)):
        current = (ACTIVE if g.has_licence[j] else NO_LICENCE, int(g.licence_to[j]), 0)
        add(j, int(g.registered_on[j]), current)
        for day, new_status, ends, new_variant in _events(g, j, a, s, days):
            if new_status >= 0:
                if current[0] not in (ACTIVE, SUSPENDED):  # a licence already ended is not ended again
                    continue
                current = (new_status, ends, current[2])
            else:
                current = (current[0], current[1], new_variant)
            add(j, max(day, int(g.registered_on[j])), current)
    return {name: np.array(values, dtype=np.int64) for name, values in columns.items()}


def registry_versions(
    cfg: SimulationConfig, a: Actors, s: RecruiterSanctions, cal: text.Calendar, rng: np.random.Generator
) -> pa.Table:
    """The recruiter register as it publishes its history: one row per version of a registration, each with
    the day it took effect (``status_since``). Versions: registration (licensed: active; else none), the
    licence status a recruiter had come to (expiry on its licence's end, a suspension or revocation on a day
    drawn before the window end), a revocation after placements at employers referred for forced labour
    (``revoke_day``), the licence lapsing when the recruiter goes on unlicensed (Actors.rec_shift_day), and a
    renaming (realism.recruiter_rename_share: the registered name changes to one of its variants). Successors
    of revoked recruiters (``moves``) register once, licensed."""
    g = _registrations(cfg, a, s, rng)
    versions = _versions(g, a, s, cfg.world.years * 365)
    row, since_day = versions["row"], versions["since"]
    r_of = g.rec[row]
    succ = g.successor[row]
    k = len(s.moves)
    names = pa.concat_arrays(
        [a.rec_names, s.successor_names.cast(pa.string()) if k else pa.array([], type=pa.string())]
    )
    succ_pos = np.cumsum(g.successor) - 1  # position among the successors
    name_pos = np.where(succ, len(a.rec_names) + succ_pos[row], r_of * text.N_VARIANTS + versions["variant"])
    # Registry and licence numbers: the recruiter's own, after them its successor's.
    number = np.where(succ, a.n_recruiters + r_of, r_of)
    licence_id = pa.concat_arrays([a.rec_licence_id, a.rec_successor_licence_id])
    has = pa.array(g.has_licence[row])
    return pa.table(
        {
            # Register rows are numbered in no meaningful order.
            "record_id": text.padded_ids("REC", rng.permutation(len(row)), 9),
            "recruiter_ref": pa.concat_arrays([a.rec_ref, a.rec_successor_ref]).take(pa.array(number)),
            "name": names.take(pa.array(name_pos)),
            "agency_type": text.pick(text.strings(AGENCY_TYPES), a.rec_type[r_of]),
            "country": text.pick(text.strings(ORIGIN_COUNTRIES), a.rec_origin[r_of]),
            "address": a.rec_address.take(pa.array(r_of)),
            "phone": a.rec_phone.take(pa.array(r_of)),
            "directors": pc.if_else(
                pa.array(succ), a.rec_network_director.take(pa.array(r_of)), a.rec_directors.take(pa.array(r_of))
            ),
            "licence_id": where(has, licence_id.take(pa.array(number))),
            "licence_status": text.pick(text.strings(LICENCE_STATUSES), versions["status"]),
            "licence_valid_from": where(has, cal.date(g.licence_from[row])),
            "licence_valid_to": where(has, cal.date(versions["valid_to"])),
            "declared_fee_to_workers_usd": pa.array(a.rec_declared_fee[r_of]),
            "registered_on": cal.date(g.registered_on[row]),
            "status_since": cal.date(since_day),
            "_day": pa.array(np.maximum(since_day, 0)),
        }
    )


def recruiter_truth(a: Actors, s: RecruiterSanctions) -> dict[str, pa.Table]:
    """The planted truth of every recruiter (``recruiters``) and every name variant each used."""
    return {
        "recruiters": pa.table(
            {
                "recruiter_ref": a.rec_ref,
                "abusive": pa.array(a.rec_abusive),
                "agency_type": text.pick(text.strings(AGENCY_TYPES), a.rec_type),
                "in_registry": pa.array(a.rec_in_registry),
                "successor_ref": where(pa.array(np.isin(np.arange(a.n_recruiters), s.moves)), a.rec_successor_ref),
                **_shift_truth(a),
            }
        ),
        "recruiter_names": _recruiter_names_truth(a),
    }


def _shift_truth(a: Actors) -> dict[str, pa.Array]:
    """Truth columns of the recruiters that go on unlicensed under a new name (none: no column)."""
    moved = a.rec_shift_day < NEVER
    if not moved.any():
        return {}
    return {
        "unlicensed_from_day": pa.array(a.rec_shift_day, mask=~moved),
        "unlicensed_name": where(
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
