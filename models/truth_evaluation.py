"""Evaluation against the simulator's hidden truth: the one module outside simulator/ allowed to read it.

It reads the truth through its file format, never through the simulator's modules: ``<world>/truth/<table>``
is a folder of Parquet part files or a single ``<table>.parquet`` file (written by ``tracerisk simulate``).

Truth ids are raw; officials are pseudonymised in the lake, so their truth ids are mapped through the same
keyed pseudonym (the key comes from configuration, as at ingestion). Recruiters known only by a name on
records are mapped through the truth's name variants.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from data_contracts.names import name_key
from data_contracts.pseudonymise import PseudonymKey, pseudonym
from features.registry import EntityType

TRUTH_FOLDER = "truth"


def truth_rows(world: Path, table: str) -> list[dict[str, Any]]:
    """The rows of one truth table of the world at ``world`` (a folder written by ``tracerisk simulate``)."""
    folder = world / TRUTH_FOLDER / table
    path = folder if folder.is_dir() else folder.with_suffix(".parquet")
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {world} a world written by `tracerisk simulate`?")
    rows: list[dict[str, Any]] = ds.dataset(path, format="parquet").to_table().to_pylist()
    return rows


def truth_positives(world: Path, entity: EntityType, key: PseudonymKey) -> set[str]:
    """Entity ids (as the lake and the features name them) that the simulator planted as risky."""
    if entity == "employer":
        return {r["registration_no"] for r in truth_rows(world, "employers") if r["exploitative"]}
    if entity == "recruiter":
        rows = truth_rows(world, "recruiters")
        # A sanctioned abusive recruiter that re-registered goes on under its successor's registry number.
        abusive = {r["recruiter_ref"] for r in rows if r["abusive"]}
        abusive |= {r["successor_ref"] for r in rows if r["abusive"] and r.get("successor_ref")}
        names = truth_rows(world, "recruiter_names")
        unregistered = {"unregistered:" + name_key(r["name_variant"]) for r in names if r["recruiter_ref"] in abusive}
        return abusive | unregistered
    if entity == "visa_desk":
        return {_official(r["desk_ref"], key) for r in truth_rows(world, "visa_desks") if r["corrupt"]}
    if entity == "border_post":
        return {_official(r["officer_ref"], key) for r in truth_rows(world, "border_officers") if r["corrupt"]}
    rows = truth_rows(world, "inspectors")
    return {pseudonym(key, r["inspector_badge_no"]) for r in rows if r["corrupt"]}


def _official(ref: str, key: PseudonymKey) -> str:
    post, _, officer = ref.rpartition(":")
    return f"{post}:{pseudonym(key, officer)}"
