"""Enforcement outcomes, the ``enforcement_outcome`` export: on employers (per chunk), and on recruiters and
officials (once for the world: licence revocations, convictions, complaints, integrity cases)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from data_contracts.contracts import OUTCOME_KINDS
from simulator import text
from simulator.actors import Actors
from simulator.chunk_context import ChunkContext
from simulator.columns import where
from simulator.config import SimulationConfig
from simulator.draws import side_stream
from simulator.employers import Employers, move_to_successor
from simulator.geography import ORIGIN_COUNTRIES
from simulator.register import RecruiterSanctions
from simulator.scripts import ORIGIN_SCRIPT, script_index

ISSUING_BODIES = (
    "labour_inspectorate",
    "licensing_authority",
    "court",
    "ngo",
    "union",
    "worker_hotline",
    "police",
    "integrity_unit",
)


def outcome_table(
    record_ids: pa.Array,
    outcome_ids: pa.Array,
    entity_type: str,
    entity_ref: pa.Array,
    entity_name: pa.Array,
    decided_on: pa.Array,
    kind: np.ndarray,
    body: np.ndarray,
    day: np.ndarray,
) -> pa.Table:
    n = len(record_ids)
    return pa.table(
        {
            "record_id": record_ids,
            "outcome_id": outcome_ids,
            "entity_type": pa.array([entity_type] * n, type=pa.string()),
            "entity_ref": entity_ref,
            "entity_name": entity_name.cast(pa.string()),
            "decided_on": decided_on,
            "kind": text.category(text.strings(OUTCOME_KINDS), kind),
            "issuing_body": text.category(text.strings(ISSUING_BODIES), body),
            "_day": pa.array(day),
        }
    )


def employer_outcome_table(
    c: ChunkContext, emp: Employers, outc: dict[str, np.ndarray], reg_no: pa.Array, emp_scripted: np.ndarray
) -> pa.Table:
    """Outcomes on the chunk's employers (labels and complaints); a sanction stays with the sanctioned
    registration, anything else after the move goes to the successor."""
    rng = c.rng
    no = len(outc["e"])
    outcome_ids = c.ids("OUT", outc["day"])
    oe = move_to_successor(emp, outc["e"], outc["day"])
    oe = np.where(outc["kind"] == 5, oe, outc["e"])  # sanctions stay with the sanctioned registration
    return outcome_table(
        outcome_ids,
        outcome_ids,
        "employer",
        reg_no.take(pa.array(oe)),
        where(
            pa.array(rng.random(no) < 0.9),
            text.category(
                emp.names, c.in_script(text.choose_variant(rng, oe, c.cfg.realism.name_variant_share), emp_scripted)
            ),
        ),
        c.cal.date(outc["day"]),
        outc["kind"],
        outc["body"],
        outc["day"],
    )


def _entity_outcomes(
    cal: text.Calendar,
    entity_type: str,
    ref: pa.Array,
    name: pa.Array | None,
    idx: np.ndarray,
    day: np.ndarray,
    kind: int,
    body: int,
) -> pa.Table:
    """Outcomes of kind ``kind`` by ``body`` on entities ``idx`` (of ``ref``, named from ``name`` or unnamed),
    not yet numbered."""
    n = len(idx)
    entity_name = name.take(pa.array(idx)) if name is not None else pa.nulls(n, type=pa.string())
    return outcome_table(
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


def recruiter_outcomes(
    cfg: SimulationConfig, a: Actors, s: RecruiterSanctions, rng: np.random.Generator, cal: text.Calendar
) -> list[pa.Table]:
    """Licence revocations, convictions and complaints on recruiters, each naming a variant of its name."""
    days = cfg.world.years * 365
    n_rec = a.n_recruiters
    rec_position = text.choose_variant(rng, np.arange(n_rec), cfg.realism.name_variant_share)
    rec_scripted = script_index(ORIGIN_SCRIPT, ORIGIN_COUNTRIES, a.rec_origin) != 0
    rec_position = text.in_script(side_stream(rng, 93), rec_position, cfg.realism.name_script_share, rec_scripted)
    name = a.rec_names.take(pa.array(rec_position))
    conv = np.flatnonzero(s.convicted)
    complained = np.repeat(np.arange(n_rec), s.complaints)
    return [
        _entity_outcomes(cal, "recruiter", a.rec_ref, name, np.flatnonzero(s.revoked), s.revoke_day[s.revoked], 2, 1),
        _entity_outcomes(cal, "recruiter", a.rec_ref, name, conv, rng.integers(days // 3, days, len(conv)), 4, 2),
        _entity_outcomes(cal, "recruiter", a.rec_ref, name, complained, rng.integers(0, days, len(complained)), 5, 3),
    ]


def desk_refs(a: Actors) -> pa.Array:
    """Each visa desk's reference: post code and desk officer id."""
    return text.join(a.post_code.take(pa.array(a.desk_post)), ":", a.desk_officer)


def officer_refs(a: Actors) -> pa.Array:
    """Each border officer's reference: border post code and badge number."""
    return text.join(a.bpost_code.take(pa.array(a.officer_bpost)), ":", a.officer_badge)


def official_outcomes(a: Actors, days: int, rng: np.random.Generator, cal: text.Calendar) -> list[pa.Table]:
    """Integrity cases on desks, border officers and inspectors: most corrupt officials are never caught
    (incomplete labels)."""
    officials = (
        ("visa_desk", desk_refs(a), a.desk_corrupt, 0.35),
        ("border_post", officer_refs(a), a.officer_corrupt, 0.3),
        ("inspector", a.inspector_badge, a.inspector_corrupt, 0.25),
    )
    tables = []
    for entity_type, ref, corrupt, p_caught in officials:
        caught = np.flatnonzero(rng.random(len(corrupt)) < np.where(corrupt, p_caught, 0.005))
        day = rng.integers(days // 6, days, len(caught))
        tables.append(_entity_outcomes(cal, entity_type, ref, None, caught, day, 3, 7))
    return tables


def official_truth(a: Actors) -> dict[str, pa.Table]:
    """Which desks, border officers and inspectors are corrupt."""
    return {
        "visa_desks": pa.table({"desk_ref": desk_refs(a), "corrupt": pa.array(a.desk_corrupt)}),
        "border_officers": pa.table(
            {
                "officer_ref": officer_refs(a),
                "corrupt": pa.array(a.officer_corrupt),
                "night_shift": pa.array(a.officer_night),
            }
        ),
        "inspectors": pa.table({"inspector_badge_no": a.inspector_badge, "corrupt": pa.array(a.inspector_corrupt)}),
    }


def numbered_outcomes(outcomes: pa.Table, rng: np.random.Generator) -> pa.Table:
    """The outcomes with record and outcome ids numbered in the order of their decision day."""
    serial = text.chronological_rank(outcomes.column("_day").to_numpy(), side_stream(rng, 95))
    outcomes = outcomes.set_column(0, "record_id", text.padded_ids("EOG", serial, 9))
    return outcomes.set_column(1, "outcome_id", text.padded_ids("OUTG", serial, 9))
