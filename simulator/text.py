"""Vectorised text for the synthetic export: ids, ISO dates, names and their variants.

Everything here works on whole arrays (pyarrow compute), never per row in Python, so that the
large world (20M+ records) is written at more than a million records per second.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ADJECTIVES = [
    "Golden",
    "Sunrise",
    "Green",
    "Valley",
    "Silver",
    "River",
    "Eastern",
    "Western",
    "Northern",
    "Southern",
    "Royal",
    "Prime",
    "Blue",
    "Ocean",
    "Bright",
    "Star",
    "Pacific",
    "Atlantic",
    "Summit",
    "Pioneer",
    "Heritage",
    "Evergreen",
    "Crystal",
    "Harbor",
    "Liberty",
    "United",
    "Global",
    "Coastal",
    "Central",
    "Delta",
    "Highland",
    "Lotus",
    "Phoenix",
    "Orchid",
    "Jade",
    "Falcon",
    "Crescent",
    "Meridian",
    "Sterling",
    "Diamond",
    "Emerald",
    "Horizon",
    "Cedar",
    "Maple",
    "Oak",
    "Pine",
    "Willow",
    "Coral",
    "Amber",
    "Ivory",
    "Sapphire",
    "Ruby",
    "Granite",
    "Iron",
]
_NOUNS = [
    "Harvest",
    "Fields",
    "Works",
    "Builders",
    "Textiles",
    "Garments",
    "Seafood",
    "Catch",
    "Foods",
    "Kitchen",
    "Homes",
    "Care",
    "Hotels",
    "Resorts",
    "Logistics",
    "Orchards",
    "Farms",
    "Fisheries",
    "Packing",
    "Industries",
    "Partners",
    "Group",
    "Ventures",
    "Holdings",
    "Trading",
    "Services",
    "Solutions",
    "Enterprises",
    "Company",
    "Brothers",
    "Family",
    "Estates",
    "Growers",
    "Produce",
    "Mills",
    "Factory",
    "Plant",
]
_SUFFIXES = ("Ltd", "LLC", "Inc", "Co", "Pvt Ltd", "GmbH", "SA", "Sdn Bhd", "PLC", "Corp")
_ALT_SUFFIXES = (
    "Limited",
    "L.L.C.",
    "Incorporated",
    "Company",
    "Private Limited",
    "G.m.b.H.",
    "S.A.",
    "Sdn. Bhd.",
    "P.L.C.",
    "Corporation",
)
_RECRUITER_WORDS = [
    "Manpower",
    "Recruitment",
    "Staffing",
    "Placement",
    "Overseas",
    "Employment",
    "Labour",
    "Travel",
    "Tours",
    "Talent",
    "Models",
    "Agency",
    "Connect",
    "Bridge",
    "Link",
    "Pathways",
    "Careers",
    "Workforce",
    "Jobs",
    "Migration",
    "Consultancy",
]
_FIRST = [
    "Adel",
    "Ana",
    "Arjun",
    "Bich",
    "Carlos",
    "Chen",
    "Dara",
    "Elena",
    "Farid",
    "Grace",
    "Hassan",
    "Ines",
    "Jose",
    "Kamal",
    "Lina",
    "Mei",
    "Nadia",
    "Omar",
    "Pedro",
    "Quang",
    "Rosa",
    "Sami",
    "Tariq",
    "Uma",
    "Vera",
    "Wei",
    "Xavier",
    "Yusuf",
    "Zara",
    "Amir",
    "Bao",
    "Citlali",
    "Dmitri",
    "Esi",
    "Fatima",
]
_LAST = [
    "Santos",
    "Nguyen",
    "Khan",
    "Garcia",
    "Silva",
    "Tan",
    "Lim",
    "Perez",
    "Ali",
    "Rahman",
    "Costa",
    "Wong",
    "Lopez",
    "Haddad",
    "Sato",
    "Kim",
    "Mendes",
    "Ortiz",
    "Chowdhury",
    "Reyes",
    "Morales",
    "Ibrahim",
    "Novak",
    "Kowalski",
    "Mensah",
    "Okafor",
    "Tran",
    "Pham",
    "Cruz",
    "Rossi",
    "Weber",
    "Ahmed",
]
_STREETS = (
    "Main",
    "Market",
    "Harbour",
    "Station",
    "River",
    "Industrial",
    "Mill",
    "Church",
    "Park",
    "Hill",
    "Canal",
    "Orchard",
    "Factory",
    "Bridge",
    "Temple",
    "Garden",
)
_STREET_TYPES = ("Road", "Street", "Avenue", "Lane", "Way")


def strings(values: tuple[str, ...] | list[str]) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def pick(pool: pa.Array, idx: np.ndarray) -> pa.Array:
    """pool[idx] as an arrow array (idx: int array of positions)."""
    return pool.take(pa.array(idx, type=pa.int64()))


def category(pool: pa.Array, idx: np.ndarray) -> pa.Array:
    """pool[idx], dictionary-encoded when the pool is small (no string copies; Parquet writes it as is).

    Large pools (names) are taken as plain strings: writing a dictionary far larger than the rows
    that use it costs more than it saves.
    """
    if len(pool) > 16_384:
        return pick(pool, idx)
    return pa.DictionaryArray.from_arrays(pa.array(idx, type=pa.int32()), pool)


def join(*parts: Any) -> pa.Array:
    """Element-wise string concatenation of arrow arrays and/or python strings."""
    return pc.binary_join_element_wise(*parts, "")


def padded_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """'VA-000000123'-style identifiers: prefix + zero-padded decimal number."""
    digits = pa.array(numbers.astype(np.int64)).cast(pa.string())
    return join(prefix, pc.utf8_lpad(digits, width=width, padding="0"))


PASSPORT_HALF = 1_000_000  # passport numbers are 12 digits: two halves of 6 digits each
PASSPORT_ROUNDS = 4
PASSPORTS_PER_BLOCK = 100_000_000  # passport serials of chunk c are c * this + 0, 1, ...


def scrambled_numbers(keys: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """A keyed bijection of [0, PASSPORT_HALF**2) (a balanced Feistel network with ``keys``, one uint64 per
    round): distinct inputs give distinct outputs whose order and range say nothing about the inputs'."""
    x = numbers.astype(np.uint64)
    half = np.uint64(PASSPORT_HALF)
    left, right = x // half, x % half
    with np.errstate(over="ignore"):
        for k in keys.astype(np.uint64):
            mixed = (right + k) * np.uint64(0x9E3779B97F4A7C15)
            mixed ^= mixed >> np.uint64(29)
            mixed *= np.uint64(0xBF58476D1CE4E5B9)
            mixed ^= mixed >> np.uint64(32)
            left, right = right, (left + mixed % half) % half
    out: np.ndarray = (left * half + right).astype(np.int64)
    return out


def chronological_rank(day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row's position when rows are sorted by ``day`` (ties in random order): serial numbers handed out
    in this order follow time alone."""
    order = np.lexsort((rng.random(len(day)), day))
    rank = np.empty(len(day), dtype=np.int64)
    rank[order] = np.arange(len(day))
    return rank


@functools.lru_cache(maxsize=1)
def _time_of_day_text() -> pa.Array:
    return pa.array([f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)], type=pa.string())


NEVER = 10**6  # a day offset past every window


class Calendar:
    """Lookup tables that turn day / second offsets from the window start into ISO-8601 strings."""

    def __init__(self, start: str, days: int) -> None:
        self.start = np.datetime64(start, "D")
        # Covers a margin before the window (registration dates, licence dates) and after it.
        self.before = 365 * 30
        self.after = 365 * 6
        all_days = np.arange(self.start - self.before, self.start + days + self.after)
        self._day_text = pa.array(np.datetime_as_string(all_days, unit="D"), type=pa.string())
        self._time_text = _time_of_day_text()
        self.days = days

    def date(self, day_offset: np.ndarray) -> pa.Array:
        """ISO date for an integer day offset from the window start (clipped to 30 years before it)."""
        idx = np.clip(day_offset.astype(np.int64) + self.before, 0, len(self._day_text) - 1)
        return category(self._day_text, idx)

    def datetime(self, second_offset: np.ndarray) -> pa.Array:
        """ISO datetime (no zone, local time of the recording office) for a second offset."""
        sec = second_offset.astype(np.int64)
        day = np.clip(sec // 86_400 + self.before, 0, len(self._day_text) - 1)
        return join(pick(self._day_text, day), pick(self._time_text, sec % 86_400))


def organisation_names(rng: np.random.Generator, n: int, sector_word: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Canonical names, their suffix-free base and the suffix index for ``n`` organisations."""
    adj = pick(strings(_ADJECTIVES), rng.integers(0, len(_ADJECTIVES), n))
    noun = pick(strings(_NOUNS), rng.integers(0, len(_NOUNS), n))
    suffix_idx = rng.integers(0, len(_SUFFIXES), n)
    # A number in a minority of names keeps most of them unique even in the large world.
    serial = rng.integers(1, 999, n)
    with_serial = rng.random(n) < 0.5
    serial_text = pc.if_else(pa.array(with_serial), join(" ", pa.array(serial).cast(pa.string())), "")
    base = join(adj, " ", sector_word, " ", noun, serial_text)
    canonical = join(base, " ", pick(strings(_SUFFIXES), suffix_idx))
    return canonical, base, pa.array(suffix_idx)


def recruiter_names(rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array, pa.Array]:
    adj = pick(strings(_ADJECTIVES), rng.integers(0, len(_ADJECTIVES), n))
    w1 = pick(strings(_RECRUITER_WORDS), rng.integers(0, len(_RECRUITER_WORDS), n))
    w2 = pick(strings(_RECRUITER_WORDS), rng.integers(0, len(_RECRUITER_WORDS), n))
    serial = pa.array(rng.integers(1, 99, n)).cast(pa.string())
    suffix_idx = rng.integers(0, len(_SUFFIXES), n)
    base = join(adj, " ", w1, " ", w2, " ", serial)
    canonical = join(base, " ", pick(strings(_SUFFIXES), suffix_idx))
    return canonical, base, pa.array(suffix_idx)


N_VARIANTS = 5  # canonical + 3 Latin variants + the name in its country's script per name
SCRIPT_VARIANT = 4  # position of the name in its country's script (simulator.scripts) among a name's variants


def name_variants(canonical: pa.Array, base: pa.Array, suffix_idx: pa.Array, written: pa.Array) -> pa.Array:
    """Flattened [n * N_VARIANTS] array: canonical, upper-case without punctuation, long suffix, typo, and
    ``written`` (the name in its country's script, simulator.scripts.write_names; the canonical name where that
    script is Latin).

    Variant v of entity i sits at position ``i * N_VARIANTS + v``.
    """
    upper = pc.replace_substring_regex(pc.utf8_upper(canonical), pattern=r"[.,]", replacement="")
    long_suffix = join(base, " ", strings(_ALT_SUFFIXES).take(suffix_idx))
    # Typo: drop the fourth character.
    typo = join(pc.utf8_slice_codeunits(canonical, 0, 3), pc.utf8_slice_codeunits(canonical, 4))
    n = len(canonical)
    flat = pa.concat_arrays([a.cast(pa.string()) for a in (canonical, upper, long_suffix, typo, written)])
    position = np.arange(n * N_VARIANTS)
    return flat.take(pa.array((position % N_VARIANTS) * n + position // N_VARIANTS))


def choose_variant(rng: np.random.Generator, entity_idx: np.ndarray, variant_share: float) -> np.ndarray:
    """Position in a ``name_variants`` array: canonical with probability 1 - variant_share, else one of the
    Latin variants."""
    variant = np.where(rng.random(len(entity_idx)) < variant_share, rng.integers(1, SCRIPT_VARIANT, len(entity_idx)), 0)
    return entity_idx.astype(np.int64) * N_VARIANTS + variant


def in_script(rng: np.random.Generator, position: np.ndarray, script_share: float, scripted: np.ndarray) -> np.ndarray:
    """``position`` (from ``choose_variant``) moved to its entity's name in its country's script with
    probability ``script_share`` (realism.name_script_share) where the entity's country writes a non-Latin
    script (``scripted``, per entity); draws from ``rng`` alone, one per row."""
    entity = position // N_VARIANTS
    moved = (rng.random(len(position)) < script_share) & scripted[entity]
    out: np.ndarray = np.where(moved, entity * N_VARIANTS + SCRIPT_VARIANT, position)
    return out


def person_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Directors as company registers list them: name and month of birth ('Anna K. Petrov, born 1971-04').

    The 29,120 names alone would make thousands of strangers "share a director" in a large world (about 840,000
    director lines); with the birth month (1950-1999) two lines meet by chance about once in 17 million draws,
    so shared directors are the ones the simulator plants."""
    first = pick(strings(_FIRST), rng.integers(0, len(_FIRST), n))
    last = pick(strings(_LAST), rng.integers(0, len(_LAST), n))
    initial = pick(strings([chr(c) for c in range(65, 91)]), rng.integers(0, 26, n))
    # A child generator: spawning leaves ``rng``'s own stream where it was, so the rest of the world keeps its draws.
    births = rng.spawn(1)[0]
    born = pa.array(births.integers(1950, 2000, n)).cast(pa.string())
    month = padded_ids("", births.integers(1, 13, n), 2)
    return join(first, " ", initial, ". ", last, ", born ", born, "-", month)


def addresses(rng: np.random.Generator, n: int, city: pa.Array) -> pa.Array:
    number = pa.array(rng.integers(1, 400, n)).cast(pa.string())
    street = pick(strings(_STREETS), rng.integers(0, len(_STREETS), n))
    kind = pick(strings(_STREET_TYPES), rng.integers(0, len(_STREET_TYPES), n))
    return join(number, " ", street, " ", kind, ", ", city)


def phones(rng: np.random.Generator, n: int) -> pa.Array:
    return padded_ids("+", rng.integers(10**10, 10**11, n), 11)


def with_nulls(arr: pa.Array, null_mask: np.ndarray) -> pa.Array:
    """``arr`` with rows where ``null_mask`` is true set to null, sharing the data buffers (no copy)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if isinstance(arr, pa.DictionaryArray):
        return pa.DictionaryArray.from_arrays(with_nulls(arr.indices, null_mask), arr.dictionary)
    valid = ~null_mask
    if arr.null_count:
        valid &= arr.is_valid().to_numpy(zero_copy_only=False)
    if arr.offset != 0:
        return pc.if_else(pa.array(null_mask), pa.scalar(None, type=arr.type), arr)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(arr.type, len(arr), [bitmap, *arr.buffers()[1:]])


def normalise_dictionary(arr: pa.Array) -> pa.Array:
    """A dictionary array whose dictionary holds each used value once (in dictionary order).

    pyarrow's Parquet writer does not give byte-identical files for dictionaries with unused or
    repeated entries; this makes the export reproducible (and the dictionary pages smaller).
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not isinstance(arr, pa.DictionaryArray):
        return arr
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    idx = arr.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    used = np.bincount(idx[valid], minlength=len(arr.dictionary)) > 0
    dictionary = pc.unique(arr.dictionary.filter(pa.array(used)))  # each used value once
    remap = pc.index_in(arr.dictionary, value_set=dictionary).fill_null(0).to_numpy(zero_copy_only=False)
    return pa.DictionaryArray.from_arrays(pa.array(remap[idx], type=pa.int32(), mask=~valid), dictionary)
