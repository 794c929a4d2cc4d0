"""The actors shared by every chunk of the world: visa posts and desks, border posts and officers, labour
inspectors and recruiters (simulator.recruiters), with their planted latent traits.

Employers are generated per chunk (simulator.employers); everything here is small (at most tens of
thousands of rows even in the large world) and built once from its own random stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from simulator import text
from simulator.config import EMPLOYERS_PER_SCALE, SimulationConfig
from simulator.draws import distinct, habits, intensity, side_stream, toward
from simulator.geography import DESTINATION_COUNTRIES, ORIGIN_CITIES, ORIGIN_COUNTRIES
from simulator.recruiters import recruiter_fields
from simulator.supply import n_buyers


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


def build_actors(cfg: SimulationConfig, scale: str, rng: np.random.Generator) -> Actors:
    """Every actor shared by the chunks, drawn from ``rng`` and its side streams in a fixed order."""
    n_emp = EMPLOYERS_PER_SCALE[scale]
    n_c = cfg.world.destination_countries
    mrng = side_stream(rng, 94)  # marker intensities and habits, from a stream of their own
    officials = {
        **_visa_posts(cfg, n_emp, rng, mrng),
        **_border_posts(cfg, n_emp, rng, mrng),
        **_inspectors(cfg, n_emp, rng, mrng),
    }
    recruiters = recruiter_fields(cfg, n_emp, officials, rng, mrng)
    sigma = cfg.markers.official_habit_sigma
    return Actors(
        n_countries=n_c,
        n_regions=cfg.world.regions_per_country,
        country_names=text.strings(DESTINATION_COUNTRIES[:n_c]),
        **officials,
        **recruiters,
        officer_habit=habits(mrng, len(officials["officer_bpost"]), sigma),
        inspector_habit=habits(mrng, len(officials["inspector_region"]), sigma),
        n_buyers=n_buyers(n_emp, cfg.supply_chain),
    )


def _visa_posts(
    cfg: SimulationConfig, n_emp: int, rng: np.random.Generator, mrng: np.random.Generator
) -> dict[str, Any]:
    """Visa posts (per destination country, one per origin city up to what the volume needs) and their desks."""
    n_c = cfg.world.destination_countries
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
    mk = cfg.markers
    return {
        "post_country": post_country,
        "post_origin": post_origin,
        "post_code": post_code,
        "post_cum_weight": post_cum_weight,
        "desk_post": desk_post,
        "desk_corrupt": desk_corrupt,
        "desk_intensity": intensity(mrng, desk_corrupt, mk.visa_desk_intensity, mk.intensity_concentration),
        "desk_habit": habits(mrng, len(desk_post), mk.official_habit_sigma),
        "desk_officer": text.padded_ids("CO", distinct(rng, 900_000, len(desk_post)) + 100_000, 6),
    }


def _border_posts(
    cfg: SimulationConfig, n_emp: int, rng: np.random.Generator, mrng: np.random.Generator
) -> dict[str, Any]:
    """Border posts (most of them land crossings) and their officers."""
    n_c = cfg.world.destination_countries
    mk = cfg.markers
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
    return {
        "bpost_country": bpost_country,
        "bpost_code": bpost_code,
        "bpost_land": bpost_land,
        "officer_bpost": officer_bpost,
        "officer_corrupt": officer_corrupt,
        "officer_intensity": officer_intensity,
        "officer_night": rng.random(n_off) < toward(0.3, 0.7, officer_intensity),
        "officer_badge": text.padded_ids("BO", distinct(rng, 900_000, n_off) + 100_000, 6),
    }


def _inspectors(
    cfg: SimulationConfig, n_emp: int, rng: np.random.Generator, mrng: np.random.Generator
) -> dict[str, Any]:
    """Labour inspectors: at least two per region, each covering one region."""
    mk = cfg.markers
    n_regions_total = cfg.world.destination_countries * cfg.world.regions_per_country
    n_insp = max(n_regions_total * 2, n_emp // 60)
    inspector_region = np.concatenate(
        [np.arange(n_regions_total), rng.integers(0, n_regions_total, n_insp - n_regions_total)]
    )
    inspector_corrupt = rng.random(n_insp) < cfg.prevalence.corrupt_inspector
    return {
        "inspector_region": inspector_region,
        "inspector_corrupt": inspector_corrupt,
        "inspector_intensity": intensity(mrng, inspector_corrupt, mk.inspector_intensity, mk.intensity_concentration),
        "inspector_badge": text.padded_ids("LI", distinct(rng, 900_000, n_insp) + 100_000, 6),
    }
