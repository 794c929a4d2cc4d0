"""US DOL declarations beside the registry: the foreign recruiter indicators of Appendix C (R08, R09) with their
point-in-time features (``foreign_recruiter_features``, ranked by their red-flag count in ``us-dol recruiters``),
``DOL_INDICATORS`` (which indicator of ../shared/INDICATORS.md each DOL measure stands for: the catalogue's DOL
note) and ``NOT_SUPPORTED`` (why the public DOL data cannot support an indicator). The employers and agents of the
DOL records are built by features.build from the lake, with the registry's indicators (L01-L14).

Ratio indicators are empirical-Bayes rates: a beta prior is fitted on the peers (every entity of the type as of
the same day; features.shrinkage) and each rate is its posterior mean;
``<id>_x``, ``<id>_n`` and ``<id>_raw`` keep the evidence, and the red-flag count thresholds the raw rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from data_contracts.names import name_key
from features.shrinkage import fit_beta_prior, shrunk_rate

DolEntity = Literal["employer", "recruiter"]
# Foreign recruiters named on H-2B applications (Appendix C): indicators only, ranked by the red-flag count.
IndicatorEntity = Literal["employer", "recruiter", "foreign_recruiter"]
# The end of a ratio indicator's detail: its raw rate x / n and the shrunk rate the ranking uses.
SHRUNK = " ({raw:.0%} raw; {value:.1%} shrunk toward the peer rate {prior:.1%})"


@dataclass(frozen=True)
class DolIndicator:
    id: str
    entity: IndicatorEntity
    ref: str  # the indicator of ../shared/INDICATORS.md it computes ('' for a size / activity control)
    title: str
    direction: int  # +1 raises risk; 0: no constraint (controls)
    threshold: float | None  # red flag when value > threshold (None: never a red flag)
    detail: str  # formatted with value and the entity's row (a dict of its columns)


DOL_INDICATORS: tuple[DolIndicator, ...] = (
    DolIndicator(
        "wage_below_peer_share",
        "employer",
        "E10",
        "Offered wage below the state-programme-year median",
        +1,
        0.5,
        "{x:.0f} of {n:.0f} filings offered an hourly wage below 95% of the median of filings for the same state, "
        "programme and year" + SHRUNK,
    ),
    DolIndicator(
        "workers_certified",
        "employer",
        "E11",
        "Workers on visas tied to this employer",
        +1,
        None,
        "{value:.0f} H-2 workers certified to this employer in the last 3 years",
    ),
    DolIndicator(
        "uncertified_share",
        "employer",
        "",
        "Workers requested but not certified",
        +1,
        0.25,
        "{x:.0f} of {n:.0f} workers requested were not certified" + SHRUNK,
    ),
    DolIndicator(
        "denied_share",
        "employer",
        "",
        "Applications denied",
        +1,
        0.0,
        "{x:.0f} of {n:.0f} applications denied" + SHRUNK,
    ),
    DolIndicator(
        "withdrawn_share",
        "employer",
        "",
        "Applications withdrawn",
        +1,
        0.0,
        "{x:.0f} of {n:.0f} applications withdrawn" + SHRUNK,
    ),
    DolIndicator(
        "labour_contractor",
        "employer",
        "E16",
        "Files as an H-2A labour contractor",
        +1,
        0.0,
        "filed as an H-2A labour or job contractor",
    ),
    DolIndicator(
        "contractor_unregistered",
        "employer",
        "E16",
        "Labour contractor not on the farm labour contractor register",
        +1,
        0.0,
        "files as a labour contractor, no farm labour contractor certificate started before the date",
    ),
    DolIndicator(
        "agent_clients_debarred_share",
        "employer",
        "E13",
        "Its agent's other clients were debarred",
        +1,
        0.0,
        "{x:.0f} of the {n:.0f} other clients of its agent or attorney were debarred before" + SHRUNK,
    ),
    DolIndicator(
        "agent_other_clients",
        "employer",
        "E13",
        "Its agent's number of other clients",
        0,
        None,
        "its agent or attorney filed for {value:.0f} other employers",
    ),
    DolIndicator(
        "worksite_states",
        "employer",
        "",
        "Worksites in several states",
        +1,
        1.0,
        "worksites in {value:.0f} states",
    ),
    DolIndicator(
        "growth",
        "employer",
        "",
        "Growth in workers requested",
        +1,
        2.0,
        "workers requested last year {value:.1f} times those of the year before",
    ),
    DolIndicator(
        "prior_debarment",
        "employer",
        "E15",
        "Debarred before",
        +1,
        0.0,
        "a debarment started before the date",
    ),
    DolIndicator(
        "filings",
        "employer",
        "",
        "Applications filed",
        0,
        None,
        "{value:.0f} applications in the last 3 years",
    ),
    # ------------------------------------------------------------------ agents / attorneys
    DolIndicator("clients", "recruiter", "R09", "Number of client employers", 0, None, "{value:.0f} client employers"),
    DolIndicator(
        "workers_certified",
        "recruiter",
        "",
        "Workers certified through this agent",
        +1,
        None,
        "{value:.0f} workers certified for its clients in the last 3 years",
    ),
    DolIndicator(
        "denied_share",
        "recruiter",
        "",
        "Client applications denied",
        +1,
        0.0,
        "{x:.0f} of {n:.0f} applications it filed were denied" + SHRUNK,
    ),
    DolIndicator(
        "withdrawn_share",
        "recruiter",
        "",
        "Client applications withdrawn",
        +1,
        0.0,
        "{x:.0f} of {n:.0f} applications it filed were withdrawn" + SHRUNK,
    ),
    DolIndicator(
        "contractor_client_share",
        "recruiter",
        "E16",
        "Clients that are labour contractors",
        +1,
        0.0,
        "{x:.0f} of its {n:.0f} clients file as H-2A labour contractors" + SHRUNK,
    ),
    DolIndicator(
        "clients_debarred_share",
        "recruiter",
        "R08",
        "Clients debarred before",
        +1,
        0.0,
        "{x:.0f} of its {n:.0f} clients were debarred before the date" + SHRUNK,
    ),
    DolIndicator(
        "wage_below_peer_share",
        "recruiter",
        "E10",
        "Client wages below the state-programme-year median",
        +1,
        0.5,
        "{x:.0f} of {n:.0f} of its filings offered a wage below 95% of the peer median" + SHRUNK,
    ),
    DolIndicator(
        "worksite_states", "recruiter", "R05", "Clients in several states", +1, 3.0, "clients in {value:.0f} states"
    ),
    DolIndicator(
        "growth",
        "recruiter",
        "",
        "Growth in workers requested",
        +1,
        2.0,
        "workers requested last year {value:.1f} times those of the year before",
    ),
    DolIndicator("filings", "recruiter", "", "Applications filed", 0, None, "{value:.0f} applications filed"),
    # ------------------------------------------------ foreign recruiters named on H-2B applications (Appendix C)
    DolIndicator(
        "cases",
        "foreign_recruiter",
        "",
        "H-2B applications naming it",
        0,
        None,
        "named as a foreign recruiter on {value:.0f} H-2B applications",
    ),
    DolIndicator(
        "named_staff",
        "foreign_recruiter",
        "",
        "Individual recruiters named",
        0,
        None,
        "{value:.0f} individual recruiters named for it",
    ),
    # Shown, never a red flag: E16's cited lines do not discuss sub-contracting chains (docs/indicators/E16.md)
    # and most organisations named together share named recruiters (one group under several names).
    DolIndicator(
        "chain_share",
        "foreign_recruiter",
        "",
        "Named with other recruiter organisations",
        0,
        None,
        "{x:.0f} of the {n:.0f} applications naming it also name other recruiter organisations" + SHRUNK,
    ),
    DolIndicator(
        "shared_staff_orgs",
        "foreign_recruiter",
        "R09",
        "Shares named recruiters with other organisations",
        +1,
        0.0,
        "{value:.0f} other recruiter organisation names list the same individual recruiters (a renamed or related "
        "organisation)",
    ),
    DolIndicator(
        "clients_debarred",
        "foreign_recruiter",
        "R08",
        "Its US clients were debarred",
        +1,
        0.0,
        "as an H-2 agent or law firm of the same name it filed for {value:.0f} employers debarred before the date",
    ),
)

NOT_SUPPORTED: dict[str, str] = {
    **{
        i: "found at a labour inspection: the WHD inspection records (whd_whisard) are not in the public snapshot"
        for i in ("E01", "E02", "E03", "E04", "E05", "E06", "E07", "E08", "E14", "R03")
    },
    "E09": "needs the wage found at inspection to compare with the offered wage",
    "E12": "H-2A is agriculture by definition; NAICS / SOC only from FY2014, so a sector baseline adds nothing",
    "E17": "no registration numbers or directors: re-registration cannot be told from a new employer",
    "E18": "no directors; phone numbers only from FY2015",
    "E19": "no overstay or absconding records",
    "R01": "agents are not licensed; the farm labour contractor register is a 2020-21 snapshot (used in E16)",
    "R02": "fees charged to workers are not disclosed",
    "R04": "no hostess / entertainer categories in H-2A",
    "R06": "no visitor visas in these files",
    "R07": "no document-check results",
    "R10": "no complaints data",
    "R11": "no overstay or absconding records",
    "R12": "no visa desk in these files",
    "R13": "no applicant age (and sensitive)",
    "R14": "no border-crossing records",
}


def indicators(entity: IndicatorEntity) -> tuple[DolIndicator, ...]:
    return tuple(i for i in DOL_INDICATORS if i.entity == entity)


def mode(frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """The most frequent non-empty ``column`` value per ``key`` (ties: the first in sort order)."""
    counts = frame.dropna(subset=[column]).groupby([key, column]).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", column], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates(key).set_index(key)[column]


def set_ratio(out: pd.DataFrame, column: str, x: pd.Series, n: pd.Series) -> None:
    """Writes ratio indicator ``column`` as the shrunk rate, with ``<column>_x`` / ``<column>_n`` (the raw
    counts), ``<column>_raw`` (x / n: what the red-flag count thresholds) and ``<column>_prior`` (the peers'
    rate); the prior is fitted on the rows of ``out``."""
    xs = x.reindex(out.index).astype("float64")
    ns = n.reindex(out.index).astype("float64")
    prior = fit_beta_prior(xs, ns)
    out[f"{column}_x"] = xs
    out[f"{column}_n"] = ns
    out[f"{column}_raw"] = (xs / ns).where(ns > 0)
    out[f"{column}_prior"] = prior.mean
    out[column] = shrunk_rate((xs / ns).where(ns > 0).to_numpy(dtype=float), xs.to_numpy(), ns.to_numpy(), prior)


# ------------------------------------------------------------------------------------------ features


def foreign_recruiter_features(
    appendix: pd.DataFrame, filings: pd.DataFrame, debarred_before: set[str], flc: pd.DataFrame | None, as_of: date
) -> pd.DataFrame:
    """One row per foreign recruiter organisation named on an H-2B application known before ``as_of``
    (Appendix C rows with ``known_on < as_of``); index recruiter_id (the organisation's name key).

    ``filings`` come from ``before`` (cut at ``as_of``): an organisation whose name key is an agent's or law
    firm's key is that agent, and its clients debarred before ``as_of`` (``debarred_before``) count (R08).
    Appendix C names no employer, and none of its case numbers is in the FY2018-2019 H-2B files, so an
    employer's own foreign recruiters cannot be told.
    """
    rows = appendix[appendix["known_on"] < pd.Timestamp(as_of)].dropna(subset=["name"]).copy()
    rows["recruiter_id"] = rows["name"].map(name_key)
    rows = rows[~rows["recruiter_id"].isin(["", "n a", "na", "none"])]
    index = pd.Index(sorted(rows["recruiter_id"].unique()), name="recruiter_id")
    out = pd.DataFrame(index=index)
    g = rows.groupby("recruiter_id")
    out["cases"] = g["application_id"].nunique().reindex(index).astype(float)
    out["named_staff"] = g["staff_key"].nunique().reindex(index).astype(float)
    per_case = rows.groupby("application_id")["recruiter_id"].nunique()
    case_orgs = rows[["recruiter_id", "application_id"]].drop_duplicates()
    chained = case_orgs["application_id"].map(per_case).gt(1).astype(float)
    set_ratio(out, "chain_share", chained.groupby(case_orgs["recruiter_id"]).sum(), out["cases"])
    staff = rows.dropna(subset=["staff_key"])[["recruiter_id", "staff_key"]].drop_duplicates()
    orgs_of_staff = {k: set(v) for k, v in staff.groupby("staff_key")["recruiter_id"]}
    others: dict[str, set[str]] = {}
    for org, key in zip(staff["recruiter_id"], staff["staff_key"], strict=True):
        others.setdefault(org, set()).update(orgs_of_staff[key] - {org})
    out["shared_staff_orgs"] = [float(len(others.get(r, ()))) for r in index]
    pairs = filings.dropna(subset=["agent_id"])[["agent_id", "employer_id"]].drop_duplicates()
    clients = {a: set(e) for a, e in pairs.groupby("agent_id")["employer_id"]}
    out["us_agent"] = index.isin(list(clients))
    out["clients_debarred"] = [float(len(clients.get(r, set()) & debarred_before)) for r in index]
    registered: set[str] = set()
    if flc is not None and len(flc):
        registered = {name_key(n) for n in flc.loc[flc["licence_valid_from"] < pd.Timestamp(as_of), "name"]}
    out["flc_registered"] = index.isin(list(registered))
    out["employer_name"] = mode(rows, "recruiter_id", "name").reindex(index)
    out["country"] = mode(rows, "recruiter_id", "country").reindex(index)
    out["employer_state"] = mode(rows, "recruiter_id", "region").reindex(index).fillna("")
    return out


def raw_values(features: pd.DataFrame, column: str) -> pd.Series:
    """An indicator's values before shrinkage: ``<column>_raw`` for a ratio indicator, else the column."""
    raw = features.get(f"{column}_raw")
    return raw if isinstance(raw, pd.Series) else features[column]


def flags_of(features: pd.DataFrame, entity: IndicatorEntity) -> pd.DataFrame:
    """One 0/1 column per indicator with a threshold: its raw value is past the threshold."""
    return pd.DataFrame(
        {
            ind.id: (raw_values(features, ind.id).fillna(-np.inf) > ind.threshold).astype("int64")
            for ind in indicators(entity)
            if ind.threshold is not None
        },
        index=features.index,
    )


def red_flags(features: pd.DataFrame, entity: IndicatorEntity) -> pd.Series:
    """The rule-based red-flag count: indicators whose raw value (a ratio before shrinkage) is past their
    threshold."""
    return flags_of(features, entity).sum(axis=1).astype("int64").rename(None)


def reason_detail(ind: DolIndicator, row: pd.Series) -> str:
    values = {
        k: (float(v) if isinstance(v, int | float | np.floating) and not pd.isna(v) else 0.0) for k, v in row.items()
    }
    ratio = {part: values.get(f"{ind.id}_{part}", 0.0) for part in ("x", "n", "raw", "prior")}
    try:
        return ind.detail.format(value=values.get(ind.id, 0.0), **ratio, **values)
    except (KeyError, ValueError):
        return ind.title
