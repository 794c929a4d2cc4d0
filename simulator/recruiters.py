"""Recruiters shared by every chunk of the world: their kinds, routes to visa desks and border officers,
names and numbers, licences, fees, contacts, and the operators among them that go on unlicensed under a new
name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.contracts import CONTRACTS
from simulator import text
from simulator.config import Markers, SimulationConfig
from simulator.draws import distinct, intensity, pick_member, side_stream
from simulator.geography import ORIGIN_CITIES, ORIGIN_COUNTRIES
from simulator.scripts import ORIGIN_SCRIPT, script_index, write_names
from simulator.text import NEVER, PASSPORTS_PER_BLOCK


def _declared_values(column: str) -> tuple[str, ...]:
    """The values the recruiter register's contract allows in ``column``, in their declared order."""
    values = next(f.values for f in CONTRACTS["recruiter"].fields if f.name == column)
    assert values is not None
    return values


AGENCY_TYPES = _declared_values("agency_type")
# P(agency type | abusive) and P(agency type | clean): abusive recruiters skew to unlicensed brokers and
# to travel / model / marriage agencies acting as recruiters (000:411, 003:670, 003:1958).
# The clean distribution's marriage-agency share is config markers.clean_marriage_agency_share, taken from the
# licensed agencies'.
AGENCY_TYPE_P_ABUSIVE = (0.30, 0.18, 0.20, 0.20, 0.08, 0.04)
AGENCY_TYPE_P_CLEAN = (0.60, 0.25, 0.10, 0.04, 0.01, 0.00)
LICENCE_STATUSES = _declared_values("licence_status")
PLATE_PREFIX = "PL-"  # every vehicle plate: this prefix and a 7-digit number below PLATE_NUMBERS
PLATE_NUMBERS = 10_000_000
MIN_LICENCE_DAYS = 180  # a licence runs at least this long before it can expire
LEGAL_FEE_CAP_USD = 500.0  # declared fee to workers above this breaks the (synthetic) legal cap
ESCORT_PASSPORT_BLOCK = 9_999  # the serial block of the escorts' passports (after every chunk's)
SHIFT_SPREAD_DAYS = 90  # recruiters shift to their new name within this many days of realism.displacement_start_day


def recruiter_fields(
    cfg: SimulationConfig, n_emp: int, officials: dict[str, Any], rng: np.random.Generator, mrng: np.random.Generator
) -> dict[str, Any]:
    """The recruiters' fields of Actors (and the passport keys), drawn in a fixed order from ``rng``, ``mrng``
    (markers) and side streams of ``rng``; ``officials``: the visa posts', desks' and border officers' fields."""
    mk = cfg.markers
    n_rec = max(20, n_emp // 6)
    abusive = rng.random(n_rec) < cfg.prevalence.abusive_recruiter
    rec_intensity = intensity(mrng, abusive, mk.recruiter_intensity, mk.intensity_concentration)

    def acts_openly() -> np.ndarray:
        """Per recruiter: whether this trait is drawn as an abusive one's (with probability its intensity)."""
        opened: np.ndarray = mrng.random(n_rec) < rec_intensity
        return opened

    rtype = _agency_types(mk, acts_openly(), rng)
    unlicensed = rtype == AGENCY_TYPES.index("unlicensed_broker")
    in_registry = ~unlicensed | (rng.random(n_rec) < 0.3)
    rec_origin = rng.integers(0, len(ORIGIN_COUNTRIES), n_rec)
    routes = _routes(cfg, officials, n_rec, rng)
    canonical, base, suffix = text.recruiter_names(rng, n_rec)
    rec_script = script_index(ORIGIN_SCRIPT, ORIGIN_COUNTRIES, rec_origin)
    # Registry and licence numbers drawn at random for every recruiter and for the successor each would
    # register (simulator.register), so that no number range or order tells a successor or an abusive one.
    id_rng = side_stream(rng, 97)
    refs = distinct(id_rng, 9_000_000, 2 * n_rec) + 1_000_000
    licences = distinct(id_rng, 9_000_000, 2 * n_rec) + 1_000_000
    licence = _licences(cfg, unlicensed, acts_openly, rng)
    fees = _fees(mk, n_rec, acts_openly, rng, mrng)
    contacts = _contacts(rec_origin, rec_intensity, rng)
    shift = _unlicensed_shift(cfg, abusive, rec_script, rng)
    passport_keys = id_rng.integers(0, 2**63, text.PASSPORT_ROUNDS, dtype=np.uint64)
    return {
        "rec_abusive": abusive,
        "rec_intensity": rec_intensity,
        "rec_type": rtype,
        "rec_in_registry": in_registry,
        "rec_origin": rec_origin,
        **routes,
        "rec_names": text.name_variants(canonical, base, suffix, write_names(base, canonical, rec_script)),
        "rec_ref": text.padded_ids("RA", refs[:n_rec], 7),
        "rec_licence_id": text.padded_ids("LIC-", licences[:n_rec], 7),
        "rec_successor_ref": text.padded_ids("RA", refs[n_rec:], 7),
        "rec_successor_licence_id": text.padded_ids("LIC-", licences[n_rec:], 7),
        **licence,
        **fees,
        **contacts,
        # Escorts carry passports and vans plates in the format of everyone else's.
        "rec_escorts": text.padded_ids(
            "P",
            text.scrambled_numbers(passport_keys, ESCORT_PASSPORT_BLOCK * PASSPORTS_PER_BLOCK + np.arange(2 * n_rec)),
            12,
        ),
        "rec_vans": text.padded_ids(PLATE_PREFIX, distinct(rng, PLATE_NUMBERS, n_rec * 2), 7),
        **shift,
        "passport_keys": passport_keys,
    }


def _agency_types(mk: Markers, openly: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Index into AGENCY_TYPES per recruiter: drawn as an abusive one's where ``openly``."""
    clean_types = np.array(AGENCY_TYPE_P_CLEAN)
    clean_types[AGENCY_TYPES.index("marriage_agency")] += mk.clean_marriage_agency_share
    clean_types[AGENCY_TYPES.index("licensed_agency")] -= mk.clean_marriage_agency_share
    n_rec = len(openly)
    types: np.ndarray = np.where(
        openly,
        rng.choice(len(AGENCY_TYPES), n_rec, p=AGENCY_TYPE_P_ABUSIVE),
        rng.choice(len(AGENCY_TYPES), n_rec, p=clean_types),
    )
    return types


def _routes(cfg: SimulationConfig, officials: dict[str, Any], n_rec: int, rng: np.random.Generator) -> dict[str, Any]:
    """Per recruiter and destination country: its usual visa post (drawn by post demand), and the corrupt desk
    and officer it works with (-1: none in that country): one officer approved 110 applications for the same
    intermediaries (003:1471); escorts pass the same officer again and again (003:1898)."""
    n_c = cfg.world.destination_countries
    post_cum_weight = officials["post_cum_weight"]
    posts_per_country = post_cum_weight.shape[1]
    desk_country = officials["post_country"][officials["desk_post"]]
    officer_country = officials["bpost_country"][officials["officer_bpost"]]
    home_post = np.arange(n_c)[None, :] * posts_per_country + np.stack(
        [np.searchsorted(post_cum_weight[c], rng.random(n_rec), side="right") for c in range(n_c)], axis=1
    ).clip(0, posts_per_country - 1)
    desk_members = [np.flatnonzero(officials["desk_corrupt"] & (desk_country == c)) for c in range(n_c)]
    pref_desk = np.stack([pick_member(rng, desk_members[c], n_rec) for c in range(n_c)], axis=1)
    officer_members = [np.flatnonzero(officials["officer_corrupt"] & (officer_country == c)) for c in range(n_c)]
    pref_officer = np.stack([pick_member(rng, officer_members[c], n_rec) for c in range(n_c)], axis=1)
    return {"rec_home_post": home_post, "rec_pref_desk": pref_desk, "rec_pref_officer": pref_officer}


def _licences(
    cfg: SimulationConfig, unlicensed: np.ndarray, acts_openly: Callable[[], np.ndarray], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Licence status ('none' for unlicensed brokers; abusive agencies often expired / suspended / revoked),
    registration day and licence period (day offsets)."""
    mk = cfg.markers
    days = cfg.world.years * 365
    n_rec = len(unlicensed)
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
    return {
        "rec_licence_status": status,
        "rec_licence_from": licence_from,
        "rec_licence_to": licence_to,
        "rec_registered_on": registered_on,
    }


def _fees(
    mk: Markers,
    n_rec: int,
    acts_openly: Callable[[], np.ndarray],
    rng: np.random.Generator,
    mrng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Fee declared to workers and fee actually charged per worker (USD): debts of $10,000-15,000 reported
    at inspections (003:5272)."""
    clean_fee = np.where(rng.random(n_rec) < 0.5, 0.0, rng.uniform(50, 450, n_rec))
    clean_fee = np.where(
        mrng.random(n_rec) < mk.clean_fee_above_cap_share, mrng.uniform(LEGAL_FEE_CAP_USD, 1_200, n_rec), clean_fee
    )
    declared_fee = np.where(acts_openly(), rng.uniform(200, 3_000, n_rec), clean_fee).round(0)
    charged_fee = np.where(
        acts_openly(), rng.uniform(2_000, 15_000, n_rec), declared_fee * rng.uniform(1.0, 1.3, n_rec)
    )
    return {"rec_declared_fee": declared_fee, "rec_charged_fee": charged_fee}


def _contacts(rec_origin: np.ndarray, rec_intensity: np.ndarray, rng: np.random.Generator) -> dict[str, pa.Array]:
    """Address, phone and directors per recruiter, and the director and phone it shares with the employers of
    its network (abusive recruiters show them as their own as openly as their intensity says)."""
    n_rec = len(rec_origin)
    city = text.pick(text.strings(ORIGIN_CITIES), rec_origin)
    directors = text.person_names(rng, n_rec)
    network_director = text.person_names(rng, n_rec)
    network_phone = text.phones(rng, n_rec)
    own_phone = text.phones(rng, n_rec)
    share = rng.random(n_rec) < 0.5 * rec_intensity
    return {
        "rec_directors": text.join(directors, _conditional_suffix(share, "; ", network_director)),
        "rec_network_director": network_director,
        "rec_network_phone": network_phone,
        "rec_address": text.addresses(rng, n_rec, city),
        "rec_phone": pc.if_else(pa.array(rng.random(n_rec) < 0.4 * rec_intensity), network_phone, own_phone),
    }


def _unlicensed_shift(
    cfg: SimulationConfig, abusive: np.ndarray, rec_script: np.ndarray, rng: np.random.Generator
) -> dict[str, Any]:
    """Displacement to unlicensed operators (realism.unlicensed_shift_share), from a stream of its own: the day
    from which each recruiter operates unlicensed under a new name (NEVER: it does not) and that name's
    variants."""
    n_rec = len(abusive)
    srng = side_stream(rng, 98)
    shifts = abusive & (srng.random(n_rec) < cfg.realism.unlicensed_shift_share)
    start = cfg.realism.displacement_start_day
    shift_day = np.where(shifts, start + srng.integers(0, SHIFT_SPREAD_DAYS, n_rec), NEVER)
    canonical, base, suffix = text.recruiter_names(srng, n_rec)
    return {
        "rec_shift_day": shift_day,
        "rec_new_names": text.name_variants(canonical, base, suffix, write_names(base, canonical, rec_script)),
    }


def _conditional_suffix(mask: np.ndarray, sep: str, value: pa.Array) -> pa.Array:
    """sep + value where mask, '' elsewhere."""
    return pc.if_else(pa.array(mask), text.join(sep, value), "")
