"""Displacement of sanctioned employers: they re-register under a new name and carry on (003:2799, 003:5020).

The successor keeps a director, often the phone and address, and takes over the activity from its
registration day on.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator import text
from simulator.chunk_context import ChunkContext
from simulator.draws import side_stream
from simulator.employers import SECTOR_WORD, Employers
from simulator.text import NEVER

# Employer fields a successor takes over from its predecessor as they are.
INHERITED = (
    "sector",
    "country",
    "region",
    "size",
    "exploit",
    "intensity",
    "present",
    "minor",
    "housing",
    "transport",
    "minors_present",
    "wage_ratio",
    "found_ratio",
    "hours",
    "network",
)


def displace(c: ChunkContext, emp: Employers, outcomes: dict[str, np.ndarray]) -> Employers:
    """``emp`` with the successors of the sanctioned exploitative employers that re-register appended (their
    predecessors' ``successor_from`` set to the successor's registration day, in place)."""
    rng = c.rng
    sanction = outcomes["kind"] <= 1
    sanction |= outcomes["kind"] == 4
    first_sanction = np.full(len(emp.gid), 10**6)
    np.minimum.at(first_sanction, outcomes["e"][sanction], outcomes["day"][sanction])
    reg_day = first_sanction + rng.integers(30, 180, len(emp.gid))
    moves = np.flatnonzero(
        emp.exploit
        & (first_sanction < 10**6)
        & (reg_day < c.days)
        & (rng.random(len(emp.gid)) < c.cfg.realism.displacement_share)
        & (reg_day >= c.cfg.realism.displacement_start_day)
    )
    if len(moves) == 0:
        return emp
    return _with_successors(c, emp, moves, reg_day[moves])


def _with_successors(c: ChunkContext, emp: Employers, moves: np.ndarray, reg_day: np.ndarray) -> Employers:
    """``emp`` and, appended, one successor of each employer ``moves`` registered on ``reg_day``."""
    rng = c.rng
    k = len(moves)
    canonical, base, suffix = text.organisation_names(rng, k, text.pick(text.strings(SECTOR_WORD), emp.sector[moves]))
    kept_director = pc.utf8_slice_codeunits(
        pc.list_element(pc.split_pattern(emp.directors.take(pa.array(moves)), "; "), 0), 0
    )
    same_phone = rng.random(k) < 0.6
    same_address = rng.random(k) < 0.5
    emp.successor_from[moves] = reg_day
    r1, r2, contractor = unlicensed_recruitment(c, emp, moves)
    n_old = len(emp.gid)
    names_new = text.name_variants(canonical, base, suffix, c.written(canonical, base, emp.country[moves]))
    # The successor operates like its predecessor: the same sector, site, size, traits and network.
    inherited = {name: np.concatenate([getattr(emp, name), getattr(emp, name)[moves]]) for name in INHERITED}
    return Employers(
        **inherited,
        gid=np.concatenate([emp.gid, c.registration_numbers[n_old : n_old + k]]),
        r1=np.concatenate([emp.r1, r1]),
        r2=np.concatenate([emp.r2, r2]),
        contractor=np.concatenate([emp.contractor, contractor]),
        registered_on=np.concatenate([emp.registered_on, reg_day]),
        names=pa.concat_arrays([emp.names, names_new]),
        address=pa.concat_arrays(
            [
                emp.address,
                pc.if_else(
                    pa.array(same_address),
                    emp.address.take(pa.array(moves)),
                    text.addresses(rng, k, text.pick(c.a.country_names, emp.country[moves])),
                ),
            ]
        ),
        phone=pa.concat_arrays(
            [emp.phone, pc.if_else(pa.array(same_phone), emp.phone.take(pa.array(moves)), text.phones(rng, k))]
        ),
        directors=pa.concat_arrays([emp.directors, text.join(kept_director, "; ", text.person_names(rng, k))]),
        predecessor=np.concatenate([emp.predecessor, moves]),
        active_from=np.concatenate([emp.active_from, reg_day]),
        successor_from=np.concatenate([emp.successor_from, np.full(k, 10**6)]),
    )


def unlicensed_recruitment(
    c: ChunkContext, emp: Employers, moves: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recruiters (main, second, on-site contractor) of the successors of employers ``moves``: their
    predecessor's, except that with probability realism.unlicensed_shift_share a successor recruits through
    an operator that goes on unlicensed under a new name (Actors.rec_shift_day): its own network's recruiter
    if that one does, else one drawn among those that do; it drops its licensed second agency and the
    operator supplies its site. Drawn from a stream of its own (the chunk's draws stay as they were)."""
    r1, r2, contractor = emp.r1[moves], emp.r2[moves], emp.contractor[moves]
    operators = np.flatnonzero(c.a.rec_shift_day < NEVER)
    if len(operators) == 0:
        return r1, r2, contractor
    srng = side_stream(c.rng, 98)
    k = len(moves)
    switch = srng.random(k) < c.cfg.realism.unlicensed_shift_share
    network = emp.network[moves]
    own = (network >= 0) & (c.a.rec_shift_day[np.maximum(network, 0)] < NEVER)
    operator = np.where(own, network, operators[srng.integers(0, len(operators), k)])
    return (
        np.where(switch, operator, r1),
        np.where(switch, -1, r2),
        np.where(switch, operator, contractor),
    )
