"""Every knob of the synthetic world, declared once, with defaults from the figures in INDICATORS.md.

The config is read from TOML; unknown keys are rejected at every level so that a typo in a
config file is an error, never a silently ignored setting.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from data_contracts.contracts import SECTORS

Scale = Literal["tiny", "small", "medium", "large"]


# Employers per scale; the records per employer (about 50 over three years) give
# tiny ~10k, small ~200k, medium ~2M and large 20M+ records.
EMPLOYERS_PER_SCALE: dict[str, int] = {
    "tiny": 200,
    "small": 4_000,
    "medium": 40_000,
    "large": 420_000,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorldShape(_Strict):
    start_date: str = "2022-01-01"  # first day of the simulated window (ISO date)
    years: int = Field(3, ge=1, le=10)
    destination_countries: int = Field(6, ge=1, le=12)
    regions_per_country: int = Field(5, ge=1, le=20)
    # Per employer over the whole window; the visa/crossing volumes scale with employer size.
    sponsored_applications_per_employer: float = Field(12.0, gt=0)
    unsponsored_application_share: float = Field(0.35, ge=0, le=1)  # of sponsored volume
    background_crossings_per_employer: float = Field(12.0, ge=0)
    employers_per_chunk: int = Field(10_000, ge=50)  # unit of parallel work and of part files


class Prevalence(_Strict):
    """Planted latent truth: the share of actors that are exploitative / abusive / corrupt."""

    exploitative_employer_by_sector: dict[str, float] = Field(
        default_factory=lambda: {
            "agriculture": 0.08,
            "construction": 0.07,
            "manufacturing_garment": 0.08,
            "domestic_work": 0.10,
            "hospitality_entertainment": 0.10,
            "fishing": 0.12,
            "food_processing": 0.07,
            "other": 0.02,
        }
    )
    abusive_recruiter: float = Field(0.10, ge=0, le=1)
    corrupt_visa_desk: float = Field(0.06, ge=0, le=1)
    corrupt_border_officer: float = Field(0.05, ge=0, le=1)
    corrupt_inspector: float = Field(0.08, ge=0, le=1)

    @model_validator(mode="after")
    def _sectors_known(self) -> Prevalence:
        unknown = set(self.exploitative_employer_by_sector) - set(SECTORS)
        missing = set(SECTORS) - set(self.exploitative_employer_by_sector)
        if unknown or missing:
            raise ValueError(
                f"exploitative_employer_by_sector must name exactly the sectors {list(SECTORS)}; "
                f"unknown: {sorted(unknown)}, missing: {sorted(missing)}"
            )
        if any(not 0 <= v <= 1 for v in self.exploitative_employer_by_sector.values()):
            raise ValueError("exploitative_employer_by_sector values must lie in [0, 1]")
        return self


class Network(_Strict):
    """How the planted actors tie together (003:688, 003:1471, 003:1898, 003:5943)."""

    abusive_recruiter_affinity: float = Field(0.7, ge=0, le=1)  # P(exploitative employer uses an abusive recruiter)
    route_to_corrupt_desk: float = Field(0.5, ge=0, le=1)  # P(abusive recruiter's application goes to a corrupt desk)
    route_to_corrupt_officer: float = Field(0.5, ge=0, le=1)  # P(its traveller crosses at a corrupt officer)
    shared_director_with_network: float = Field(0.5, ge=0, le=1)
    shared_phone_with_network: float = Field(0.3, ge=0, le=1)
    escort_share: float = Field(0.6, ge=0, le=1)  # P(abusive recruiter's traveller crosses with an escort)


class Realism(_Strict):
    """The imperfections the models must cope with."""

    # Inspections detect a present indicator only sometimes: fewer than 35% identified (001:270).
    detection_probability: float = Field(0.35, ge=0, le=1)
    corrupt_inspector_detection_factor: float = Field(0.2, ge=0, le=1)
    announced_visit_detection_factor: float = Field(0.5, ge=0, le=1)
    # Selection bias: most inspections targeted by a simple rule, a minority random, some from complaints.
    targeted_inspections_per_year: float = Field(0.10, ge=0, le=1)  # share of employers
    random_inspections_per_year: float = Field(0.03, ge=0, le=1)
    complaint_inspection_probability: float = Field(0.6, ge=0, le=1)
    follow_up_probability: float = Field(0.5, ge=0, le=1)
    name_variant_share: float = Field(0.15, ge=0, le=1)
    # Share of the records naming an organisation that write the name in the script of its country's offices
    # (simulator/scripts.py: employers in their destination country's, recruiters in their origin country's);
    # where that script is Latin the name stays as it is. Most records that cross borders or reach a central
    # register carry a Latin name field, so a modest minority: one in ten, drawn per record.
    name_script_share: float = Field(0.10, ge=0, le=1)
    missing_value_share: float = Field(0.03, ge=0, le=1)
    duplicate_share: float = Field(0.003, ge=0, le=0.5)
    late_arrival_share: float = Field(0.05, ge=0, le=1)
    malformed_row_share: float = Field(0.005, ge=0, le=0.5)
    # Displacement after enforcement, from ``displacement_start_day`` (days after world.start_date) on:
    # - sanctioned actors re-register under a new name (003:2799: the agency changed its name; 003:5020), keeping a
    #   director, phone or address;
    # - abusive recruiters go on as unlicensed brokers under a new name (003:5020: operators opened unlicensed
    #   businesses to avoid administrative checks): each with probability ``unlicensed_shift_share``, from a day
    #   drawn in the 90 days after the start; the same operator (desks, escorts, fees), no licence number on its
    #   applications, its registered licence lapsing that day; re-registered employers recruit through such an
    #   operator with the same probability. 0 (the default) leaves the world as it was without this mechanism.
    displacement_share: float = Field(0.5, ge=0, le=1)  # probability per sanctioned actor
    unlicensed_shift_share: float = Field(0.0, ge=0, le=1)  # probability per abusive recruiter / re-registration
    displacement_start_day: int = Field(0, ge=0)  # days after world.start_date
    recruiter_rename_share: float = Field(0.05, ge=0, le=1)  # registered recruiters renamed once in the window
    # Days from a border crossing to the finding that its document was fraudulent (or was not): exponential mean.
    fraud_discovery_mean_days: float = Field(180.0, ge=0)
    overstay_base: float = Field(0.02, ge=0, le=1)
    label_false_positive_rate: float = Field(0.002, ge=0, le=1)


class Markers(_Strict):
    """How far planted actors' traces stand out from clean ones': every marker fires on some clean actors and
    misses some planted ones.

    Intensity: each planted actor draws how openly it acts, a number in [0, 1] (Beta with the type's mean and
    ``intensity_concentration``: uniform at mean 0.5 and concentration 2); each of its marker rates lies that
    share of the way from the clean rate to the fully planted one (1: every planted actor acts as openly as the
    world allows; 0: like a clean one). The exploitation itself (the ILO indicators present at an employer)
    does not depend on it.
    """

    employer_intensity: float = Field(0.3, ge=0, le=1)
    recruiter_intensity: float = Field(0.35, ge=0, le=1)
    visa_desk_intensity: float = Field(0.35, ge=0, le=1)
    border_officer_intensity: float = Field(0.5, ge=0, le=1)
    inspector_intensity: float = Field(0.9, ge=0, le=1)
    # Concentration of the intensities' Beta: higher makes planted actors of a type act alike.
    intensity_concentration: float = Field(2.0, gt=0, le=100)
    # Officials' habits differ: each desk's, border officer's and inspector's base rates (expediting, decisions
    # outside office hours, overturned refusals, processing time, night shifts, referrals, announced visits) are
    # multiplied by a lognormal factor with this sigma (0: identical habits).
    official_habit_sigma: float = Field(0.5, ge=0, le=3)
    # Base rates at clean actors of markers that would otherwise be planted-only (shares, 0-1).
    clean_minors_share: float = Field(0.01, ge=0, le=1)  # clean employers with minors at work
    clean_marriage_agency_share: float = Field(0.01, ge=0, le=1)  # clean recruiters that are marriage agencies
    clean_revoked_share: float = Field(0.01, ge=0, le=1)  # clean licensed recruiters revoked before the window
    clean_fee_above_cap_share: float = Field(0.03, ge=0, le=1)  # clean recruiters declaring a fee above the cap
    clean_visitor_placement_share: float = Field(0.02, ge=0, le=1)  # of clean travel/model agencies' applications
    clean_network_contact_share: float = Field(0.01, ge=0, le=1)  # clean employers sharing a recruiter's phone
    clean_escort_share: float = Field(0.05, ge=0, le=1)  # clean recruiters' travellers crossing with its escort
    clean_van_share: float = Field(0.05, ge=0, le=1)  # clean recruiters' travellers crossing land in its van
    clean_retry_share: float = Field(0.3, ge=0, le=1)  # refused travellers trying again the next day
    # Desks at posts with many applications per desk are this much more exposed to corruption: P(corrupt) is
    # prevalence times (load / mean load) ** this (003:1491; 0: load does not matter).
    desk_overload_exponent: float = Field(0.5, ge=0, le=3)
    new_employer_share: float = Field(0.05, ge=0, le=1)  # employers, clean and planted alike, founded in the window
    founder_shared_director_share: float = Field(0.2, ge=0, le=1)  # of those: a director of an older employer


class SupplyChain(_Strict):
    """Buyers, tier-1 and tier-2 suppliers (simulator/supply.py): depth two below the buyer, skewed fan-out."""

    employers_per_buyer: int = Field(400, ge=10)  # buyers = employers // this (at least 2)
    tier1_share: float = Field(0.10, ge=0, le=1)  # share of employers that supply a buyer directly
    tier2_per_tier1: float = Field(2.5, ge=0, le=20)  # mean number of tier-2 suppliers per tier-1 supplier
    # Odds factor: exploitative employers are this many times less likely at tier 1 and more likely at tier 2.
    lower_tier_exploitation_factor: float = Field(3.0, ge=1, le=50)


class SimulationConfig(_Strict):
    world: WorldShape = WorldShape()
    prevalence: Prevalence = Prevalence()
    network: Network = Network()
    realism: Realism = Realism()
    markers: Markers = Markers()
    supply_chain: SupplyChain = SupplyChain()


class ConfigError(ValueError):
    """A config file that cannot be used, with a message meant for the person who wrote it."""


def load_config(path: Path | None) -> SimulationConfig:
    """Read a TOML config; ``None`` gives the defaults. Unknown keys raise ``ConfigError``."""
    if path is None:
        return SimulationConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    try:
        return SimulationConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"invalid config {path}: {problems}") from exc
