"""Labour inspections of one chunk's employers and the outcomes on employers: complaints, the visits they and
a targeting rule bring, follow-ups, police cases, and the labels that referrals become; and the
``labour_inspection`` export."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from data_contracts.contracts import ILO_INDICATORS
from simulator import text
from simulator.chunk_context import ChunkContext
from simulator.columns import where
from simulator.draws import pick_in_group, toward
from simulator.employers import Employers, declared_hourly

# Sector risk as a simple targeting rule would weigh it (high-risk sectors of 003:322-330).
SECTOR_RULE_RISK = np.array([1.0, 0.9, 0.9, 0.8, 0.9, 1.0, 0.7, 0.2])
SEVERE = [
    ILO_INDICATORS.index(k)
    for k in (
        "restriction_of_movement",
        "physical_sexual_violence",
        "intimidation_threats",
        "retention_of_identity_documents",
        "debt_bondage",
    )
]
# Labels from inspection referrals: (outcome kind, probability, first and last day after the visit, issuing body).
REFERRAL_LABELS = ((0, 0.6, 30, 200, 0), (1, 0.4, 60, 300, 1), (4, 0.15, 200, 700, 2))


@dataclass
class OutcomeRows:
    """Outcome rows on employers in the order they are drawn: chunk-local employer, day, kind, issuing body."""

    e: list[np.ndarray] = field(default_factory=list)
    day: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    body: list[np.ndarray] = field(default_factory=list)

    def add(self, e: np.ndarray, day: np.ndarray, kind: np.ndarray, body: np.ndarray) -> None:
        self.e.append(e)
        self.day.append(day)
        self.kind.append(kind)
        self.body.append(body)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "e": np.concatenate(self.e),
            "day": np.concatenate(self.day),
            "kind": np.concatenate(self.kind),
            "body": np.concatenate(self.body),
        }


def inspect(
    c: ChunkContext,
    emp: Employers,
    e: np.ndarray,
    day: np.ndarray,
    trigger: np.ndarray,
    avoid_inspector: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """One visit to each employer ``e`` on ``day``: the inspector, what it found and the outcome."""
    rng, cfg = c.rng, c.cfg
    m = len(e)
    insp = pick_in_group(rng, c.inspectors_by_region, emp.region[e])
    if avoid_inspector is not None:  # a different inspector follows up (I02)
        again = insp == avoid_inspector
        insp[again] = pick_in_group(rng, c.inspectors_by_region, emp.region[e[again]])
    covering = c.a.inspector_intensity[insp]  # 0 for clean inspectors
    base_announced = np.clip(0.15 * c.a.inspector_habit[insp], 0, 0.9)
    announced = rng.random(m) < np.where(emp.exploit[e], toward(base_announced, 0.75, covering), base_announced)
    detect = (
        cfg.realism.detection_probability
        * toward(1.0, cfg.realism.corrupt_inspector_detection_factor, covering)
        * np.where(announced, cfg.realism.announced_visit_detection_factor, 1.0)
    )
    found = (emp.present[e] & (rng.random((m, len(ILO_INDICATORS))) < detect[:, None])) | (
        emp.minor[e] & (rng.random((m, len(ILO_INDICATORS))) < 0.5)
    )
    saw_exploitation = emp.exploit[e] & (rng.random(m) < detect)
    workers = rng.binomial(emp.size[e], 0.8)
    uses_recruiter = emp.r1[e] >= 0
    # Exploitative employers staff more of their sites with migrant workers on tied permits (003:5172).
    migrants = rng.binomial(workers, toward(np.where(uses_recruiter, 0.5, 0.2), 0.8, emp.intensity[e]))
    wages_found = found[:, ILO_INDICATORS.index("withholding_of_wages")]
    overtime_found = found[:, ILO_INDICATORS.index("excessive_overtime")]
    severe = found[:, SEVERE].sum(axis=1)
    referral = severe >= 2
    prosecution = referral & (rng.random(m) < 0.25)
    outcome = np.where(prosecution, 3, np.where(referral, 2, np.where(found.any(axis=1), 1, 0)))
    fee_seen = uses_recruiter & (rng.random(m) < 0.5)
    return {
        "e": e,
        "day": day,
        "trigger": trigger,
        "inspector": insp,
        "announced": announced,
        "found": found,
        "workers": workers,
        "migrants": migrants,
        "arrears": np.where(wages_found, (workers * rng.uniform(100, 800, m)).round(0), 0.0),
        "hours": np.where(overtime_found, emp.hours[e], np.minimum(emp.hours[e], 48.0)) + rng.normal(0, 1.5, m),
        "wage": (
            declared_hourly(c.a, emp, e) * np.where(saw_exploitation, emp.found_ratio[e], rng.uniform(0.95, 1.1, m))
        ),
        "minors": np.where(emp.minors_present[e] & (rng.random(m) < detect), rng.integers(1, 6, m), 0),
        "fee": np.where(fee_seen, c.a.rec_charged_fee[np.maximum(emp.r1[e], 0)] * rng.uniform(0.8, 1.2, m), np.nan),
        "outcome": outcome,
    }


def inspections_and_outcomes(c: ChunkContext, emp: Employers) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every visit (``inspect``'s columns) and every outcome on an employer (e, day, kind, body) in the window,
    each after the employer began to operate."""
    rng = c.rng
    n = len(emp.gid)
    parts: list[dict[str, np.ndarray]] = []
    outcomes = OutcomeRows()
    prior = np.zeros(n, dtype=bool)
    rule = SECTOR_RULE_RISK[emp.sector] + 0.35 * np.log10(emp.size)
    for y in range(c.cfg.world.years):
        parts += _inspection_year(c, emp, y * 365, rule, prior, outcomes)
    insp = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    keep = (insp["day"] < c.days) & (insp["day"] >= emp.active_from[insp["e"]])
    insp = {k: v[keep] for k, v in insp.items()}
    # Labels from inspections: referrals become substantiated cases, debarments, convictions.
    ref = insp["outcome"] >= 2
    for kind, p, lo, hi, body in REFERRAL_LABELS:
        hit = ref & (
            rng.random(len(ref)) < (p * (2.0 if kind == 4 else 1.0) * np.where(insp["outcome"] == 3, 1.5, 1.0))
        )
        outcomes.add(
            insp["e"][hit],
            insp["day"][hit] + rng.integers(lo, hi, int(hit.sum())),
            np.full(int(hit.sum()), kind),
            np.full(int(hit.sum()), body),
        )
    out = outcomes.arrays()
    keep = (out["day"] < c.days) & (out["day"] >= emp.active_from[out["e"]])
    return insp, {k: v[keep] for k, v in out.items()}


def _inspection_year(
    c: ChunkContext, emp: Employers, y0: int, rule: np.ndarray, prior: np.ndarray, outcomes: OutcomeRows
) -> list[dict[str, np.ndarray]]:
    """The visits of the year from day ``y0`` (``prior``: employers found in violation before, updated) and,
    added to ``outcomes``, its complaints, police cases and false labels."""
    rng, r = c.rng, c.cfg.realism
    n = len(emp.gid)
    # Complaints from workers, NGOs and unions (003:5002): far more at exploitative employers.
    n_compl = rng.poisson(0.03 + 0.45 * emp.intensity)
    ce = np.repeat(np.arange(n), n_compl)
    cday = y0 + rng.integers(0, 365, len(ce))
    outcomes.add(ce, cday, np.full(len(ce), 5), rng.integers(3, 6, len(ce)))
    visits = _visits(c, emp, y0, ce, cday, rule, prior)
    # Police investigations that reach employers without an inspection.
    police = np.flatnonzero(emp.exploit & (rng.random(n) < 0.03))
    false_label = np.flatnonzero(~emp.exploit & (rng.random(n) < r.label_false_positive_rate))
    for idx in (police, false_label):
        outcomes.add(idx, y0 + rng.integers(0, 365, len(idx)), np.zeros(len(idx), dtype=np.int64), np.full(len(idx), 6))
    return visits


def _visits(
    c: ChunkContext,
    emp: Employers,
    y0: int,
    ce: np.ndarray,
    cday: np.ndarray,
    rule: np.ndarray,
    prior: np.ndarray,
) -> list[dict[str, np.ndarray]]:
    """The year's visits: after complaints (``ce`` on ``cday``), targeted, random, and the follow-ups."""
    rng, r = c.rng, c.cfg.realism
    n = len(emp.gid)
    go = rng.random(len(ce)) < r.complaint_inspection_probability
    score = rule + 1.0 * prior
    p_t = np.clip(r.targeted_inspections_per_year * score / score.mean(), 0, 0.9)
    targeted = np.flatnonzero(rng.random(n) < p_t)
    rand = np.flatnonzero(rng.random(n) < r.random_inspections_per_year)
    # Tips that never reach the export (police, NGOs, confidential hotlines) bring inspectors to the
    # exploitative employers that draw fewer complaints: with the complaints, as many visits as if every
    # one acted openly. The inspectorate records such a visit as targeted.
    tips = np.repeat(np.arange(n), c.mrng.poisson(0.45 * (1 - emp.intensity) * emp.exploit))
    tips = tips[c.mrng.random(len(tips)) < r.complaint_inspection_probability]
    targeted = np.concatenate([targeted, tips])
    e = np.concatenate([ce[go], targeted, rand])
    day = np.concatenate(
        [
            cday[go] + rng.integers(5, 40, int(go.sum())),
            y0 + rng.integers(0, 365, len(targeted) + len(rand)),
        ]
    )
    trig = np.concatenate([np.full(int(go.sum()), 1), np.full(len(targeted), 2), np.full(len(rand), 0)])
    visits = inspect(c, emp, e, day, trig)
    any_found = visits["found"].any(axis=1)
    fu = any_found & (rng.random(len(e)) < r.follow_up_probability)
    follow_ups = inspect(c, emp, e[fu], day[fu] + rng.integers(30, 120, int(fu.sum())), np.full(int(fu.sum()), 3))
    # A clean visit by a corrupt inspector at an exploitative site is often followed by another
    # inspector finding violations soon after (I02, 003:1367).
    tipped = emp.exploit[e] & ~any_found & (rng.random(len(e)) < 0.8 * c.a.inspector_intensity[visits["inspector"]])
    second_looks = inspect(
        c,
        emp,
        e[tipped],
        day[tipped] + rng.integers(14, 60, int(tipped.sum())),
        np.full(int(tipped.sum()), 1),
        visits["inspector"][tipped],
    )
    prior[e[any_found]] = True
    return [visits, follow_ups, second_looks]


def inspection_table(
    c: ChunkContext,
    emp: Employers,
    insp: dict[str, np.ndarray],
    insp_e: np.ndarray,
    reg_no: pa.Array,
    emp_scripted: np.ndarray,
    rec_scripted: np.ndarray,
) -> pa.Table:
    """The ``labour_inspection`` export: one row per visit (``insp_e``: the employer visited, successors
    included)."""
    rng, a, cal = c.rng, c.a, c.cal
    variant = c.cfg.realism.name_variant_share
    found = insp["found"]
    contractor = emp.contractor[insp_e]
    inspection_ids = c.ids("INS", insp["day"])
    cols: dict[str, pa.Array] = {
        "record_id": inspection_ids,
        "inspection_id": inspection_ids,
        "organisation_registration_no": reg_no.take(pa.array(insp_e)),
        "worksite_name": text.category(emp.names, c.in_script(text.choose_variant(rng, insp_e, variant), emp_scripted)),
        "worksite_region": text.category(c.region_names(), emp.region[insp_e]),
        "inspector_badge_no": text.category(a.inspector_badge, insp["inspector"]),
        "inspected_on": cal.date(insp["day"]),
        "trigger": text.category(text.strings(("random", "complaint", "targeted", "follow_up")), insp["trigger"]),
        "announced": pa.array(insp["announced"]),
        "workers_present": pa.array(insp["workers"]),
        "migrant_workers": pa.array(insp["migrants"]),
    }
    for j, name in enumerate(ILO_INDICATORS):
        cols[f"finding_{name}"] = pa.array(found[:, j])
    contractor_position = c.in_script(text.choose_variant(rng, np.maximum(contractor, 0), variant), rec_scripted)
    cols.update(
        {
            "wage_arrears_usd": pa.array(insp["arrears"]),
            "avg_weekly_hours": pa.array(np.round(insp["hours"], 1)),
            "wage_found_hourly_usd": pa.array(np.round(insp["wage"], 2)),
            "minors_found": pa.array(insp["minors"]),
            "housing_by_employer": pa.array(emp.housing[insp_e]),
            "transport_by_employer": pa.array(emp.transport[insp_e]),
            "labour_contractor_name": where(
                pa.array(contractor >= 0),
                text.category(*a.recruiter_names(contractor, insp["day"], contractor_position)),
            ),
            "recruitment_fee_reported_usd": pa.array(np.round(insp["fee"], 0), from_pandas=True),
            "outcome": text.category(
                text.strings(("none", "administrative", "forced_labour_referral", "prosecution")),
                insp["outcome"],
            ),
            "_day": pa.array(insp["day"]),
        }
    )
    return pa.table(cols)


def recruiter_findings(emp: Employers, insp: dict[str, np.ndarray], insp_e: np.ndarray) -> dict[int, int]:
    """Per recruiter: placements at employers referred for forced labour (R08 drives revocations)."""
    referred = np.unique(insp_e[insp["outcome"] >= 2])
    findings: dict[int, int] = {}
    for r in np.concatenate([emp.r1[referred], emp.contractor[referred]]):
        if r >= 0:
            findings[int(r)] = findings.get(int(r), 0) + 1
    return findings
