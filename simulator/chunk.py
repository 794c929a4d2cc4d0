"""One chunk of the world: a block of employers with their planted traits and every record they cause.

A chunk is generated from its own random stream (seed, chunk index), so chunks can run in any order,
in any process, and the output is byte-identical. Times are integer offsets from the window start:
``day`` in days, ``sec`` in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.contracts import ILO_INDICATORS, OUTCOME_KINDS, SECTORS, VISA_CLASSES
from simulator import text
from simulator.actors import (
    AGENCY_TYPES,
    DESTINATION_COUNTRIES,
    NEVER,
    ORIGIN_COUNTRIES,
    PASSPORTS_PER_BLOCK,
    PLATE_NUMBERS,
    PLATE_PREFIX,
    Actors,
    _csr,
    intensity,
    pick_in_group,
    side_stream,
    toward,
)
from simulator.config import SimulationConfig
from simulator.schema import AGE_BANDS
from simulator.scripts import DESTINATION_SCRIPT, ORIGIN_SCRIPT, script_index, write_names
from simulator.supply import buyer_ids, draw_tiers

SECTOR_P = (0.22, 0.15, 0.15, 0.08, 0.12, 0.05, 0.10, 0.13)
SECTOR_WORD = ("Agro", "Construction", "Apparel", "Household", "Hospitality", "Marine", "Food", "General")
# Sector risk as a simple targeting rule would weigh it (high-risk sectors of 003:322-330).
SECTOR_RULE_RISK = np.array([1.0, 0.9, 0.9, 0.8, 0.9, 1.0, 0.7, 0.2])
OCCUPATIONS = {
    0: ("farm worker", "harvester", "packer"),
    1: ("labourer", "mason", "carpenter"),
    2: ("sewing machinist", "cutter", "finisher"),
    3: ("domestic worker", "caregiver", "nanny"),
    4: ("cook", "waiter", "housekeeper"),
    5: ("deckhand", "fisher", "processor"),
    6: ("meat cutter", "line worker", "packer"),
    7: ("warehouse worker", "cleaner", "driver"),
}
ENTERTAINER_OCCUPATIONS = ("hostess", "dancer", "model", "entertainer")
OCCUPATION_TEXT = pa.array(
    [o for s in sorted(OCCUPATIONS) for o in OCCUPATIONS[s]] + list(ENTERTAINER_OCCUPATIONS), type=pa.string()
)
# P(indicator present | exploitative employer), in ILO_INDICATORS order.
ILO_PRESENT_P = np.array([0.5, 0.5, 0.3, 0.3, 0.1, 0.35, 0.5, 0.6, 0.45, 0.4, 0.6])
# Minor violations at clean employers (in the same order): overtime and arrears are common everywhere.
ILO_CLEAN_P = np.array([0.005, 0.01, 0.002, 0.005, 0.002, 0.005, 0.01, 0.05, 0.005, 0.03, 0.08])
OVERTIME = ILO_INDICATORS.index("excessive_overtime")
NEW_EMPLOYER_MARGIN_DAYS = 180  # employers founded in the window are founded at least this long before its end
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
STAY_DAYS = np.array([730, 240, 730, 180, 30, 21, 365, 1_095, 180])  # per VISA_CLASSES
PREVAILING_WAGE = np.array([9.0, 14.0, 8.5, 7.0, 9.5, 10.0, 10.5, 11.0])  # USD / hour per sector
MEAN_EMPLOYER_SIZE = 27.0
HOURS_PER_MONTH = 173.3


@dataclass
class Employers:
    """Employers of one chunk (originals first, then successors created by displacement)."""

    gid: np.ndarray  # registration number (random within the chunk's block, successors' alike)
    sector: np.ndarray
    country: np.ndarray
    region: np.ndarray  # global region index = country * n_regions + r
    size: np.ndarray
    exploit: np.ndarray
    intensity: np.ndarray  # how openly it exploits (config markers; 0: clean)
    present: np.ndarray  # [n, 11] ILO indicators present
    minor: np.ndarray  # [n, 11] minor violations at otherwise clean employers
    housing: np.ndarray
    transport: np.ndarray
    minors_present: np.ndarray
    wage_ratio: np.ndarray  # declared wage / prevailing wage
    found_ratio: np.ndarray  # wage found at inspection / declared wage
    hours: np.ndarray  # true average weekly hours
    r1: np.ndarray  # main recruiter (-1: none)
    r2: np.ndarray  # second recruiter (-1: none)
    contractor: np.ndarray  # labour contractor seen on site (-1: none)
    network: np.ndarray  # abusive recruiter whose network it belongs to (-1: none)
    registered_on: np.ndarray  # day offset
    names: pa.Array  # flattened name variants
    address: pa.Array
    phone: pa.Array
    directors: pa.Array
    predecessor: np.ndarray  # chunk-local index of the displaced employer (-1: none)
    active_from: np.ndarray  # day offset from which it operates
    successor_from: np.ndarray  # day from which its activity moved to a successor (large: never)


@dataclass
class ChunkResult:
    tables: dict[str, pa.Table]
    truth: dict[str, pa.Table]
    # Per recruiter: placements at employers with a forced-labour referral (for licence revocations).
    recruiter_findings: dict[int, int] = field(default_factory=dict)


class ChunkBuilder:
    def __init__(
        self,
        cfg: SimulationConfig,
        actors: Actors,
        chunk: int,
        first: int,
        count: int,
        rng: np.random.Generator,
        calendar: text.Calendar,
    ) -> None:
        self.cfg = cfg
        self.a = actors
        self.chunk = chunk
        self.first = first
        self.count = count
        self.rng = rng
        self.cal = calendar
        self.days = cfg.world.years * 365
        n_c = actors.n_countries
        self.posts_per_country = int(np.sum(actors.post_country == 0))
        self.desks_by_post = _csr(actors.desk_post, actors.n_posts)
        self.bposts_per_country = int(np.sum(actors.bpost_country == 0))
        self.officers_by_bpost = _csr(actors.officer_bpost, len(actors.bpost_country))
        self.inspectors_by_region = _csr(actors.inspector_region, n_c * actors.n_regions)
        self.abusive_pool = np.flatnonzero(actors.rec_abusive)
        self.clean_pool = np.flatnonzero(~actors.rec_abusive)
        self.unregistered_pool = np.flatnonzero(~actors.rec_in_registry)
        self.travel_pool = np.flatnonzero(actors.rec_type == AGENCY_TYPES.index("travel_agency"))
        self._serial = 0
        # Identifiers from a stream of their own: registration numbers are a random draw from the chunk's
        # block (originals and successors alike), serial ids follow event time.
        self.id_rng = side_stream(rng, 97)
        self.mrng = side_stream(rng, 94)  # marker intensities and base rates
        self.script_rng = side_stream(rng, 93)  # which records write a name in its country's script
        block = 2 * cfg.world.employers_per_chunk
        self.registration_numbers = chunk * block + self.id_rng.permutation(block)

    # ------------------------------------------------------------------ ids
    def serials(self, day: np.ndarray | int) -> np.ndarray:
        """Chunk-unique serial numbers (4-digit chunk + 8-digit serial), handed out in the order of ``day``; for
        a row count instead of days, in random order (a register's rows)."""
        n = day if isinstance(day, int) else len(day)
        start = self._serial
        self._serial += n
        rank = self.id_rng.permutation(n) if isinstance(day, int) else text.chronological_rank(day, self.id_rng)
        serial: np.ndarray = self.chunk * PASSPORTS_PER_BLOCK + start + rank
        return serial

    def ids(self, prefix: str, day: np.ndarray | int) -> pa.Array:
        """Chunk-unique identifiers (prefix + 12 digits) numbered in the order of ``day`` (see ``serials``)."""
        return text.padded_ids(prefix, self.serials(day), 12)

    def passports(self, day: np.ndarray) -> pa.Array:
        """Passport numbers: 'P' + 12 digits, scrambled (their order and range say nothing of the holder)."""
        return text.padded_ids("P", text.scrambled_numbers(self.a.passport_keys, self.serials(day)), 12)

    def written(self, canonical: pa.Array, base: pa.Array, country: np.ndarray) -> pa.Array:
        """Employers' names in the script of their (destination) country (simulator.scripts)."""
        return write_names(base, canonical, script_index(DESTINATION_SCRIPT, DESTINATION_COUNTRIES, country))

    def in_script(self, position: np.ndarray, scripted: np.ndarray) -> np.ndarray:
        """Name positions (text.choose_variant), a share of them moved to the name in its country's script
        (``scripted``: per entity, whether that script is not Latin)."""
        return text.in_script(self.script_rng, position, self.cfg.realism.name_script_share, scripted)

    def recruiter_intensity(self, rec: np.ndarray) -> np.ndarray:
        """Intensity (Actors.rec_intensity) of each row's recruiter; 0 where none."""
        out: np.ndarray = np.where(rec >= 0, self.a.rec_intensity[np.maximum(rec, 0)], 0.0)
        return out

    # ------------------------------------------------------------------ employers
    def employers(self) -> Employers:
        rng, cfg, a = self.rng, self.cfg, self.a
        n = self.count
        sector = rng.choice(len(SECTORS), n, p=SECTOR_P)
        country = rng.integers(0, a.n_countries, n)
        region = country * a.n_regions + rng.integers(0, a.n_regions, n)
        size = np.clip(rng.lognormal(2.8, 1.0, n), 3, 3_000).astype(np.int64)
        prev = np.array([cfg.prevalence.exploitative_employer_by_sector[s] for s in SECTORS])
        exploit = rng.random(n) < prev[sector]
        mk, mrng = cfg.markers, self.mrng
        u = intensity(mrng, exploit, mk.employer_intensity, mk.intensity_concentration)
        present = exploit[:, None] & (rng.random((n, len(ILO_INDICATORS))) < ILO_PRESENT_P[None, :])
        minor = ~exploit[:, None] & (rng.random((n, len(ILO_INDICATORS))) < ILO_CLEAN_P[None, :])
        base_abusive = cfg.prevalence.abusive_recruiter * 0.5
        use_abusive = rng.random(n) < toward(base_abusive, cfg.network.abusive_recruiter_affinity, u)
        r1 = np.where(
            use_abusive,
            self.abusive_pool[rng.integers(0, max(len(self.abusive_pool), 1), n)] if len(self.abusive_pool) else -1,
            self.clean_pool[rng.integers(0, len(self.clean_pool), n)],
        )
        r2 = np.where(rng.random(n) < 0.3, self.clean_pool[rng.integers(0, len(self.clean_pool), n)], -1)
        network = np.where(exploit & use_abusive, r1, -1)
        unregistered = (
            self.unregistered_pool[rng.integers(0, len(self.unregistered_pool), n)]
            if len(self.unregistered_pool)
            else np.full(n, -1)
        )
        contractor = np.where(
            rng.random(n) < toward(0.03, 0.35, u),
            unregistered,
            np.where(rng.random(n) < 0.25, r1, -1),
        )
        age_days = np.where(mrng.random(n) < u, rng.gamma(1.5, 900, n), rng.gamma(3.0, 2_000, n)).astype(np.int64)
        # Some employers, planted and clean alike, are founded in the window and act from that day on.
        founded = mrng.random(n) < mk.new_employer_share
        founded_day = mrng.integers(0, max(self.days - NEW_EMPLOYER_MARGIN_DAYS, 1), n)
        registered_on = np.where(founded, founded_day, -age_days - 1)
        canonical, base, suffix = text.organisation_names(rng, n, text.pick(text.strings(SECTOR_WORD), sector))
        city = text.pick(a.country_names, country)
        own_directors = text.join(text.person_names(rng, n), "; ", text.person_names(rng, n))
        # Some employers founded in the window share a director with an older employer (the same owner's
        # second company), planted or clean alike.
        second_company = founded & (mrng.random(n) < mk.founder_shared_director_share)
        first_directors = pc.list_element(pc.split_pattern(own_directors, "; "), 0)
        own_directors = pc.if_else(
            pa.array(second_company),
            text.join(text.person_names(rng, n), "; ", first_directors.take(pa.array(mrng.integers(0, n, n)))),
            own_directors,
        )
        in_net = network >= 0
        share_dir = in_net & (rng.random(n) < cfg.network.shared_director_with_network * u)
        share_phone = in_net & (rng.random(n) < cfg.network.shared_phone_with_network * u)
        # Clean employers sometimes share a recruiter's phone too (a relative, a shared office).
        contact = ~in_net & (mrng.random(n) < mk.clean_network_contact_share)
        share_phone |= contact
        net_idx = np.where(contact, mrng.integers(0, a.n_recruiters, n), np.maximum(network, 0))
        directors = pc.if_else(
            pa.array(share_dir),
            text.join(text.person_names(rng, n), "; ", a.rec_network_director.take(net_idx)),
            own_directors,
        )
        phone = pc.if_else(pa.array(share_phone), a.rec_network_phone.take(net_idx), text.phones(rng, n))
        return Employers(
            gid=self.registration_numbers[:n],
            sector=sector,
            country=country,
            region=region,
            size=size,
            exploit=exploit,
            intensity=u,
            present=present,
            minor=minor,
            housing=rng.random(n) < toward(0.2, 0.75, u),
            transport=rng.random(n) < toward(0.15, 0.6, u),
            minors_present=rng.random(n) < toward(mk.clean_minors_share, 0.15, u),
            wage_ratio=toward(rng.normal(1.05, 0.08, n), rng.normal(0.88, 0.1, n), u),
            found_ratio=toward(rng.uniform(0.95, 1.1, n), rng.uniform(0.4, 0.8, n), u),
            # Overtime as an ILO indicator, as a minor violation, or none.
            hours=np.where(
                present[:, OVERTIME],
                rng.normal(64, 6, n),
                np.where(minor[:, OVERTIME], mrng.normal(52, 3, n), rng.normal(43, 3, n)),
            ),
            r1=r1,
            r2=r2,
            contractor=contractor,
            network=network,
            registered_on=registered_on,
            names=text.name_variants(canonical, base, suffix, self.written(canonical, base, country)),
            address=text.addresses(rng, n, city),
            phone=phone,
            directors=directors,
            predecessor=np.full(n, -1),
            active_from=np.where(founded, founded_day, -(10**6)),
            successor_from=np.full(n, 10**6),
        )

    # ------------------------------------------------------------------ inspections
    def inspect(
        self,
        emp: Employers,
        e: np.ndarray,
        day: np.ndarray,
        trigger: np.ndarray,
        avoid_inspector: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        rng, cfg = self.rng, self.cfg
        m = len(e)
        insp = pick_in_group(rng, self.inspectors_by_region, emp.region[e])
        if avoid_inspector is not None:  # a different inspector follows up (I02)
            again = insp == avoid_inspector
            insp[again] = pick_in_group(rng, self.inspectors_by_region, emp.region[e[again]])
        covering = self.a.inspector_intensity[insp]  # 0 for clean inspectors
        base_announced = np.clip(0.15 * self.a.inspector_habit[insp], 0, 0.9)
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
                self.declared_hourly(emp, e) * np.where(saw_exploitation, emp.found_ratio[e], rng.uniform(0.95, 1.1, m))
            ),
            "minors": np.where(emp.minors_present[e] & (rng.random(m) < detect), rng.integers(1, 6, m), 0),
            "fee": np.where(
                fee_seen, self.a.rec_charged_fee[np.maximum(emp.r1[e], 0)] * rng.uniform(0.8, 1.2, m), np.nan
            ),
            "outcome": outcome,
        }

    def declared_hourly(self, emp: Employers, e: np.ndarray) -> np.ndarray:
        region_factor = 0.85 + 0.06 * (emp.region[e] % self.a.n_regions)
        wage: np.ndarray = (
            PREVAILING_WAGE[emp.sector[e]] * (1 + 0.1 * emp.country[e]) * region_factor * emp.wage_ratio[e]
        )
        return wage

    def inspections_and_outcomes(self, emp: Employers) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        rng, r = self.rng, self.cfg.realism
        n = len(emp.gid)
        parts: list[dict[str, np.ndarray]] = []
        out_e: list[np.ndarray] = []
        out_day: list[np.ndarray] = []
        out_kind: list[np.ndarray] = []
        out_body: list[np.ndarray] = []
        prior = np.zeros(n, dtype=bool)
        rule = SECTOR_RULE_RISK[emp.sector] + 0.35 * np.log10(emp.size)
        for y in range(self.cfg.world.years):
            y0 = y * 365
            # Complaints from workers, NGOs and unions (003:5002): far more at exploitative employers.
            n_compl = rng.poisson(0.03 + 0.45 * emp.intensity)
            ce = np.repeat(np.arange(n), n_compl)
            cday = y0 + rng.integers(0, 365, len(ce))
            out_e.append(ce)
            out_day.append(cday)
            out_kind.append(np.full(len(ce), 5))
            out_body.append(rng.integers(3, 6, len(ce)))
            go = rng.random(len(ce)) < r.complaint_inspection_probability
            score = rule + 1.0 * prior
            p_t = np.clip(r.targeted_inspections_per_year * score / score.mean(), 0, 0.9)
            targeted = np.flatnonzero(rng.random(n) < p_t)
            rand = np.flatnonzero(rng.random(n) < r.random_inspections_per_year)
            # Tips that never reach the export (police, NGOs, confidential hotlines) bring inspectors to the
            # exploitative employers that draw fewer complaints: with the complaints, as many visits as if every
            # one acted openly. The inspectorate records such a visit as targeted.
            tips = np.repeat(np.arange(n), self.mrng.poisson(0.45 * (1 - emp.intensity) * emp.exploit))
            tips = tips[self.mrng.random(len(tips)) < r.complaint_inspection_probability]
            targeted = np.concatenate([targeted, tips])
            e = np.concatenate([ce[go], targeted, rand])
            day = np.concatenate(
                [
                    cday[go] + rng.integers(5, 40, int(go.sum())),
                    y0 + rng.integers(0, 365, len(targeted) + len(rand)),
                ]
            )
            trig = np.concatenate([np.full(int(go.sum()), 1), np.full(len(targeted), 2), np.full(len(rand), 0)])
            visits = self.inspect(emp, e, day, trig)
            parts.append(visits)
            any_found = visits["found"].any(axis=1)
            fu = any_found & (rng.random(len(e)) < r.follow_up_probability)
            parts.append(
                self.inspect(emp, e[fu], day[fu] + rng.integers(30, 120, int(fu.sum())), np.full(int(fu.sum()), 3))
            )
            # A clean visit by a corrupt inspector at an exploitative site is often followed by another
            # inspector finding violations soon after (I02, 003:1367).
            tipped = (
                emp.exploit[e]
                & ~any_found
                & (rng.random(len(e)) < 0.8 * self.a.inspector_intensity[visits["inspector"]])
            )
            parts.append(
                self.inspect(
                    emp,
                    e[tipped],
                    day[tipped] + rng.integers(14, 60, int(tipped.sum())),
                    np.full(int(tipped.sum()), 1),
                    visits["inspector"][tipped],
                )
            )
            prior[e[any_found]] = True
            # Police investigations that reach employers without an inspection.
            police = np.flatnonzero(emp.exploit & (rng.random(n) < 0.03))
            false_label = np.flatnonzero(~emp.exploit & (rng.random(n) < r.label_false_positive_rate))
            for idx in (police, false_label):
                out_e.append(idx)
                out_day.append(y0 + rng.integers(0, 365, len(idx)))
                out_kind.append(np.zeros(len(idx), dtype=np.int64))
                out_body.append(np.full(len(idx), 6))
        insp = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        keep = (insp["day"] < self.days) & (insp["day"] >= emp.active_from[insp["e"]])
        insp = {k: v[keep] for k, v in insp.items()}
        # Labels from inspections: referrals become substantiated cases, debarments, convictions.
        ref = insp["outcome"] >= 2
        for kind, p, lo, hi, body in ((0, 0.6, 30, 200, 0), (1, 0.4, 60, 300, 1), (4, 0.15, 200, 700, 2)):
            hit = ref & (
                rng.random(len(ref)) < (p * (2.0 if kind == 4 else 1.0) * np.where(insp["outcome"] == 3, 1.5, 1.0))
            )
            out_e.append(insp["e"][hit])
            out_day.append(insp["day"][hit] + rng.integers(lo, hi, int(hit.sum())))
            out_kind.append(np.full(int(hit.sum()), kind))
            out_body.append(np.full(int(hit.sum()), body))
        outcomes = {
            "e": np.concatenate(out_e),
            "day": np.concatenate(out_day),
            "kind": np.concatenate(out_kind),
            "body": np.concatenate(out_body),
        }
        keep = (outcomes["day"] < self.days) & (outcomes["day"] >= emp.active_from[outcomes["e"]])
        return insp, {k: v[keep] for k, v in outcomes.items()}

    # ------------------------------------------------------------------ displacement
    def displace(self, emp: Employers, outcomes: dict[str, np.ndarray]) -> Employers:
        """Sanctioned exploitative employers re-register under a new name (003:2799, 003:5020).

        The successor keeps a director, often the phone and address, and takes over the activity
        from its registration day on.
        """
        rng = self.rng
        sanction = outcomes["kind"] <= 1
        sanction |= outcomes["kind"] == 4
        first_sanction = np.full(len(emp.gid), 10**6)
        np.minimum.at(first_sanction, outcomes["e"][sanction], outcomes["day"][sanction])
        reg_day = first_sanction + rng.integers(30, 180, len(emp.gid))
        moves = np.flatnonzero(
            emp.exploit
            & (first_sanction < 10**6)
            & (reg_day < self.days)
            & (rng.random(len(emp.gid)) < self.cfg.realism.displacement_share)
            & (reg_day >= self.cfg.realism.displacement_start_day)
        )
        if len(moves) == 0:
            return emp
        k = len(moves)
        canonical, base, suffix = text.organisation_names(
            rng, k, text.pick(text.strings(SECTOR_WORD), emp.sector[moves])
        )
        kept_director = pc.utf8_slice_codeunits(
            pc.list_element(pc.split_pattern(emp.directors.take(pa.array(moves)), "; "), 0), 0
        )
        same_phone = rng.random(k) < 0.6
        same_address = rng.random(k) < 0.5
        emp.successor_from[moves] = reg_day[moves]
        r1, r2, contractor = self.unlicensed_recruitment(emp, moves)

        def cat(arr: np.ndarray, new: np.ndarray) -> np.ndarray:
            return np.concatenate([arr, new])

        n_old = len(emp.gid)
        names_new = text.name_variants(canonical, base, suffix, self.written(canonical, base, emp.country[moves]))
        return (
            Employers(
                gid=cat(emp.gid, self.registration_numbers[n_old : n_old + k]),
                sector=cat(emp.sector, emp.sector[moves]),
                country=cat(emp.country, emp.country[moves]),
                region=cat(emp.region, emp.region[moves]),
                size=cat(emp.size, emp.size[moves]),
                exploit=cat(emp.exploit, emp.exploit[moves]),
                intensity=cat(emp.intensity, emp.intensity[moves]),
                present=np.vstack([emp.present, emp.present[moves]]),
                minor=np.vstack([emp.minor, emp.minor[moves]]),
                housing=cat(emp.housing, emp.housing[moves]),
                transport=cat(emp.transport, emp.transport[moves]),
                minors_present=cat(emp.minors_present, emp.minors_present[moves]),
                wage_ratio=cat(emp.wage_ratio, emp.wage_ratio[moves]),
                found_ratio=cat(emp.found_ratio, emp.found_ratio[moves]),
                hours=cat(emp.hours, emp.hours[moves]),
                r1=cat(emp.r1, r1),
                r2=cat(emp.r2, r2),
                contractor=cat(emp.contractor, contractor),
                network=cat(emp.network, emp.network[moves]),
                registered_on=cat(emp.registered_on, reg_day[moves]),
                names=pa.concat_arrays([emp.names, names_new]),
                address=pa.concat_arrays(
                    [
                        emp.address,
                        pc.if_else(
                            pa.array(same_address),
                            emp.address.take(pa.array(moves)),
                            text.addresses(rng, k, text.pick(self.a.country_names, emp.country[moves])),
                        ),
                    ]
                ),
                phone=pa.concat_arrays(
                    [
                        emp.phone,
                        pc.if_else(pa.array(same_phone), emp.phone.take(pa.array(moves)), text.phones(rng, k)),
                    ]
                ),
                directors=pa.concat_arrays([emp.directors, text.join(kept_director, "; ", text.person_names(rng, k))]),
                predecessor=cat(emp.predecessor, moves),
                active_from=cat(emp.active_from, reg_day[moves]),
                successor_from=cat(emp.successor_from, np.full(k, 10**6)),
            )
            if n_old
            else emp
        )

    def unlicensed_recruitment(self, emp: Employers, moves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Recruiters (main, second, on-site contractor) of the successors of employers ``moves``: their
        predecessor's, except that with probability realism.unlicensed_shift_share a successor recruits through
        an operator that goes on unlicensed under a new name (Actors.rec_shift_day): its own network's recruiter
        if that one does, else one drawn among those that do; it drops its licensed second agency and the
        operator supplies its site. Drawn from a stream of its own (the chunk's draws stay as they were)."""
        r1, r2, contractor = emp.r1[moves], emp.r2[moves], emp.contractor[moves]
        operators = np.flatnonzero(self.a.rec_shift_day < NEVER)
        if len(operators) == 0:
            return r1, r2, contractor
        srng = side_stream(self.rng, 98)
        k = len(moves)
        switch = srng.random(k) < self.cfg.realism.unlicensed_shift_share
        network = emp.network[moves]
        own = (network >= 0) & (self.a.rec_shift_day[np.maximum(network, 0)] < NEVER)
        operator = np.where(own, network, operators[srng.integers(0, len(operators), k)])
        return (
            np.where(switch, operator, r1),
            np.where(switch, -1, r2),
            np.where(switch, operator, contractor),
        )

    # ------------------------------------------------------------------ supply chains
    def supply_chains(self, emp: Employers, reg_no: pa.Array) -> tuple[np.ndarray, pa.Array]:
        """Tier (0, 1, 2) and ``supplies_to`` (buyer id or tier-1 registration number) per employer.

        Drawn from a stream spawned off the chunk's own (no draw of the chunk stream is consumed). A successor
        of a displaced supplier keeps its predecessor's customer: the buyer goes on sourcing from the new name."""
        srng = side_stream(self.rng, 99)
        original = emp.predecessor < 0
        n_orig = int(original.sum())  # originals come first (displace appends successors)
        tier = np.zeros(len(emp.gid), dtype=np.int64)
        customer = np.full(len(emp.gid), -1, dtype=np.int64)
        tier[:n_orig], customer[:n_orig] = draw_tiers(
            emp.exploit[:n_orig], self.a.n_buyers, self.cfg.supply_chain, srng
        )
        succ = np.flatnonzero(~original)
        tier[succ], customer[succ] = tier[emp.predecessor[succ]], customer[emp.predecessor[succ]]
        values: list[str | None] = [None] * len(emp.gid)
        t1 = np.flatnonzero(tier == 1)
        for i, b in zip(t1.tolist(), buyer_ids(customer[t1]), strict=True):
            values[i] = b
        t2 = np.flatnonzero(tier == 2)
        for i, r in zip(t2.tolist(), reg_no.take(pa.array(customer[t2])).to_pylist(), strict=True):
            values[i] = r
        return tier, pa.array(values, type=pa.string())

    def successor_of(self, emp: Employers) -> np.ndarray:
        """Chunk-local index of each employer's successor (-1: none)."""
        succ = np.full(len(emp.gid), -1)
        has = np.flatnonzero(emp.predecessor >= 0)
        succ[emp.predecessor[has]] = has
        return succ

    def move_to_successor(self, emp: Employers, e: np.ndarray, day: np.ndarray) -> np.ndarray:
        succ = self.successor_of(emp)
        moved = (succ[e] >= 0) & (day >= emp.successor_from[e])
        return np.where(moved, succ[e], e)

    # ------------------------------------------------------------------ visa applications
    def visa_applications(self, emp: Employers) -> dict[str, np.ndarray]:
        rng, cfg, a = self.rng, self.cfg, self.a
        originals = np.flatnonzero(emp.predecessor < 0)
        # Exploitative employers rely more on workers whose permits tie them to the employer (E11, 003:5172).
        tied = toward(1.0, 1.6, emp.intensity[originals])
        lam = np.minimum(
            cfg.world.sponsored_applications_per_employer * tied * emp.size[originals] / MEAN_EMPLOYER_SIZE,
            300,
        )
        e = np.repeat(originals, rng.poisson(lam))
        day = rng.integers(0, self.days, len(e))
        active = day >= emp.active_from[e]  # employers founded in the window apply from then on
        e, day = e[active], day[active]
        m = len(e)
        e = self.move_to_successor(emp, e, day)
        direct = rng.random(m) < toward(0.3, 0.1, emp.intensity[e])
        second = (emp.r2[e] >= 0) & (rng.random(m) < 0.4)
        rec = np.where(direct, -1, np.where(second, emp.r2[e], emp.r1[e]))
        rec_u = self.recruiter_intensity(rec)
        sector = emp.sector[e]
        vclass = np.full(m, VISA_CLASSES.index("work"))
        vclass[(sector == 0) & (rng.random(m) < 0.8)] = VISA_CLASSES.index("seasonal_agri")
        vclass[sector == 3] = VISA_CLASSES.index("domestic_worker")
        # Hostess / dancer / model / entertainer placements by abusive recruiters (001:13, 003:3495).
        ent = (sector == 4) & (rng.random(m) < toward(0.08, 0.6, rec_u))
        vclass[ent] = VISA_CLASSES.index("entertainer")
        # Visitor visas for people placed in work (003:1945, 003:5891): the sponsor is hidden.
        visitor_capable = np.isin(a.rec_type[np.maximum(rec, 0)], [2, 3, 4])
        as_visitor = (
            (rec >= 0)
            & visitor_capable
            & (rng.random(m) < toward(cfg.markers.clean_visitor_placement_share, 0.35, rec_u))
        )
        vclass[as_visitor] = np.where(
            rng.random(int(as_visitor.sum())) < 0.8,
            VISA_CLASSES.index("tourist"),
            VISA_CLASSES.index("business"),
        )
        # Index into OCCUPATION_TEXT: three per sector, then the entertainer categories.
        occupation = sector * 3 + rng.integers(0, 3, m)
        occupation = np.where(ent, len(SECTORS) * 3 + rng.integers(0, 4, m), occupation)
        sponsored = {
            "e": e,
            "day": day,
            "rec": rec,
            "vclass": vclass,
            "country": emp.country[e],
            "occupation": occupation,
            "hidden_sponsor": as_visitor,
        }
        # Applications without a sponsor (tourists, students, spouses), some through travel agencies.
        u = rng.poisson(cfg.world.unsponsored_application_share * m)
        via_agency = rng.random(u) < 0.3
        urec = (
            np.where(via_agency, self.travel_pool[rng.integers(0, len(self.travel_pool), u)], -1)
            if len(self.travel_pool)
            else np.full(u, -1)
        )
        unsponsored = {
            "e": np.full(u, -1),
            "day": rng.integers(0, self.days, u),
            "rec": urec,
            "vclass": rng.choice([4, 5, 6, 7, 8], u, p=(0.5, 0.2, 0.15, 0.1, 0.05)),
            "country": rng.integers(0, a.n_countries, u),
            "occupation": np.full(u, -1),
            "hidden_sponsor": np.zeros(u, dtype=bool),
        }
        v = {k: np.concatenate([sponsored[k], unsponsored[k]]) for k in sponsored}
        return self.decide(emp, v)

    def decide(self, emp: Employers, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Post, desk and decision for each application; corrupt desks favour their network."""
        rng, net, a = self.rng, self.cfg.network, self.a
        m = len(v["e"])
        rec, country = v["rec"], v["country"]
        rec_ab = (rec >= 0) & a.rec_abusive[np.maximum(rec, 0)]
        rec_u = self.recruiter_intensity(rec)
        route = rng.random(m) < net.route_to_corrupt_desk * rec_u
        home = (rec >= 0) & (rng.random(m) < 0.85 * (1 - rec_u))
        post = np.where(
            home,
            a.rec_home_post[np.maximum(rec, 0), country],
            country * self.posts_per_country + _weighted_post(rng, a.post_cum_weight, country),
        )
        desk = pick_in_group(rng, self.desks_by_post, post)
        # The corrupt desk this recruiter is a patron of in that country (-1: none).
        corrupt_pick = np.where(rec >= 0, a.rec_pref_desk[np.maximum(rec, 0), country], -1)
        # A corrupt desk takes its network's cases as openly as its intensity says.
        open_desk = self.mrng.random(m) < a.desk_intensity[np.maximum(corrupt_pick, 0)]
        routed = route & (corrupt_pick >= 0) & open_desk
        desk = np.where(routed, corrupt_pick, desk)
        post = a.desk_post[desk]
        # A corrupt desk favours its network's applications as openly as its intensity says.
        favoured = rec_ab & (self.mrng.random(m) < a.desk_intensity[desk])
        habit = a.desk_habit[desk]
        fraud = rng.random(m) < toward(0.02, 0.25, rec_u)
        flag = rng.random(m) < np.where(fraud, 0.7, 0.02)
        p_approve = np.where(flag, 0.15, 0.88) + 0.07 * a.desk_intensity[desk]
        p_approve = np.where(favoured, 0.97, np.minimum(p_approve, 0.95))
        u = rng.random(m)
        decision = np.where(u < 0.02, 2, np.where(u < 0.02 + p_approve * 0.98, 0, 1))
        overturned = (decision == 1) & (rng.random(m) < np.where(favoured, 0.5, np.clip(0.01 * habit, 0, 0.5)))
        decision = np.where(overturned, 0, decision)
        expedited = rng.random(m) < np.where(favoured, 0.4, np.clip(0.03 * habit, 0, 0.5))
        proc_days = (rng.gamma(2.0, 7.0, m) * np.where(favoured, 0.35, 1.0) * np.where(expedited, 0.5, 1.0) + 1).astype(
            np.int64
        )
        submitted = v["day"] * 86_400 + rng.integers(8 * 3600, 17 * 3600, m)
        outside = rng.random(m) < np.where(favoured, 0.35, np.clip(0.03 * habit, 0, 0.5))
        hour = np.where(outside, (rng.integers(18, 31, m)) % 24, rng.integers(9, 17, m))
        decided = (v["day"] + proc_days) * 86_400 + hour * 3600 + rng.integers(0, 3600, m)
        pending = decided >= self.days * 86_400
        decision = np.where(pending, 3, decision)
        age_p_base = np.array([0.005, 0.25, 0.35, 0.22, 0.12, 0.055])
        age_p_young = np.array([0.03, 0.6, 0.3, 0.05, 0.015, 0.005])
        young = (self.mrng.random(m) < rec_u) & (v["vclass"] == VISA_CLASSES.index("entertainer"))
        age = np.where(young, _choice_rows(rng, age_p_young, m), _choice_rows(rng, age_p_base, m))
        e = v["e"]
        sector = np.where(e >= 0, emp.sector[np.maximum(e, 0)], 7)
        female_p = np.array([0.3, 0.1, 0.7, 0.9, 0.6, 0.1, 0.4, 0.3])[sector]
        nationality = np.where(rng.random(m) < 0.9, a.post_origin[post], rng.integers(0, len(ORIGIN_COUNTRIES), m))
        has_sponsor = (e >= 0) & ~v["hidden_sponsor"]
        es = np.maximum(e, 0)
        wage_hourly = np.where(e >= 0, self.declared_hourly(emp, es) * rng.normal(1, 0.03, m), np.nan)
        unit = np.where(sector == 3, 2, np.where(rng.random(m) < 0.1, 1, 0))  # hour, week, month
        wage = wage_hourly * np.array([1.0, 40.0, HOURS_PER_MONTH])[unit]
        approved = decision == 0
        valid_until = np.where(approved, v["day"] + proc_days + STAY_DAYS[v["vclass"]], -(10**6))
        return {
            **v,
            "post": post,
            "desk": desk,
            "fraud": fraud,
            "flag": flag,
            "decision": decision,
            "overturned": overturned,
            "expedited": expedited,
            "submitted": submitted,
            "decided": decided,
            "age": age,
            "female": rng.random(m) < female_p,
            "nationality": nationality,
            "has_sponsor": has_sponsor & ~(e < 0),
            "wage": np.where(has_sponsor, wage, np.nan),
            "unit": unit,
            "valid_until": valid_until,
            "rec_u": rec_u,
            "passport": np.arange(m),
        }

    # ------------------------------------------------------------------ border crossings
    def crossings(self, emp: Employers, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rng, net, a = self.rng, self.cfg.network, self.a
        approved = np.flatnonzero((v["decision"] == 0) & (rng.random(len(v["e"])) < 0.92))
        entry_day = v["decided"][approved] // 86_400 + rng.integers(1, 60, len(approved))
        keep = entry_day < self.days
        app, entry_day = approved[keep], entry_day[keep]
        rec_u = v["rec_u"][app]
        entries = self.crossing_rows(
            app,
            v["country"][app],
            entry_day,
            rec_u,
            v["fraud"][app],
            v["age"][app],
            v["rec"][app],
            direction_in=True,
            routed=rng.random(len(app)) < net.route_to_corrupt_officer * rec_u,
        )
        # Refused network travellers try again the same day at a corrupt officer (B06); other refused travellers
        # sometimes come back the next day with their papers in order, at whichever officer (markers).
        network_retry = entries["refused"] & (self.mrng.random(len(app)) < rec_u)
        retry = np.flatnonzero(network_retry)
        again = np.flatnonzero(
            entries["refused"] & ~network_retry & (self.mrng.random(len(app)) < self.cfg.markers.clean_retry_share)
        )
        second, third = (
            self.crossing_rows(
                app[rows],
                v["country"][app[rows]],
                entry_day[rows] + later,
                rec_u[rows],
                v["fraud"][app[rows]],
                v["age"][app[rows]],
                v["rec"][app[rows]],
                direction_in=True,
                routed=np.full(len(rows), network),
                force_admit=network,
            )
            for rows, later, network in ((retry, 0, True), (again, 1, False))
        )
        # Exits at the end of the stay, unless the worker overstays or absconds (003:1939).
        e = v["e"][app]
        exploit_u = np.where(e >= 0, emp.intensity[np.maximum(e, 0)], 0.0)
        overstay = rng.random(len(app)) < (self.cfg.realism.overstay_base + 0.15 * exploit_u + 0.10 * rec_u)
        admitted = ~entries["refused"]
        exit_day = entry_day + (STAY_DAYS[v["vclass"][app]] * rng.uniform(0.7, 1.0, len(app))).astype(np.int64)
        leaves = np.flatnonzero(admitted & ~overstay & (exit_day < self.days))
        exits = self.crossing_rows(
            app[leaves],
            v["country"][app[leaves]],
            exit_day[leaves],
            np.zeros(len(leaves)),
            np.zeros(len(leaves), dtype=bool),
            v["age"][app[leaves]],
            np.full(len(leaves), -1),
            direction_in=False,
            routed=np.zeros(len(leaves), dtype=bool),
        )
        # Background traffic: residents and visitors who never applied through these posts.
        nb = rng.poisson(self.cfg.world.background_crossings_per_employer * self.count)
        background = self.crossing_rows(
            np.full(nb, -1),
            rng.integers(0, a.n_countries, nb),
            rng.integers(0, self.days, nb),
            np.zeros(nb),
            rng.random(nb) < 0.01,
            _choice_rows(rng, np.array([0.05, 0.2, 0.3, 0.2, 0.15, 0.1]), nb),
            np.full(nb, -1),
            direction_in=rng.random(nb) < 0.5,
            routed=np.zeros(nb, dtype=bool),
        )
        out = {k: np.concatenate([entries[k], second[k], third[k], exits[k], background[k]]) for k in entries}
        out["overstay_truth"] = np.concatenate(
            [overstay, np.zeros(len(retry) + len(again) + len(leaves) + nb, dtype=bool)]
        )
        return out

    def crossing_rows(
        self,
        app: np.ndarray,
        country: np.ndarray,
        day: np.ndarray,
        network_u: np.ndarray,
        fraud: np.ndarray,
        age: np.ndarray,
        rec: np.ndarray,
        direction_in: np.ndarray | bool,
        routed: np.ndarray,
        force_admit: bool = False,
    ) -> dict[str, np.ndarray]:
        rng, a = self.rng, self.a
        m = len(app)
        bpost = country * self.bposts_per_country + rng.integers(0, self.bposts_per_country, m)
        officer = pick_in_group(rng, self.officers_by_bpost, bpost)
        corrupt_pick = np.where(rec >= 0, a.rec_pref_officer[np.maximum(rec, 0), country], -1)
        open_officer = self.mrng.random(m) < a.officer_intensity[np.maximum(corrupt_pick, 0)]
        use_corrupt = routed & (corrupt_pick >= 0) & open_officer
        officer = np.where(use_corrupt, corrupt_pick, officer)
        bpost = a.officer_bpost[officer]
        network = network_u > 0  # a traveller of an abusive recruiter
        # Network crossings are timed for the night shift (B03, 003:635).
        night = rng.random(m) < np.where(use_corrupt | a.officer_night[officer], 0.85, 0.15)
        hour = np.where(night, (rng.integers(20, 30, m)) % 24, rng.integers(6, 20, m))
        sec = day * 86_400 + hour * 3600 + rng.integers(0, 3600, m)
        flagged = rng.random(m) < np.where(fraud, 0.6, 0.015)
        minor = age == 0
        guardian = rng.random(m) < toward(0.95, 0.2, network_u)
        address_ok = rng.random(m) < toward(0.97, 0.3, network_u)
        suspicious = flagged | (minor & (~guardian | ~address_ok))
        # Officers refer suspicious travellers at their habitual rate; a corrupt one waves through, above all
        # its network's, as openly as its intensity says.
        habitual = np.clip(1 - 0.15 * a.officer_habit[officer], 0.3, 1.0)
        refer_p = toward(habitual, np.where(network, 0.05, 0.3), a.officer_intensity[officer])
        referral = suspicious & (rng.random(m) < refer_p)
        refused = referral & (rng.random(m) < np.where(fraud | minor, 0.7, 0.1))
        if force_admit:
            refused[:] = False
        # Recruiters' staff escort travellers and drive them in the recruiter's vans: clean recruiters' now and
        # then, abusive ones' as often as their intensity says.
        mk = self.cfg.markers
        recruited = rec >= 0
        escort = recruited & (rng.random(m) < toward(mk.clean_escort_share, self.cfg.network.escort_share, network_u))
        family = ~escort & (rng.random(m) < 0.08)
        land = a.bpost_land[bpost]
        van = land & recruited & (rng.random(m) < toward(mk.clean_van_share, 0.5, network_u))
        car = land & ~van & (rng.random(m) < 0.35)
        return {
            "app": app,
            "bpost": bpost,
            "officer": officer,
            "sec": sec,
            "night": night,
            "direction_in": np.broadcast_to(direction_in, (m,)).copy(),
            "age": age,
            "flagged": flagged,
            "referral": referral,
            "refused": refused,
            "guardian": guardian,
            "address_ok": address_ok,
            "escort": escort,
            "family": family,
            "van": van,
            "car": car,
            "rec": rec,
            "fraud": fraud,
            "later_fraud": np.where(fraud & (rng.random(m) < 0.4), 1, np.where(rng.random(m) < 0.05, 0, -1)),
            "lane": rng.integers(1, 13, m),
            "escort_slot": rng.integers(0, 2, m),
        }

    # ------------------------------------------------------------------ assembly
    def build(self) -> ChunkResult:
        a, cal, rng = self.a, self.cal, self.rng
        variant = self.cfg.realism.name_variant_share
        emp = self.employers()
        insp, outc = self.inspections_and_outcomes(emp)
        emp = self.displace(emp, outc)
        insp_e = self.move_to_successor(emp, insp["e"], insp["day"])
        v = self.visa_applications(emp)
        x = self.crossings(emp, v)
        n_emp = len(emp.gid)
        reg_no = text.padded_ids("RN", emp.gid, 8)
        tier, supplies_to = self.supply_chains(emp, reg_no)
        region_names = _region_names(a)
        tables: dict[str, pa.Table] = {}

        tables["organisation"] = pa.table(
            {
                "record_id": self.ids("ORG", n_emp),
                "registration_no": reg_no,
                "name": text.category(emp.names, np.arange(n_emp) * text.N_VARIANTS),
                "sector": text.category(text.strings(SECTORS), emp.sector),
                "country": text.category(a.country_names, emp.country),
                "region": text.category(region_names, emp.region),
                "registered_on": cal.date(emp.registered_on),
                "address": emp.address,
                "phone": emp.phone,
                "directors": emp.directors,
                "employees": pa.array(emp.size),
                "supplies_to": supplies_to,
                "_day": pa.array(np.maximum(emp.registered_on, 0)),
            }
        )

        # Visa applications.
        m = len(v["e"])
        es = np.maximum(v["e"], 0)
        emp_scripted = script_index(DESTINATION_SCRIPT, DESTINATION_COUNTRIES, emp.country) != 0
        rec_scripted = script_index(ORIGIN_SCRIPT, ORIGIN_COUNTRIES, a.rec_origin) != 0
        sponsor_pos = self.in_script(text.choose_variant(rng, es, variant), emp_scripted)
        rs = np.maximum(v["rec"], 0)
        rec_pos = self.in_script(text.choose_variant(rng, rs, variant), rec_scripted)
        has_rec = pa.array(v["rec"] >= 0)
        has_sponsor = pa.array(v["has_sponsor"])
        decided_known = v["decision"] != 3
        app_ids = self.ids("APP", v["submitted"])
        passports = self.passports(v["submitted"])
        # A minority of applicants apply again: reuse an earlier passport of the chunk.
        again = np.flatnonzero(rng.random(m) < 0.08)
        reuse = np.arange(m)
        reuse[again] = rng.integers(0, np.maximum(again, 1))
        passports = passports.take(pa.array(reuse))
        tables["visa_application"] = pa.table(
            {
                "record_id": app_ids,
                "application_id": app_ids,
                "post_id": text.category(a.post_code, v["post"]),
                "desk_officer_id": text.category(a.desk_officer, v["desk"]),
                "visa_class": text.category(text.strings(VISA_CLASSES), v["vclass"]),
                "applicant_passport_no": passports,
                "applicant_age_band": text.category(text.strings(AGE_BANDS), v["age"]),
                "applicant_sex": _label(("M", "F"), v["female"]),
                "applicant_nationality": text.category(text.strings(ORIGIN_COUNTRIES), v["nationality"]),
                "sponsor_name": _where(has_sponsor, text.category(emp.names, sponsor_pos)),
                "sponsor_registration_no": _where(
                    pa.array(v["has_sponsor"] & (rng.random(m) < 0.8)), reg_no.take(pa.array(es))
                ),
                "recruiter_name": _where(has_rec, text.category(*a.recruiter_names(v["rec"], v["day"], rec_pos))),
                "recruiter_licence_id": _where(  # none once the recruiter operates unlicensed under a new name
                    pa.array(
                        (v["rec"] >= 0) & a.rec_in_registry[rs] & (rng.random(m) < 0.6) & ~a.shifted(v["rec"], v["day"])
                    ),
                    a.rec_licence_id.take(pa.array(rs)),
                ),
                "occupation": _where(
                    pa.array(v["occupation"] >= 0),
                    text.category(OCCUPATION_TEXT, np.maximum(v["occupation"], 0)),
                ),
                "worksite_country": text.category(a.country_names, v["country"]),
                "worksite_region": _where(has_sponsor, text.category(region_names, emp.region[es])),
                "declared_wage": pa.array(np.round(v["wage"], 2), from_pandas=True),
                "wage_unit": _where(has_sponsor, text.category(text.strings(("hour", "week", "month")), v["unit"])),
                "submitted_at": cal.datetime(v["submitted"]),
                "decided_at": _where(pa.array(decided_known), cal.datetime(np.where(decided_known, v["decided"], 0))),
                "decision": text.category(text.strings(("approved", "refused", "withdrawn", "pending")), v["decision"]),
                "valid_until": _where(pa.array(v["decision"] == 0), cal.date(np.maximum(v["valid_until"], 0))),
                "document_check_flag": pa.array(v["flag"]),
                "expedited": pa.array(v["expedited"]),
                "refusal_overturned": pa.array(v["overturned"]),
                # Exported once decided (pending ones as submitted).
                "_day": pa.array(np.where(decided_known, v["decided"], v["submitted"]) // 86_400),
            }
        )

        # Border crossings.
        k = len(x["app"])
        has_app = x["app"] >= 0
        rec_x = np.maximum(x["rec"], 0)
        traveller = _scatter(
            k,
            (has_app, passports.take(pa.array(x["app"][has_app]))),
            (~has_app, self.passports(x["sec"][~has_app])),
        )
        slot = rec_x * 2 + x["escort_slot"]
        companion = _scatter(
            k,
            (x["escort"], a.rec_escorts.take(pa.array(slot[x["escort"]]))),
            (x["family"], self.passports(x["sec"][x["family"]])),
        )
        vehicle = _scatter(
            k,
            (x["van"], a.rec_vans.take(pa.array(slot[x["van"]]))),
            (x["car"], text.padded_ids(PLATE_PREFIX, rng.integers(0, PLATE_NUMBERS, int(x["car"].sum())), 7)),
        )
        # The check that later established whether the document was fraudulent concludes after a delay; one
        # not concluded by the window end is not in the export.
        crossing_day = x["sec"] // 86_400
        found_day = crossing_day + self.id_rng.exponential(self.cfg.realism.fraud_discovery_mean_days, k).astype(
            np.int64
        )
        later = np.where(found_day < self.days, x["later_fraud"], -1)
        crossing_ids = self.ids("X", x["sec"])
        tables["border_crossing"] = pa.table(
            {
                "record_id": crossing_ids,
                "crossing_id": crossing_ids,
                "border_post_id": text.category(a.bpost_code, x["bpost"]),
                "lane": pa.array(x["lane"]),
                "shift": _label(("day", "night"), x["night"]),
                "officer_badge_no": text.category(a.officer_badge, x["officer"]),
                "crossed_at": cal.datetime(x["sec"]),
                "direction": _label(("out", "in"), x["direction_in"]),
                "traveller_passport_no": traveller,
                "traveller_age_band": text.category(text.strings(AGE_BANDS), x["age"]),
                "document_type": _label(("passport", "passport_with_visa"), has_app),
                "visa_application_id": _where(pa.array(has_app), app_ids.take(pa.array(np.maximum(x["app"], 0)))),
                "document_check_result": _label(("clear", "flagged"), x["flagged"]),
                "companion_passport_no": companion,
                "vehicle_plate": vehicle,
                "secondary_referral": pa.array(x["referral"]),
                "outcome": _label(("admitted", "refused"), x["refused"]),
                "guardian_present": _where(pa.array(x["age"] == 0), pa.array(x["guardian"])),
                "destination_address_verified": pa.array(x["address_ok"]),
                "document_later_found_fraudulent": _nullable_flag(later),
                "fraud_found_on": _where(pa.array(later >= 0), cal.date(found_day)),
                "_day": pa.array(crossing_day),
            }
        )

        # Labour inspections.
        found = insp["found"]
        contractor = emp.contractor[insp_e]
        inspection_ids = self.ids("INS", insp["day"])
        cols: dict[str, pa.Array] = {
            "record_id": inspection_ids,
            "inspection_id": inspection_ids,
            "organisation_registration_no": reg_no.take(pa.array(insp_e)),
            "worksite_name": text.category(
                emp.names, self.in_script(text.choose_variant(rng, insp_e, variant), emp_scripted)
            ),
            "worksite_region": text.category(region_names, emp.region[insp_e]),
            "inspector_badge_no": text.category(a.inspector_badge, insp["inspector"]),
            "inspected_on": cal.date(insp["day"]),
            "trigger": text.category(text.strings(("random", "complaint", "targeted", "follow_up")), insp["trigger"]),
            "announced": pa.array(insp["announced"]),
            "workers_present": pa.array(insp["workers"]),
            "migrant_workers": pa.array(insp["migrants"]),
        }
        for j, name in enumerate(ILO_INDICATORS):
            cols[f"finding_{name}"] = pa.array(found[:, j])
        cols.update(
            {
                "wage_arrears_usd": pa.array(insp["arrears"]),
                "avg_weekly_hours": pa.array(np.round(insp["hours"], 1)),
                "wage_found_hourly_usd": pa.array(np.round(insp["wage"], 2)),
                "minors_found": pa.array(insp["minors"]),
                "housing_by_employer": pa.array(emp.housing[insp_e]),
                "transport_by_employer": pa.array(emp.transport[insp_e]),
                "labour_contractor_name": _where(
                    pa.array(contractor >= 0),
                    text.category(
                        *a.recruiter_names(
                            contractor,
                            insp["day"],
                            self.in_script(text.choose_variant(rng, np.maximum(contractor, 0), variant), rec_scripted),
                        )
                    ),
                ),
                "recruitment_fee_reported_usd": pa.array(np.round(insp["fee"], 0), from_pandas=True),
                "outcome": text.category(
                    text.strings(("none", "administrative", "forced_labour_referral", "prosecution")),
                    insp["outcome"],
                ),
                "_day": pa.array(insp["day"]),
            }
        )
        tables["labour_inspection"] = pa.table(cols)

        # Enforcement outcomes on employers (labels and complaints).
        no = len(outc["e"])
        outcome_ids = self.ids("OUT", outc["day"])
        oe = self.move_to_successor(emp, outc["e"], outc["day"])
        oe = np.where(outc["kind"] == 5, oe, outc["e"])  # sanctions stay with the sanctioned registration
        tables["enforcement_outcome"] = outcome_table(
            outcome_ids,
            outcome_ids,
            "employer",
            reg_no.take(pa.array(oe)),
            _where(
                pa.array(rng.random(no) < 0.9),
                text.category(emp.names, self.in_script(text.choose_variant(rng, oe, variant), emp_scripted)),
            ),
            cal.date(outc["day"]),
            outc["kind"],
            outc["body"],
            outc["day"],
        )

        # Per recruiter: placements at employers referred for forced labour (R08 drives revocations).
        referred = np.unique(insp_e[insp["outcome"] >= 2])
        rf: dict[int, int] = {}
        for r in np.concatenate([emp.r1[referred], emp.contractor[referred]]):
            if r >= 0:
                rf[int(r)] = rf.get(int(r), 0) + 1

        truth = {
            "employers": pa.table(
                {
                    "registration_no": reg_no,
                    "exploitative": pa.array(emp.exploit),
                    "sector": text.category(text.strings(SECTORS), emp.sector),
                    "network_recruiter_ref": _where(
                        pa.array(emp.network >= 0), a.rec_ref.take(pa.array(np.maximum(emp.network, 0)))
                    ),
                    "successor_of": _where(
                        pa.array(emp.predecessor >= 0), reg_no.take(pa.array(np.maximum(emp.predecessor, 0)))
                    ),
                    "active_from_day": pa.array(emp.active_from),
                    "moved_on_day": pa.array(emp.successor_from),
                    "supply_tier": pa.array(tier),
                    "uses_unregistered_contractor": pa.array(
                        (emp.contractor >= 0) & ~a.rec_in_registry[np.maximum(emp.contractor, 0)]
                    ),
                    **{f"present_{name}": pa.array(emp.present[:, j]) for j, name in enumerate(ILO_INDICATORS)},
                }
            ),
            "employer_names": pa.table(
                {
                    "registration_no": reg_no.take(pa.array(np.repeat(np.arange(n_emp), text.N_VARIANTS))),
                    "name_variant": emp.names,
                    "variant": pa.array(np.tile(np.arange(text.N_VARIANTS), n_emp)),
                }
            ),
            "visa_applications": pa.table(
                {
                    "application_id": app_ids,
                    "document_fraudulent": pa.array(v["fraud"]),
                    "true_employer_registration_no": _where(pa.array(v["e"] >= 0), reg_no.take(pa.array(es))),
                    "placed_in_work_on_visitor_visa": pa.array(v["hidden_sponsor"]),
                }
            ),
        }
        return ChunkResult(tables=tables, truth=truth, recruiter_findings=rf)


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


def _where(mask: pa.Array, values: pa.Array) -> pa.Array:
    """values where mask, null elsewhere."""
    return text.with_nulls(values, ~mask.to_numpy(zero_copy_only=False))


def _label(labels: tuple[str, str], flag: np.ndarray) -> pa.Array:
    """labels[1] where flag, labels[0] elsewhere."""
    return text.category(text.strings(labels), flag.astype(np.int64))


def _scatter(n: int, *parts: tuple[np.ndarray, pa.Array]) -> pa.Array:
    """A string array of length n: each part's values at its (disjoint) mask's rows, null elsewhere."""
    index = np.full(n, -1, dtype=np.int64)
    pools: list[pa.Array] = []
    offset = 0
    for mask, values in parts:
        rows = np.flatnonzero(mask)
        index[rows] = offset + np.arange(len(rows))
        offset += len(rows)
        pools.append(values.cast(pa.string()))
    pool = pa.concat_arrays(pools) if pools else pa.array([], type=pa.string())
    return pool.take(pa.array(index, mask=index < 0))


def _nullable_flag(code: np.ndarray) -> pa.Array:
    """-1 -> null, 0 -> False, 1 -> True."""
    return pc.if_else(pa.array(code >= 0), pa.array(code == 1), pa.scalar(None, type=pa.bool_()))


def _choice_rows(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """n draws from a categorical distribution p (vectorised inverse CDF)."""
    return np.minimum(np.searchsorted(np.cumsum(p), rng.random(n), side="right"), len(p) - 1)


def _region_names(a: Actors) -> pa.Array:
    return pa.array(
        [f"{DESTINATION_COUNTRIES[c]}-R{r + 1}" for c in range(a.n_countries) for r in range(a.n_regions)],
        type=pa.string(),
    )


def _weighted_post(rng: np.random.Generator, cum_weight: np.ndarray, country: np.ndarray) -> np.ndarray:
    """Post position within each row's country, drawn by post demand."""
    u = rng.random(len(country))
    pos: np.ndarray = np.minimum((cum_weight[country] < u[:, None]).sum(axis=1), cum_weight.shape[1] - 1)
    return pos


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
