"""Point-in-time indicators of US DOL H-2A / H-2B filers and their agents, as pure functions.

A separate indicator set from ``features.registry`` (the synthetic world's models are left as they are):
each ``DolIndicator`` names the indicator of ../shared/INDICATORS.md it computes (``ref``), its direction
(the LightGBM monotone constraint), its red-flag threshold (for the rule-based count) and its reason
detail. ``NOT_SUPPORTED`` says, per indicator of INDICATORS.md, why public DOL data cannot support it.

Point in time: every function takes the filings and outcomes and an ``as_of`` day and uses only filings
decided before it (``decided_on < as_of``) and outcomes starting before it; peer medians are computed
from those same filings. Entities are resolved by ``resolve`` with the project's entity-resolution step
(``features.entity_resolution.resolve_names``: exact name keys, then Splink for spelling variants).

Ratio indicators (x of n: denials of applications, workers not certified of those requested, debarred other
clients of an agent, ...) are empirical-Bayes rates: a beta prior is fitted on the peers (every entity of
the type as of the same day) and each rate is its posterior mean, so 1 of 1 lies near the peers' rate and
30 of 100 near 30%. The model and the reasons use the shrunk rate; ``<id>_x``, ``<id>_n`` and ``<id>_raw``
keep the evidence, and the red-flag count thresholds the raw rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from features.entity_resolution import ResolutionReport, resolve_names
from features.names import name_key

DolEntity = Literal["employer", "recruiter"]
# Foreign recruiters named on H-2B applications (Appendix C): indicators only, ranked by the red-flag count.
IndicatorEntity = Literal["employer", "recruiter", "foreign_recruiter"]
WINDOW_DAYS = 1_095
WAGE_BELOW_PEER = 0.95  # a filing's hourly wage below 95% of its peers' median counts as below
# The end of a ratio indicator's detail: its raw rate x / n and the shrunk rate the ranking uses.
SHRUNK = " ({raw:.0%} raw; {value:.1%} shrunk toward the peer rate {prior:.1%})"
_DBA = re.compile(r"\s+(?:d\s*/?\s*b\s*/?\s*a|doing business as|a/k/a|aka)\.?\s+", re.IGNORECASE)


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


# --------------------------------------------------------------------------------------- entity keys
def employer_key(name: str | None) -> str:
    """An employer's resolution key: its name key, of the legal name where the name carries a DBA."""
    if not name:
        return ""
    return name_key(_DBA.split(name)[0])


def name_parts(name: str) -> list[str]:
    """The legal name and each DBA / AKA name of a name."""
    return [p for p in _DBA.split(name) if p.strip()]


def agent_key(agent: str | None, law_firm: str | None) -> str:
    """An agent's key: the law firm or agency where named (FY2014+), else the agent's name."""
    return name_key(law_firm or agent or "")


def mode(frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """The most frequent non-empty ``column`` value per ``key`` (ties: the first in sort order)."""
    counts = frame.dropna(subset=[column]).groupby([key, column]).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n", column], ascending=[True, False, True], kind="stable")
    return counts.drop_duplicates(key).set_index(key)[column]


def _count_of(frame: pd.DataFrame, key: str, condition: pd.Series) -> pd.Series:
    return condition.fillna(False).astype("float64").groupby(frame[key]).sum()


@dataclass(frozen=True)
class BetaPrior:
    """A beta prior on a rate, fitted on the peers: mean ``alpha / (alpha + beta)``, strength ``alpha + beta``
    (the number of pseudo-observations a rate of one entity is pulled toward the mean with)."""

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


MIN_PRIOR_STRENGTH = 1.0  # pseudo-observations: the prior never weighs less than one observation
MAX_PRIOR_STRENGTH = 1_000.0  # nor more than 1,000 (peers all at one rate: no spread between entities)


def fit_beta_prior(x: pd.Series, n: pd.Series) -> BetaPrior:
    """Beta-binomial prior of the rates ``x / n`` over the peers with ``n > 0``, by the method of moments.

    Mean: the pooled rate. Spread between entities: the variance of the raw rates (weighted by ``n``) less
    the binomial variance they would show if every entity had the pooled rate; strength = mean (1 - mean) /
    spread - 1, clipped to [MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH]. With no peer evidence: a uniform prior.
    """
    seen = (n > 0) & x.notna() & n.notna()
    xs, ns = x[seen].to_numpy(dtype=float), n[seen].to_numpy(dtype=float)
    if not len(ns) or ns.sum() <= 0:
        return BetaPrior(1.0, 1.0)
    mean = float(np.clip(xs.sum() / ns.sum(), 1e-6, 1 - 1e-6))
    rates = np.clip(xs / ns, 0.0, 1.0)
    weights = ns / ns.sum()
    observed = float(np.sum(weights * (rates - mean) ** 2))
    sampling = float(np.sum(weights * mean * (1 - mean) / ns))
    spread = observed - sampling
    strength = mean * (1 - mean) / spread - 1 if spread > 0 else MAX_PRIOR_STRENGTH
    strength = float(np.clip(strength, MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH))
    return BetaPrior(mean * strength, (1 - mean) * strength)


def shrink(x: pd.Series, n: pd.Series, prior: BetaPrior) -> pd.Series:
    """The posterior mean rate ``(x + alpha) / (n + alpha + beta)``: the raw rate ``x / n`` pulled toward the
    peers' rate, the less the smaller ``n``. NaN where ``n`` is missing or 0 (no evidence, no rate)."""
    rate = (x + prior.alpha) / (n + prior.alpha + prior.beta)
    return rate.where(n.notna() & (n > 0))


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
    out[column] = shrink(xs, ns, prior)


def before(filings: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Filings decided before ``as_of`` (the day the decision was known), with their entity keys."""
    out = filings[filings["decided_on"] < pd.Timestamp(as_of)].copy()
    out["employer_id"] = out["sponsor_name"].map(employer_key, na_action="ignore").fillna("")
    agents, firms = (out[c].astype(object).where(out[c].notna(), None) for c in ("recruiter_name", "law_firm"))
    out["agent_id"] = [agent_key(a, f) for a, f in zip(agents, firms, strict=True)]
    out["agent_id"] = out["agent_id"].where(out["agent_id"] != "", None)
    return out[out["employer_id"] != ""]


# ----------------------------------------------------------------------------------- entity resolution
@dataclass
class Resolution:
    links: pd.DataFrame  # outcome_id, entity_type ('employer' / 'recruiter'), entity_id, how ('exact' / 'splink')
    reports: list[ResolutionReport]
    outcomes: int
    linked: int


def resolve(filings: pd.DataFrame, outcomes: pd.DataFrame, flc: pd.DataFrame | None = None) -> Resolution:
    """Link each outcome (debarment, back-wage row) to a filer or agent with the project's resolution step.

    ``filings`` come from ``before`` (entity keys set). The filers are the employer register (one entry per
    key), the agents plus the labour-contractor register the recruiter register; every outcome name (and each
    of its DBA parts) is a name on a record. ``resolve_names`` maps exact keys and links spelling variants
    with Splink above 0.95; a name linked both ways goes to the employer.
    """
    con = duckdb.connect()
    try:
        employers = (
            mode(filings, "employer_id", "sponsor_name")
            .reset_index()
            .rename(columns={"employer_id": "registration_no", "sponsor_name": "name"})
        )
        agents = filings.dropna(subset=["agent_id"]).groupby("agent_id").size().reset_index()[["agent_id"]]
        agents["name"] = agents["agent_id"]
        registry = agents.rename(columns={"agent_id": "recruiter_ref"})
        if flc is not None and len(flc):
            # A register certificate whose name is an agent's is that agent: the agent keeps its outcomes.
            certificates = flc[~flc["name"].map(name_key).isin(set(agents["agent_id"]))]
            registry = pd.concat([registry, certificates[["recruiter_ref", "name"]]], ignore_index=True)
        names = [
            (row.outcome_id, part)
            for row in outcomes.itertuples()
            for part in name_parts(str(row.entity_name))
            if name_key(part)
        ]
        records = pd.DataFrame(names, columns=["outcome_id", "entity_name"])
        con.register("employers_df", employers)
        con.register("registry_df", registry)
        con.register("records_df", records)
        con.execute("CREATE TEMP TABLE org AS SELECT registration_no, name FROM employers_df")
        con.execute("CREATE TEMP TABLE registry AS SELECT recruiter_ref, name FROM registry_df")
        con.execute(
            "CREATE TEMP TABLE raw_enforcement_outcome AS "
            "SELECT outcome_id, entity_name, 'employer' AS entity_type FROM records_df UNION ALL "
            "SELECT outcome_id, entity_name, 'recruiter' AS entity_type FROM records_df"
        )
        con.execute("CREATE TEMP TABLE raw_visa_application (sponsor_name VARCHAR, recruiter_name VARCHAR)")
        con.execute("CREATE TEMP TABLE raw_labour_inspection (worksite_name VARCHAR, labour_contractor_name VARCHAR)")
        from features.names import name_key_sql, register_name_key

        register_name_key(con)
        con.execute(
            f"CREATE TEMP TABLE employer_name_map AS SELECT DISTINCT {name_key_sql('name')} AS name_key, "
            "registration_no AS employer_id FROM org"
        )
        con.execute(
            f"CREATE TEMP TABLE recruiter_name_map AS SELECT {name_key_sql('name')} AS name_key, "
            "min(recruiter_ref) AS recruiter_id FROM registry GROUP BY 1"
        )
        exact = {
            kind: set(r[0] for r in con.execute(f"SELECT name_key FROM {kind}_name_map").fetchall())
            for kind in ("employer", "recruiter")
        }
        reports = resolve_names(con)
        maps = {
            kind: dict(con.execute(f"SELECT name_key, {kind}_id FROM {kind}_name_map").fetchall())
            for kind in ("employer", "recruiter")
        }
    finally:
        con.close()
    rows: list[tuple[str, str, str, str]] = []
    for outcome_id, group in records.groupby("outcome_id", sort=False):
        keys = [name_key(n) for n in group["entity_name"]]
        hit: tuple[str, str, str, str] | None = None
        for kind in ("employer", "recruiter"):
            for key in keys:
                if key in maps[kind]:
                    hit = (str(outcome_id), kind, str(maps[kind][key]), "exact" if key in exact[kind] else "splink")
                    break
            if hit:
                break
        if hit:
            rows.append(hit)
    links = pd.DataFrame(rows, columns=["outcome_id", "entity_type", "entity_id", "how"])
    return Resolution(links, reports, len(outcomes), len(links))


def linked_outcomes(outcomes: pd.DataFrame, resolution: Resolution) -> pd.DataFrame:
    """Outcomes with the entity they resolved to (unlinked ones dropped)."""
    return outcomes.merge(resolution.links, on="outcome_id", suffixes=("_declared", ""))


# ------------------------------------------------------------------------------------------ features
def _peer_below(f: pd.DataFrame) -> pd.Series:
    peers = f.groupby(["worksite_region", "program", "fiscal_year"], dropna=False)["hourly_wage"].transform("median")
    below = (f["hourly_wage"] < WAGE_BELOW_PEER * peers).astype("float64")
    return below.where(f["hourly_wage"].notna() & peers.notna())


def _growth(f: pd.DataFrame, key: str, as_of: date) -> pd.Series:
    t = pd.Timestamp(as_of)
    workers = f["workers_requested"].fillna(f["workers_certified"]).fillna(0)
    last = workers.where(f["decided_on"] >= t - pd.Timedelta(days=365), 0).groupby(f[key]).sum()
    prior_mask = (f["decided_on"] < t - pd.Timedelta(days=365)) & (f["decided_on"] >= t - pd.Timedelta(days=730))
    prior = workers.where(prior_mask, 0).groupby(f[key]).sum()
    return (last / prior.where(prior > 0)).rename("growth")


def employer_features(
    filings: pd.DataFrame, debarred_before: set[str], flc: pd.DataFrame | None, as_of: date
) -> pd.DataFrame:
    """One row per employer with a filing before ``as_of`` (``filings`` from ``before``); index employer_id.

    ``debarred_before``: employers with an outcome starting before ``as_of`` (their own E15 and the agents'
    E13). ``flc``: the labour contractor register (certificates started before ``as_of`` count).
    """
    f = filings.copy()
    f["wage_below"] = _peer_below(f)
    recent = f[f["decided_on"] >= pd.Timestamp(as_of - timedelta(days=WINDOW_DAYS))]
    g_all = f.groupby("employer_id")
    g = recent.groupby("employer_id")
    out = pd.DataFrame(index=pd.Index(sorted(g_all.groups), name="employer_id"))
    out["filings"] = g.size().reindex(out.index).fillna(0)
    out["filings_wage"] = g["wage_below"].count().reindex(out.index).fillna(0)
    set_ratio(out, "wage_below_peer_share", g["wage_below"].sum(), out["filings_wage"])
    out["workers_certified"] = g["workers_certified"].sum().reindex(out.index).fillna(0)
    both = recent.dropna(subset=["workers_requested", "workers_certified"])
    both = both[both["workers_requested"] > 0]
    gb = both.groupby("employer_id")
    requested = gb["workers_requested"].sum()
    set_ratio(out, "uncertified_share", (requested - gb["workers_certified"].sum()).clip(0, requested), requested)
    set_ratio(out, "denied_share", _count_of(recent, "employer_id", recent["decision"].eq("refused")), out["filings"])
    set_ratio(
        out, "withdrawn_share", _count_of(recent, "employer_id", recent["decision"].eq("withdrawn")), out["filings"]
    )
    contractor = f["labour_contractor"].fillna(False).astype("float64")
    out["labour_contractor"] = contractor.groupby(f["employer_id"]).max().reindex(out.index).fillna(0)
    # Unregistered only while the register is in force (a certificate started before as_of): before it every
    # contractor would count, repeating labour_contractor, so the value is missing.
    started = flc[flc["licence_valid_from"] < pd.Timestamp(as_of)] if flc is not None else None
    if started is not None and len(started):
        registered = {name_key(n) for n in started["name"]}
        unregistered = [0.0 if k in registered else 1.0 for k in out.index]
        out["contractor_unregistered"] = out["labour_contractor"] * unregistered
    else:
        out["contractor_unregistered"] = np.nan
    # E13: the other clients of each agent the employer used, and how many of them were debarred before.
    pairs = f.dropna(subset=["agent_id"])[["agent_id", "employer_id"]].drop_duplicates()
    clients = {a: set(e) for a, e in pairs.groupby("agent_id")["employer_id"]}
    other = pairs.assign(
        n_other=[len(clients[a]) - 1 for a in pairs["agent_id"]],
        debarred_other=[
            len((clients[a] - {e}) & debarred_before)
            for a, e in zip(pairs["agent_id"], pairs["employer_id"], strict=True)
        ],
    )
    by_emp = other.groupby("employer_id")
    out["agent_other_clients"] = by_emp["n_other"].max().reindex(out.index).fillna(0)
    # Shrunk per (agent, employer) pair toward the pairs' rate; the employer takes its agent with the highest.
    prior = fit_beta_prior(other["debarred_other"].astype(float), other["n_other"].astype(float))
    other = other.assign(shrunk=shrink(other["debarred_other"].astype(float), other["n_other"].astype(float), prior))
    top = other.dropna(subset=["shrunk"]).sort_values(["employer_id", "shrunk"], ascending=[True, False])
    top = top.drop_duplicates("employer_id").set_index("employer_id")
    column = "agent_clients_debarred_share"
    out[f"{column}_x"] = top["debarred_other"].reindex(out.index).astype("float64")
    out[f"{column}_n"] = top["n_other"].reindex(out.index).astype("float64")
    out[f"{column}_raw"] = out[f"{column}_x"] / out[f"{column}_n"]
    out[f"{column}_prior"] = prior.mean
    out[column] = top["shrunk"].reindex(out.index)
    out["worksite_states"] = g["worksite_region"].nunique().reindex(out.index).fillna(0)
    out["growth"] = _growth(recent, "employer_id", as_of).reindex(out.index)
    out["prior_debarment"] = [1.0 if e in debarred_before else 0.0 for e in out.index]
    out["employer_name"] = mode(f, "employer_id", "sponsor_name").reindex(out.index)
    out["employer_state"] = mode(f, "employer_id", "employer_state").reindex(out.index).fillna("")
    return out


def agent_features(filings: pd.DataFrame, debarred_before: set[str], as_of: date) -> pd.DataFrame:
    """One row per agent / attorney with a filing before ``as_of``; index agent_id."""
    f = filings.dropna(subset=["agent_id"]).copy()
    f["wage_below"] = _peer_below(filings).reindex(f.index)
    recent = f[f["decided_on"] >= pd.Timestamp(as_of - timedelta(days=WINDOW_DAYS))]
    g_all = f.groupby("agent_id")
    g = recent.groupby("agent_id")
    out = pd.DataFrame(index=pd.Index(sorted(g_all.groups), name="agent_id"))
    clients = pd.Series({a: set(e) for a, e in g_all["employer_id"]}, dtype=object).reindex(out.index)
    out["clients"] = clients.map(len).astype(float)
    out["filings"] = g.size().reindex(out.index).fillna(0)
    out["workers_certified"] = g["workers_certified"].sum().reindex(out.index).fillna(0)
    set_ratio(out, "denied_share", _count_of(recent, "agent_id", recent["decision"].eq("refused")), out["filings"])
    set_ratio(out, "withdrawn_share", _count_of(recent, "agent_id", recent["decision"].eq("withdrawn")), out["filings"])
    contractors = set(f.loc[f["labour_contractor"].fillna(False).astype(bool), "employer_id"])
    n_clients = out["clients"]
    set_ratio(out, "contractor_client_share", clients.map(lambda c: float(len(c & contractors))), n_clients)
    set_ratio(out, "clients_debarred_share", clients.map(lambda c: float(len(c & debarred_before))), n_clients)
    out["filings_wage"] = g["wage_below"].count().reindex(out.index).fillna(0)
    set_ratio(out, "wage_below_peer_share", g["wage_below"].sum(), out["filings_wage"])
    out["worksite_states"] = g["worksite_region"].nunique().reindex(out.index).fillna(0)
    out["growth"] = _growth(recent, "agent_id", as_of).reindex(out.index)
    named = f.assign(agent_name=f["law_firm"].fillna(f["recruiter_name"]))
    out["employer_name"] = mode(named, "agent_id", "agent_name").reindex(out.index)
    out["employer_state"] = mode(f, "agent_id", "agent_state").reindex(out.index).fillna("")
    return out


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


def rule_score(features: pd.DataFrame, entity: DolEntity) -> pd.Series:
    """The issue's simple rule: labour contractors first, then size (workers certified)."""
    contractor = features["labour_contractor"] if entity == "employer" else features["contractor_client_share"]
    return contractor.fillna(0) * 1e9 + features["workers_certified"].fillna(0)


def reason_detail(ind: DolIndicator, row: pd.Series) -> str:
    values = {
        k: (float(v) if isinstance(v, int | float | np.floating) and not pd.isna(v) else 0.0) for k, v in row.items()
    }
    ratio = {part: values.get(f"{ind.id}_{part}", 0.0) for part in ("x", "n", "raw", "prior")}
    try:
        return ind.detail.format(value=values.get(ind.id, 0.0), **ratio, **values)
    except (KeyError, ValueError):
        return ind.title
