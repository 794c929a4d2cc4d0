"""What every generator of one chunk of the world draws from: the config, the shared actors with their lookup
tables, the chunk's random streams and its identifier counter.

A chunk is generated from its own random stream (seed, chunk index), so chunks can run in any order, in any
process, and the output is byte-identical. Times are integer offsets from the window start: ``day`` in days,
``sec`` in seconds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from simulator import text
from simulator.actors import Actors
from simulator.config import SimulationConfig
from simulator.draws import group_index, side_stream
from simulator.geography import DESTINATION_COUNTRIES
from simulator.recruiters import AGENCY_TYPES
from simulator.scripts import DESTINATION_SCRIPT, script_index, write_names
from simulator.text import PASSPORTS_PER_BLOCK


class ChunkContext:
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
        self.desks_by_post = group_index(actors.desk_post, actors.n_posts)
        self.bposts_per_country = int(np.sum(actors.bpost_country == 0))
        self.officers_by_bpost = group_index(actors.officer_bpost, len(actors.bpost_country))
        self.inspectors_by_region = group_index(actors.inspector_region, n_c * actors.n_regions)
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

    def to_corrupt_patron(
        self, patron: np.ndarray, openness: np.ndarray, rec: np.ndarray, country: np.ndarray, routed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(the corrupt official each row's recruiter works with in its country, -1: none; whether the row goes
        to it): where ``routed`` and that official takes its network's cases as openly as its ``openness``
        says. ``patron``: [recruiter, country] official index (Actors.rec_pref_desk or rec_pref_officer)."""
        pick = np.where(rec >= 0, patron[np.maximum(rec, 0), country], -1)
        takes = self.mrng.random(len(rec)) < openness[np.maximum(pick, 0)]
        goes: np.ndarray = routed & (pick >= 0) & takes
        return pick, goes

    def region_names(self) -> pa.Array:
        """Name of each region (global region index = country * n_regions + r)."""
        return pa.array(
            [
                f"{DESTINATION_COUNTRIES[c]}-R{r + 1}"
                for c in range(self.a.n_countries)
                for r in range(self.a.n_regions)
            ],
            type=pa.string(),
        )
