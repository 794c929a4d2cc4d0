"""The actors shared by every chunk of the world: countries, visa posts and desks, border posts and
officers, labour inspectors and recruiters, with their planted latent traits.

Employers are generated per chunk (simulator.chunk); everything here is small (at most tens of
thousands of rows even in the large world) and built once from its own random stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator import text
from simulator.config import EMPLOYERS_PER_SCALE, SimulationConfig
from simulator.scripts import ORIGIN_SCRIPT, script_index, write_names
from simulator.supply import n_buyers

DESTINATION_COUNTRIES = (
    "Aldoria",
    "Beltrana",
    "Corvia",
    "Dunmere",
    "Estovia",
    "Farland",
    "Galmont",
    "Hestia",
    "Iverra",
    "Jorvik",
    "Kestrel",
    "Lunaria",
)
ORIGIN_COUNTRIES = (
    "Philippines",
    "Nepal",
    "Bangladesh",
    "Indonesia",
    "Viet Nam",
    "Myanmar",
    "Cambodia",
    "Guatemala",
    "Honduras",
    "Mexico",
    "Ukraine",
    "Nigeria",
    "India",
    "Ethiopia",
)
ORIGIN_CITIES = (
    "Manila",
    "Kathmandu",
    "Dhaka",
    "Jakarta",
    "Hanoi",
    "Yangon",
    "Phnom Penh",
    "Guatemala City",
    "Tegucigalpa",
    "Mexico City",
    "Kyiv",
    "Lagos",
    "New Delhi",
    "Addis Ababa",
)

AGENCY_TYPES = (
    "licensed_agency",
    "labour_contractor",
    "travel_agency",
    "unlicensed_broker",
    "model_agency",
    "marriage_agency",
)
# P(agency type | abusive) and P(agency type | clean): abusive recruiters skew to unlicensed brokers and
# to travel / model / marriage agencies acting as recruiters (000:411, 003:670, 003:1958).
# The clean distribution's marriage-agency share is config markers.clean_marriage_agency_share, taken from the
# licensed agencies'.
AGENCY_TYPE_P_ABUSIVE = (0.30, 0.18, 0.20, 0.20, 0.08, 0.04)
AGENCY_TYPE_P_CLEAN = (0.60, 0.25, 0.10, 0.04, 0.01, 0.00)
LICENCE_STATUSES = ("active", "expired", "suspended", "revoked", "none")
PLATE_PREFIX = "PL-"  # every vehicle plate: this prefix and a 7-digit number below PLATE_NUMBERS
PLATE_NUMBERS = 10_000_000
MIN_LICENCE_DAYS = 180  # a licence runs at least this long before it can expire
LEGAL_FEE_CAP_USD = 500.0  # declared fee to workers above this breaks the (synthetic) legal cap


@dataclass(frozen=True)
class Actors:
    n_countries: int
    n_regions: int  # regions per country
    country_names: pa.Array
    # Visa posts (consular sections of destination country c in an origin city) and their desks.
    post_country: np.ndarray  # [n_posts] destination country index
    post_origin: np.ndarray  # [n_posts] origin country index (location)
    post_code: pa.Array
    desk_post: np.ndarray  # [n_desks]
    desk_officer: pa.Array  # raw officer id (pseudonymised at ingestion)
    desk_corrupt: np.ndarray  # bool
    desk_intensity: np.ndarray  # how openly a corrupt desk favours its network (config markers; 0: clean)
    desk_habit: np.ndarray  # factor on the desk's base rates of expediting, late decisions and overturns
    # Border posts and their officers.
    bpost_country: np.ndarray
    bpost_code: pa.Array
    bpost_land: np.ndarray  # bool: land crossing (vehicles)
    officer_bpost: np.ndarray
    officer_badge: pa.Array
    officer_corrupt: np.ndarray
    officer_night: np.ndarray  # bool: mostly works night shifts
    officer_intensity: np.ndarray  # how openly a corrupt officer waves its network through (0: clean)
    officer_habit: np.ndarray  # factor on the officer's share of flagged travellers not referred
    # Labour inspectors, each covering one region of one country (region index = country * n_regions + r).
    inspector_region: np.ndarray
    inspector_badge: pa.Array
    inspector_corrupt: np.ndarray
    inspector_intensity: np.ndarray  # how openly a corrupt inspector covers exploitation (0: clean)
    inspector_habit: np.ndarray  # factor on the inspector's share of announced visits
    # Recruiters.
    rec_abusive: np.ndarray
    rec_intensity: np.ndarray  # how openly an abusive recruiter acts (config markers; 0: clean)
    rec_type: np.ndarray  # index into AGENCY_TYPES
    rec_in_registry: np.ndarray
    rec_origin: np.ndarray  # origin country index
    rec_home_post: np.ndarray  # [n_rec, n_countries] usual visa post per destination country
    rec_pref_desk: np.ndarray  # [n_rec, n_countries] corrupt desk it works with (-1: none in that country)
    rec_pref_officer: np.ndarray  # [n_rec, n_countries] corrupt border officer it works with (-1: none)
    post_cum_weight: np.ndarray  # [n_countries, posts per country] cumulative share of applications
    rec_names: pa.Array  # flattened name variants (text.N_VARIANTS per recruiter)
    rec_ref: pa.Array  # registry number
    rec_licence_id: pa.Array
    rec_successor_ref: pa.Array  # registry number a recruiter gets if it re-registers under a new name
    rec_successor_licence_id: pa.Array
    rec_licence_status: np.ndarray  # index into LICENCE_STATUSES
    rec_licence_from: np.ndarray  # day offset
    rec_licence_to: np.ndarray
    rec_registered_on: np.ndarray  # day offset
    rec_declared_fee: np.ndarray  # USD
    rec_charged_fee: np.ndarray  # USD actually charged per worker (found at inspections)
    rec_address: pa.Array
    rec_phone: pa.Array
    rec_directors: pa.Array
    rec_network_director: pa.Array  # director shared with the employers of its network
    rec_network_phone: pa.Array
    rec_escorts: pa.Array  # [n_rec * 2] escort passport numbers (used by abusive recruiters)
    rec_vans: pa.Array  # [n_rec * 2] vehicle plates
    # Displacement to unlicensed operators (config realism.unlicensed_shift_share): the day from which each
    # recruiter operates unlicensed under a new name (NEVER: it does not) and that new name's variants.
    rec_shift_day: np.ndarray
    rec_new_names: pa.Array  # flattened name variants (text.N_VARIANTS per recruiter)
    # Round keys of the bijection that turns passport serials into passport numbers (text.scrambled_numbers).
    passport_keys: np.ndarray
    n_buyers: int = 2  # buyers whose supply chains are mapped (simulator/supply.py)

    # Index helpers (CSR): visa posts / desks / corrupt desks / border officers per country or post.
    @property
    def n_posts(self) -> int:
        return len(self.post_country)

    @property
    def n_recruiters(self) -> int:
        return len(self.rec_abusive)

    def shifted(self, rec: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Whether recruiter ``rec`` (-1: none) acted under its new unlicensed name on ``day``."""
        moved: np.ndarray = (rec >= 0) & (day >= self.rec_shift_day[np.maximum(rec, 0)])
        return moved

    def recruiter_names(self, rec: np.ndarray, day: np.ndarray, position: np.ndarray) -> tuple[pa.Array, np.ndarray]:
        """(names, positions) for recruiter-name ``position`` (text.choose_variant of ``rec``) on ``day``: the
        variant of the recruiter's new name where it had shifted to it, of its registered name elsewhere."""
        moved = self.shifted(rec, day)
        if not moved.any():
            return self.rec_names, position
        names = pa.concat_arrays([self.rec_names, self.rec_new_names])
        return names, np.where(moved, position + len(self.rec_names), position)


NEVER = 10**6  # a day offset past every window
PASSPORTS_PER_BLOCK = 100_000_000  # passport serials of chunk c are c * this + 0, 1, ...
ESCORT_PASSPORT_BLOCK = 9_999  # the serial block of the escorts' passports (after every chunk's)
SHIFT_SPREAD_DAYS = 90  # recruiters shift to their new name within this many days of realism.displacement_start_day


def side_stream(rng: np.random.Generator, key: int) -> np.random.Generator:
    """A stream spawned off ``rng``'s seed (consuming none of its draws): new draws that leave the others as
    they were."""
    seq = rng.bit_generator.seed_seq
    assert isinstance(seq, np.random.SeedSequence)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, key))))


def _csr(groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(members sorted by group, start offset per group, count per group)."""
    order = np.argsort(groups, kind="stable")
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, starts, counts


def pick_in_group(
    rng: np.random.Generator, csr: tuple[np.ndarray, np.ndarray, np.ndarray], group: np.ndarray
) -> np.ndarray:
    """A uniformly random member of each row's group; -1 where the group is empty."""
    members, starts, counts = csr
    c = counts[group]
    offset = (rng.random(len(group)) * np.maximum(c, 1)).astype(np.int64)
    out = np.full(len(group), -1, dtype=np.int64)
    ok = c > 0
    out[ok] = members[starts[group[ok]] + offset[ok]]
    return out


def build_actors(cfg: SimulationConfig, scale: str, rng: np.random.Generator) -> Actors:
    w = cfg.world
    n_emp = EMPLOYERS_PER_SCALE[scale]
    n_c = w.destination_countries
    n_r = w.regions_per_country
    days = w.years * 365

    # Visa posts: per destination country, one per origin city up to what the volume needs.
    posts_per_country = int(np.clip(n_emp // (n_c * 1_200), 2, len(ORIGIN_COUNTRIES)))
    post_country = np.repeat(np.arange(n_c), posts_per_country)
    post_origin = np.concatenate([rng.permutation(len(ORIGIN_COUNTRIES))[:posts_per_country] for _ in range(n_c)])
    post_code = text.join(
        text.pick(text.strings([c[:3].upper() for c in DESTINATION_COUNTRIES]), post_country),
        "-",
        text.pick(text.strings([c[:3].upper() for c in ORIGIN_CITIES]), post_origin),
    )
    # Posts differ in demand; desks at posts with many applications per desk are overloaded and more
    # exposed to fraud and corruption (003:1491).
    post_weight = rng.lognormal(0.0, 0.6, len(post_country))
    post_cum_weight = np.cumsum(post_weight.reshape(n_c, posts_per_country), axis=1)
    post_cum_weight /= post_cum_weight[:, -1:]
    desks_per_post = rng.integers(3, 10, len(post_country))
    desk_post = np.repeat(np.arange(len(post_country)), desks_per_post)
    load = (post_weight / desks_per_post)[desk_post]
    overload = np.clip((load / load.mean()) ** cfg.markers.desk_overload_exponent, 0.2, 4.0)
    desk_corrupt = rng.random(len(desk_post)) < np.clip(cfg.prevalence.corrupt_visa_desk * overload, 0, 1)
    # Marker intensities and habits from a stream of their own.
    mk = cfg.markers
    mrng = side_stream(rng, 94)
    desk_intensity = intensity(mrng, desk_corrupt, mk.visa_desk_intensity, mk.intensity_concentration)
    desk_habit = habits(mrng, len(desk_post), mk.official_habit_sigma)
    desk_officer = text.padded_ids("CO", _unique(rng, 900_000, len(desk_post)) + 100_000, 6)

    # Border posts and officers.
    bposts_per_country = int(np.clip(n_emp // (n_c * 4_000), 2, 40))
    bpost_country = np.repeat(np.arange(n_c), bposts_per_country)
    bpost_land = rng.random(len(bpost_country)) < 0.75
    bpost_code = text.join(
        "BP-",
        text.pick(text.strings([c[:3].upper() for c in DESTINATION_COUNTRIES]), bpost_country),
        "-",
        text.padded_ids("", np.arange(len(bpost_country)), 3),
    )
    officers_per_post = rng.integers(8, 31, len(bpost_country))
    officer_bpost = np.repeat(np.arange(len(bpost_country)), officers_per_post)
    n_off = len(officer_bpost)
    # Smuggling and trafficking by road: officers at land crossings are more exposed (003:1974, 003:2745).
    exposure = np.where(bpost_land[officer_bpost], 1.4, 0.4)
    officer_corrupt = rng.random(n_off) < np.clip(cfg.prevalence.corrupt_border_officer * exposure, 0, 1)
    officer_intensity = intensity(mrng, officer_corrupt, mk.border_officer_intensity, mk.intensity_concentration)
    officer_night = rng.random(n_off) < toward(0.3, 0.7, officer_intensity)
    officer_badge = text.padded_ids("BO", _unique(rng, 900_000, n_off) + 100_000, 6)

    # Inspectors.
    n_regions_total = n_c * n_r
    n_insp = max(n_regions_total * 2, n_emp // 60)
    inspector_region = np.concatenate(
        [np.arange(n_regions_total), rng.integers(0, n_regions_total, n_insp - n_regions_total)]
    )
    inspector_corrupt = rng.random(n_insp) < cfg.prevalence.corrupt_inspector
    inspector_intensity = intensity(mrng, inspector_corrupt, mk.inspector_intensity, mk.intensity_concentration)
    inspector_badge = text.padded_ids("LI", _unique(rng, 900_000, n_insp) + 100_000, 6)

    # Recruiters.
    n_rec = max(20, n_emp // 6)
    abusive = rng.random(n_rec) < cfg.prevalence.abusive_recruiter
    rec_intensity = intensity(mrng, abusive, mk.recruiter_intensity, mk.intensity_concentration)

    def acts_openly() -> np.ndarray:
        """Per recruiter: whether this trait is drawn as an abusive one's (with probability its intensity)."""
        opened: np.ndarray = mrng.random(n_rec) < rec_intensity
        return opened

    clean_types = np.array(AGENCY_TYPE_P_CLEAN)
    clean_types[AGENCY_TYPES.index("marriage_agency")] += mk.clean_marriage_agency_share
    clean_types[AGENCY_TYPES.index("licensed_agency")] -= mk.clean_marriage_agency_share
    rtype = np.where(
        acts_openly(),
        rng.choice(len(AGENCY_TYPES), n_rec, p=AGENCY_TYPE_P_ABUSIVE),
        rng.choice(len(AGENCY_TYPES), n_rec, p=clean_types),
    )
    unlicensed = rtype == AGENCY_TYPES.index("unlicensed_broker")
    in_registry = ~unlicensed | (rng.random(n_rec) < 0.3)
    rec_origin = rng.integers(0, len(ORIGIN_COUNTRIES), n_rec)
    # Home post per destination country, drawn by post demand.
    rec_home_post = np.arange(n_c)[None, :] * posts_per_country + np.stack(
        [np.searchsorted(post_cum_weight[c], rng.random(n_rec), side="right") for c in range(n_c)], axis=1
    ).clip(0, posts_per_country - 1)
    # The corrupt desk and officer an abusive recruiter works with in each destination country: one
    # officer approved 110 applications for the same intermediaries (003:1471); escorts pass the same
    # officer again and again (003:1898).
    rec_pref_desk = np.stack(
        [_pick_member(rng, np.flatnonzero(desk_corrupt & (post_country[desk_post] == c)), n_rec) for c in range(n_c)],
        axis=1,
    )
    rec_pref_officer = np.stack(
        [
            _pick_member(rng, np.flatnonzero(officer_corrupt & (bpost_country[officer_bpost] == c)), n_rec)
            for c in range(n_c)
        ],
        axis=1,
    )
    canonical, base, suffix = text.recruiter_names(rng, n_rec)
    rec_script = script_index(ORIGIN_SCRIPT, ORIGIN_COUNTRIES, rec_origin)
    rec_names = text.name_variants(canonical, base, suffix, write_names(base, canonical, rec_script))
    # Registry and licence numbers drawn at random for every recruiter and for the successor each would
    # register (world._global_tables), so that no number range or order tells a successor or an abusive one.
    id_rng = side_stream(rng, 97)
    refs = _unique(id_rng, 9_000_000, 2 * n_rec) + 1_000_000
    licences = _unique(id_rng, 9_000_000, 2 * n_rec) + 1_000_000
    rec_ref = text.padded_ids("RA", refs[:n_rec], 7)
    rec_licence_id = text.padded_ids("LIC-", licences[:n_rec], 7)
    # Licence status: 'none' for unlicensed brokers; abusive agencies often expired / suspended / revoked.
    status_clean = rng.choice(4, n_rec, p=(0.90 - mk.clean_revoked_share, 0.08, 0.02, mk.clean_revoked_share))
    status_abusive = rng.choice(4, n_rec, p=(0.50, 0.25, 0.15, 0.10))
    status = np.where(acts_openly(), status_abusive, status_clean)
    status = np.where(unlicensed, LICENCE_STATUSES.index("none"), status)
    # Front-company signal: abusive recruiters are young registrations (003:2799).
    age_days = np.where(acts_openly(), rng.gamma(1.5, 500, n_rec), rng.gamma(3.0, 1_500, n_rec)).astype(np.int64)
    registered_on = rng.integers(0, days, n_rec) - age_days
    licence_from = registered_on + rng.integers(30, 200, n_rec)
    # Active licences run past the window (renewed); expired ones ended before or during it.
    licence_to = np.where(
        status == LICENCE_STATUSES.index("expired"),
        np.maximum(rng.integers(-400, days // 2, n_rec), licence_from + MIN_LICENCE_DAYS),
        np.maximum(licence_from + rng.integers(3 * 365, 6 * 365, n_rec), days + rng.integers(30, 1_500, n_rec)),
    )
    clean_fee = np.where(rng.random(n_rec) < 0.5, 0.0, rng.uniform(50, 450, n_rec))
    clean_fee = np.where(
        mrng.random(n_rec) < mk.clean_fee_above_cap_share, mrng.uniform(LEGAL_FEE_CAP_USD, 1_200, n_rec), clean_fee
    )
    declared_fee = np.where(acts_openly(), rng.uniform(200, 3_000, n_rec), clean_fee).round(0)
    # Fees actually charged, reported by workers at inspections: debts of $10,000-15,000 (003:5272).
    charged_fee = np.where(
        acts_openly(), rng.uniform(2_000, 15_000, n_rec), declared_fee * rng.uniform(1.0, 1.3, n_rec)
    )
    city = text.pick(text.strings(ORIGIN_CITIES), rec_origin)
    directors = text.person_names(rng, n_rec)
    network_director = text.person_names(rng, n_rec)
    network_phone = text.phones(rng, n_rec)
    own_phone = text.phones(rng, n_rec)
    share = rng.random(n_rec) < 0.5 * rec_intensity
    rec_directors = text.join(directors, _conditional_suffix(share, "; ", network_director))
    # Displacement to unlicensed operators, from a stream of its own (the draws above stay as they were).
    srng = side_stream(rng, 98)
    shifts = abusive & (srng.random(n_rec) < cfg.realism.unlicensed_shift_share)
    start = cfg.realism.displacement_start_day
    rec_shift_day = np.where(shifts, start + srng.integers(0, SHIFT_SPREAD_DAYS, n_rec), NEVER)
    new_canonical, new_base, new_suffix = text.recruiter_names(srng, n_rec)
    passport_keys = id_rng.integers(0, 2**63, text.PASSPORT_ROUNDS, dtype=np.uint64)
    return Actors(
        n_countries=n_c,
        n_regions=n_r,
        country_names=text.strings(DESTINATION_COUNTRIES[:n_c]),
        post_country=post_country,
        post_origin=post_origin,
        post_code=post_code,
        desk_post=desk_post,
        desk_officer=desk_officer,
        desk_corrupt=desk_corrupt,
        desk_intensity=desk_intensity,
        desk_habit=desk_habit,
        bpost_country=bpost_country,
        bpost_code=bpost_code,
        bpost_land=bpost_land,
        officer_bpost=officer_bpost,
        officer_badge=officer_badge,
        officer_corrupt=officer_corrupt,
        officer_night=officer_night,
        officer_intensity=officer_intensity,
        officer_habit=habits(mrng, n_off, mk.official_habit_sigma),
        inspector_region=inspector_region,
        inspector_badge=inspector_badge,
        inspector_corrupt=inspector_corrupt,
        inspector_intensity=inspector_intensity,
        inspector_habit=habits(mrng, n_insp, mk.official_habit_sigma),
        rec_abusive=abusive,
        rec_intensity=rec_intensity,
        rec_type=rtype,
        rec_in_registry=in_registry,
        rec_origin=rec_origin,
        rec_home_post=rec_home_post,
        rec_pref_desk=rec_pref_desk,
        rec_pref_officer=rec_pref_officer,
        post_cum_weight=post_cum_weight,
        rec_names=rec_names,
        rec_ref=rec_ref,
        rec_licence_id=rec_licence_id,
        rec_successor_ref=text.padded_ids("RA", refs[n_rec:], 7),
        rec_successor_licence_id=text.padded_ids("LIC-", licences[n_rec:], 7),
        rec_licence_status=status,
        rec_licence_from=licence_from,
        rec_licence_to=licence_to,
        rec_registered_on=registered_on,
        rec_declared_fee=declared_fee,
        rec_charged_fee=charged_fee,
        rec_address=text.addresses(rng, n_rec, city),
        rec_phone=_choose(rng.random(n_rec) < 0.4 * rec_intensity, network_phone, own_phone),
        rec_directors=rec_directors,
        rec_network_director=network_director,
        rec_network_phone=network_phone,
        # Escorts carry passports and vans plates in the format of everyone else's.
        rec_escorts=text.padded_ids(
            "P",
            text.scrambled_numbers(passport_keys, ESCORT_PASSPORT_BLOCK * PASSPORTS_PER_BLOCK + np.arange(2 * n_rec)),
            12,
        ),
        rec_vans=text.padded_ids(PLATE_PREFIX, _unique(rng, PLATE_NUMBERS, n_rec * 2), 7),
        rec_shift_day=rec_shift_day,
        rec_new_names=text.name_variants(
            new_canonical, new_base, new_suffix, write_names(new_base, new_canonical, rec_script)
        ),
        passport_keys=passport_keys,
        n_buyers=n_buyers(n_emp, cfg.supply_chain),
    )


def intensity(rng: np.random.Generator, planted: np.ndarray, mean: float, concentration: float) -> np.ndarray:
    """How openly each actor acts (config markers): 0 for clean actors, for planted ones a draw in [0, 1] with
    ``mean`` (Beta with that concentration)."""
    if mean <= 0 or mean >= 1:
        return np.where(planted, float(mean >= 1), 0.0)
    u = rng.beta(concentration * mean, concentration * (1 - mean), len(planted))
    out: np.ndarray = np.where(planted, u, 0.0)
    return out


def toward(clean: np.ndarray | float, planted: np.ndarray | float, u: np.ndarray) -> np.ndarray:
    """The rate ``u`` of the way from the clean rate to the planted one."""
    out: np.ndarray = clean + u * (np.asarray(planted) - clean)
    return out


def habits(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Per official multiplicative factor of base rates (lognormal, median 1)."""
    out: np.ndarray = rng.lognormal(0.0, sigma, n) if sigma > 0 else np.ones(n)
    return out


def _pick_member(rng: np.random.Generator, members: np.ndarray, n: int) -> np.ndarray:
    """n random picks from ``members`` (-1 each when it is empty)."""
    if len(members) == 0:
        return np.full(n, -1, dtype=np.int64)
    return members[rng.integers(0, len(members), n)]


def _unique(rng: np.random.Generator, population: int, n: int) -> np.ndarray:
    """n distinct integers from [0, population), in random order."""
    return rng.choice(population, size=n, replace=False, shuffle=True)


def _choose(mask: np.ndarray, if_true: pa.Array, if_false: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), if_true, if_false)


def _conditional_suffix(mask: np.ndarray, sep: str, value: pa.Array) -> pa.Array:
    """sep + value where mask, '' elsewhere."""
    return pc.if_else(pa.array(mask), text.join(sep, value), "")
