"""Evaluation against the simulator's hidden truth: the one module outside simulator/ allowed to read it.

Truth ids are raw; officials are pseudonymised in the lake, so their truth ids are mapped through the same
keyed pseudonym (the key comes from configuration, as at ingestion). Recruiters known only by a name on
records are mapped through the truth's name variants.
"""

from __future__ import annotations

from pathlib import Path

from data_contracts.pseudonymise import PseudonymKey, pseudonym
from features.names import name_key
from features.registry import EntityType
from simulator.truth import load_truth


def truth_positives(world: Path, entity: EntityType, key: PseudonymKey) -> set[str]:
    """Entity ids (as the lake and the features name them) that the simulator planted as risky."""
    if entity == "employer":
        t = load_truth(world, "employers").to_pylist()
        return {r["registration_no"] for r in t if r["exploitative"]}
    if entity == "recruiter":
        rows = load_truth(world, "recruiters").to_pylist()
        # A sanctioned abusive recruiter that re-registered goes on under its successor's registry number.
        abusive = {r["recruiter_ref"] for r in rows if r["abusive"]}
        abusive |= {r["successor_ref"] for r in rows if r["abusive"] and r.get("successor_ref")}
        names = load_truth(world, "recruiter_names").to_pylist()
        unregistered = {"unregistered:" + name_key(r["name_variant"]) for r in names if r["recruiter_ref"] in abusive}
        return abusive | unregistered
    if entity == "visa_desk":
        rows = load_truth(world, "visa_desks").to_pylist()
        return {_official(r["desk_ref"], key) for r in rows if r["corrupt"]}
    if entity == "border_post":
        rows = load_truth(world, "border_officers").to_pylist()
        return {_official(r["officer_ref"], key) for r in rows if r["corrupt"]}
    rows = load_truth(world, "inspectors").to_pylist()
    return {pseudonym(key, r["inspector_badge_no"]) for r in rows if r["corrupt"]}


def _official(ref: str, key: PseudonymKey) -> str:
    post, _, officer = ref.rpartition(":")
    return f"{post}:{pseudonym(key, officer)}"
