"""Employers of one chunk: their planted traits, their recruiters, founders and contacts, the supply chains
they sit in, their register (the ``organisation`` export) and their truth tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.contracts import ILO_INDICATORS, SECTORS
from simulator import text
from simulator.actors import Actors
from simulator.chunk_context import ChunkContext
from simulator.columns import where
from simulator.draws import intensity, side_stream, toward
from simulator.supply import buyer_ids, draw_tiers

SECTOR_P = (0.22, 0.15, 0.15, 0.08, 0.12, 0.05, 0.10, 0.13)
SECTOR_WORD = ("Agro", "Construction", "Apparel", "Household", "Hospitality", "Marine", "Food", "General")
# P(indicator present | exploitative employer), in ILO_INDICATORS order.
ILO_PRESENT_P = np.array([0.5, 0.5, 0.3, 0.3, 0.1, 0.35, 0.5, 0.6, 0.45, 0.4, 0.6])
# Minor violations at clean employers (in the same order): overtime and arrears are common everywhere.
ILO_CLEAN_P = np.array([0.005, 0.01, 0.002, 0.005, 0.002, 0.005, 0.01, 0.05, 0.005, 0.03, 0.08])
OVERTIME = ILO_INDICATORS.index("excessive_overtime")
NEW_EMPLOYER_MARGIN_DAYS = 180  # employers founded in the window are founded at least this long before its end
PREVAILING_WAGE = np.array([9.0, 14.0, 8.5, 7.0, 9.5, 10.0, 10.5, 11.0])  # USD / hour per sector


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


def draw_employers(c: ChunkContext) -> Employers:
    """The chunk's employers (no successors yet), drawn from its streams in a fixed order."""
    rng, cfg, a = c.rng, c.cfg, c.a
    n = c.count
    sector = rng.choice(len(SECTORS), n, p=SECTOR_P)
    country = rng.integers(0, a.n_countries, n)
    region = country * a.n_regions + rng.integers(0, a.n_regions, n)
    size = np.clip(rng.lognormal(2.8, 1.0, n), 3, 3_000).astype(np.int64)
    prev = np.array([cfg.prevalence.exploitative_employer_by_sector[s] for s in SECTORS])
    exploit = rng.random(n) < prev[sector]
    mk, mrng = cfg.markers, c.mrng
    u = intensity(mrng, exploit, mk.employer_intensity, mk.intensity_concentration)
    present = exploit[:, None] & (rng.random((n, len(ILO_INDICATORS))) < ILO_PRESENT_P[None, :])
    minor = ~exploit[:, None] & (rng.random((n, len(ILO_INDICATORS))) < ILO_CLEAN_P[None, :])
    r1, r2, network, contractor = _recruiters(c, exploit, u)
    founded, founded_day, registered_on = _founding(c, u)
    canonical, base, suffix = text.organisation_names(rng, n, text.pick(text.strings(SECTOR_WORD), sector))
    city = text.pick(a.country_names, country)
    directors, phone = _directors_and_phone(c, founded, network, u)
    return Employers(
        gid=c.registration_numbers[:n],
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
        names=text.name_variants(canonical, base, suffix, c.written(canonical, base, country)),
        address=text.addresses(rng, n, city),
        phone=phone,
        directors=directors,
        predecessor=np.full(n, -1),
        active_from=np.where(founded, founded_day, -(10**6)),
        successor_from=np.full(n, 10**6),
    )


def _recruiters(c: ChunkContext, exploit: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, ...]:
    """(main recruiter, second recruiter, network recruiter, on-site contractor) per employer; -1: none."""
    rng, cfg = c.rng, c.cfg
    n = len(exploit)
    base_abusive = cfg.prevalence.abusive_recruiter * 0.5
    use_abusive = rng.random(n) < toward(base_abusive, cfg.network.abusive_recruiter_affinity, u)
    r1 = np.where(
        use_abusive,
        c.abusive_pool[rng.integers(0, max(len(c.abusive_pool), 1), n)] if len(c.abusive_pool) else -1,
        c.clean_pool[rng.integers(0, len(c.clean_pool), n)],
    )
    r2 = np.where(rng.random(n) < 0.3, c.clean_pool[rng.integers(0, len(c.clean_pool), n)], -1)
    network = np.where(exploit & use_abusive, r1, -1)
    unregistered = (
        c.unregistered_pool[rng.integers(0, len(c.unregistered_pool), n)]
        if len(c.unregistered_pool)
        else np.full(n, -1)
    )
    contractor = np.where(
        rng.random(n) < toward(0.03, 0.35, u),
        unregistered,
        np.where(rng.random(n) < 0.25, r1, -1),
    )
    return r1, r2, network, contractor


def _founding(c: ChunkContext, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(founded in the window, its founding day, registration day offset) per employer."""
    rng, mrng, n = c.rng, c.mrng, len(u)
    age_days = np.where(mrng.random(n) < u, rng.gamma(1.5, 900, n), rng.gamma(3.0, 2_000, n)).astype(np.int64)
    # Some employers, planted and clean alike, are founded in the window and act from that day on.
    founded = mrng.random(n) < c.cfg.markers.new_employer_share
    founded_day = mrng.integers(0, max(c.days - NEW_EMPLOYER_MARGIN_DAYS, 1), n)
    registered_on = np.where(founded, founded_day, -age_days - 1)
    return founded, founded_day, registered_on


def _directors_and_phone(
    c: ChunkContext, founded: np.ndarray, network: np.ndarray, u: np.ndarray
) -> tuple[pa.Array, pa.Array]:
    """Directors ("; "-joined) and phone per employer: its own, or shared with an older employer or with its
    network's recruiter."""
    rng, mrng, cfg, a = c.rng, c.mrng, c.cfg, c.a
    n, mk = len(u), cfg.markers
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
    return directors, phone


def declared_hourly(a: Actors, emp: Employers, e: np.ndarray) -> np.ndarray:
    """The hourly wage (USD) employers ``e`` declare."""
    region_factor = 0.85 + 0.06 * (emp.region[e] % a.n_regions)
    wage: np.ndarray = PREVAILING_WAGE[emp.sector[e]] * (1 + 0.1 * emp.country[e]) * region_factor * emp.wage_ratio[e]
    return wage


def successor_of(emp: Employers) -> np.ndarray:
    """Chunk-local index of each employer's successor (-1: none)."""
    succ = np.full(len(emp.gid), -1)
    has = np.flatnonzero(emp.predecessor >= 0)
    succ[emp.predecessor[has]] = has
    return succ


def move_to_successor(emp: Employers, e: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Employers ``e``, each replaced by its successor where ``day`` falls after its activity moved there."""
    succ = successor_of(emp)
    moved = (succ[e] >= 0) & (day >= emp.successor_from[e])
    return np.where(moved, succ[e], e)


def supply_chains(c: ChunkContext, emp: Employers, reg_no: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Tier (0, 1, 2) and ``supplies_to`` (buyer id or tier-1 registration number) per employer.

    Drawn from a stream spawned off the chunk's own (no draw of the chunk stream is consumed). A successor
    of a displaced supplier keeps its predecessor's customer: the buyer goes on sourcing from the new name."""
    srng = side_stream(c.rng, 99)
    original = emp.predecessor < 0
    n_orig = int(original.sum())  # originals come first (displace appends successors)
    tier = np.zeros(len(emp.gid), dtype=np.int64)
    customer = np.full(len(emp.gid), -1, dtype=np.int64)
    tier[:n_orig], customer[:n_orig] = draw_tiers(emp.exploit[:n_orig], c.a.n_buyers, c.cfg.supply_chain, srng)
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


def organisation_table(c: ChunkContext, emp: Employers, reg_no: pa.Array, supplies_to: pa.Array) -> pa.Table:
    """The organisation register: one row per employer, under its registered (canonical) name."""
    a, cal = c.a, c.cal
    n_emp = len(emp.gid)
    return pa.table(
        {
            "record_id": c.ids("ORG", n_emp),
            "registration_no": reg_no,
            "name": text.category(emp.names, np.arange(n_emp) * text.N_VARIANTS),
            "sector": text.category(text.strings(SECTORS), emp.sector),
            "country": text.category(a.country_names, emp.country),
            "region": text.category(c.region_names(), emp.region),
            "registered_on": cal.date(emp.registered_on),
            "address": emp.address,
            "phone": emp.phone,
            "directors": emp.directors,
            "employees": pa.array(emp.size),
            "supplies_to": supplies_to,
            "_day": pa.array(np.maximum(emp.registered_on, 0)),
        }
    )


def employer_truth(a: Actors, emp: Employers, reg_no: pa.Array, tier: np.ndarray) -> dict[str, pa.Table]:
    """The planted truth of the chunk's employers (``employers``) and every name variant each used."""
    n_emp = len(emp.gid)
    return {
        "employers": pa.table(
            {
                "registration_no": reg_no,
                "exploitative": pa.array(emp.exploit),
                "sector": text.category(text.strings(SECTORS), emp.sector),
                "network_recruiter_ref": where(
                    pa.array(emp.network >= 0), a.rec_ref.take(pa.array(np.maximum(emp.network, 0)))
                ),
                "successor_of": where(
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
    }
