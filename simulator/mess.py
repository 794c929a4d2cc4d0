"""What real exports look like: export batches with late arrivals, missing values, malformed rows and
duplicates. Each imperfection is a config knob, and every malformed or duplicated row is written to
the truth folder so tests can check the configured shares and the ingest can be reconciled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator.config import Realism
from simulator.schema import N_COMMON, Column, ExportTable
from simulator.text import category, with_nulls

MALFORMED_DATES = ("31/02/2023", "not recorded", "2099-01-01", "2023-13-45", "yesterday")
MALFORMED_DATETIMES = ("31/02/2023 10:00", "n/a", "2099-01-01T09:00:00", "2023-02-30T25:61:00", "??")
MALFORMED_CATEGORIES = ("UNKNOWN", "n/a", "Other!!", "-", "tbd")


@dataclass(frozen=True)
class MessResult:
    table: pa.Table
    malformed: pa.Table  # record_id, column, kind
    duplicates: pa.Table  # record_id


def quarter_labels(start_year: int, n_quarters: int) -> pa.Array:
    return pa.array([f"{start_year + q // 4}Q{q % 4 + 1}" for q in range(n_quarters)], type=pa.string())


def quarter_ends(start_year: int, n_quarters: int) -> pa.Array:
    """ISO date of the last day of each quarter from the first of ``start_year``."""
    firsts = np.array(
        [f"{start_year + q // 4}-{3 * (q % 4) + 1:02d}-01" for q in range(n_quarters + 1)], "datetime64[D]"
    )
    return pa.array(np.datetime_as_string(firsts[1:] - 1, unit="D"), type=pa.string())


def export_quarter(start_date: str, day: np.ndarray, n_quarters: int) -> np.ndarray:
    """Index of the calendar quarter (from the first of the start year) holding day offset ``day`` from
    ``start_date``, clipped to the window's quarters."""
    when = np.datetime64(start_date, "D") + np.clip(day, 0, None).astype("timedelta64[D]")
    months = when.astype("datetime64[M]").astype(np.int64) - np.datetime64(f"{start_date[:4]}-01", "M").astype(np.int64)
    quarter: np.ndarray = np.clip(months // 3, 0, n_quarters - 1)
    return quarter


def apply_mess(
    spec: ExportTable,
    table: pa.Table,
    rng: np.random.Generator,
    realism: Realism,
    start_date: str,
    years: int,
) -> MessResult:
    """The export of ``table`` (its ``_day``: the day offset its record's content is complete, e.g. a visa
    decision) in quarterly batches: each row in its day's quarter, late ones one or two quarters later;
    ``known_on`` is the last day of the row's batch."""
    cols = _batched(spec, table, rng, realism, start_date, years)
    record_ids = cols["record_id"]
    malformed = _break_rows(spec, cols, rng, realism)
    out = pa.table(cols)
    # Duplicates: the same row exported twice (a re-sent file, a double click), appended at the end.
    dup_rows = _sample(rng, table.num_rows, realism.duplicate_share)
    if len(dup_rows):
        out = pa.concat_tables([out, out.take(pa.array(dup_rows))])
    duplicates = pa.table({"record_id": record_ids.take(pa.array(dup_rows, type=pa.int64()))})
    return MessResult(out, malformed, duplicates)


def _batched(
    spec: ExportTable, table: pa.Table, rng: np.random.Generator, realism: Realism, start_date: str, years: int
) -> dict[str, pa.Array]:
    """The export's columns: the common ones (record id, source, batch, known on) with late arrivals, then
    the table's own with missing values."""
    n = table.num_rows
    day = table.column("_day").to_numpy()
    start_year = int(start_date[:4])
    n_q = years * 4 + (1 if start_date[5:] != "01-01" else 0)
    quarter = export_quarter(start_date, day, n_q)
    late = _sample(rng, n, realism.late_arrival_share)
    quarter[late] = np.minimum(quarter[late] + rng.integers(1, 3, len(late)), n_q - 1)
    cols: dict[str, pa.Array] = {
        "record_id": table.column("record_id").combine_chunks(),
        "source": category(pa.array([spec.source], type=pa.string()), np.zeros(n, dtype=np.int64)),
        "batch_id": category(quarter_labels(start_year, n_q), quarter),
        "known_on": category(quarter_ends(start_year, n_q), quarter),
    }
    for column in spec.columns[N_COMMON:]:
        arr = table.column(column.name).combine_chunks()
        if not column.required and realism.missing_value_share > 0:
            blank = np.zeros(n, dtype=bool)
            blank[_sample(rng, n, realism.missing_value_share)] = True
            arr = with_nulls(arr, blank)
        cols[column.name] = arr
    return cols


def _break_rows(spec: ExportTable, cols: dict[str, pa.Array], rng: np.random.Generator, realism: Realism) -> pa.Table:
    """Malformed rows: one broken field each (in ``cols``, in place), chosen among the columns a contract can
    check; returns which (record_id, column, kind)."""
    breakable = [
        c
        for c in spec.columns[N_COMMON:]
        if c.kind in ("date", "datetime", "count", "amount", "category") or (c.kind == "id" and c.required)
    ]
    n = len(cols["record_id"])
    bad_rows = _sample(rng, n, realism.malformed_row_share)
    which = rng.integers(0, len(breakable), len(bad_rows))
    bad_ids: list[np.ndarray] = []
    bad_cols: list[str] = []
    bad_kinds: list[str] = []
    for ci, column in enumerate(breakable):
        rows = bad_rows[which == ci]
        if len(rows) == 0:
            continue
        cols[column.name], kinds = _break(column, cols[column.name], rows, rng)
        bad_ids.append(rows)
        bad_cols.extend([column.name] * len(rows))
        bad_kinds.extend(kinds)
    all_bad = np.concatenate(bad_ids) if bad_ids else np.zeros(0, dtype=np.int64)
    return pa.table(
        {
            "record_id": cols["record_id"].take(pa.array(all_bad, type=pa.int64())),
            "column": pa.array(bad_cols, type=pa.string()),
            "kind": pa.array(bad_kinds, type=pa.string()),
        }
    )


def _break(column: Column, arr: pa.Array, rows: np.ndarray, rng: np.random.Generator) -> tuple[pa.Array, list[str]]:
    """``arr`` with the field broken at ``rows`` (sorted) as its kind can break, and the kind of each break."""
    mask = _mask(len(arr), rows)
    k = len(rows)
    if column.kind in ("date", "datetime"):
        pool = MALFORMED_DATES if column.kind == "date" else MALFORMED_DATETIMES
        choice = rng.integers(0, len(pool), k)
        bad = pa.array([pool[i] for i in choice], type=pa.string())
        kinds = ["future_date" if i == 2 else "unparseable_date" for i in choice]
        return pc.replace_with_mask(arr.cast(pa.string()), mask, bad), kinds
    if column.kind in ("count", "amount"):
        current = arr.take(pa.array(rows)).fill_null(0)
        bad = pc.subtract(pc.negate(current), pa.scalar(1, type=arr.type))
        return pc.replace_with_mask(arr, mask, bad), ["negative_value"] * k
    if column.kind == "category":
        choice = rng.integers(0, len(MALFORMED_CATEGORIES), k)
        bad = pa.array([MALFORMED_CATEGORIES[i] for i in choice], type=pa.string())
        return _replace(arr, mask, rows, bad), ["unknown_category"] * k
    return pc.if_else(mask, pa.scalar(None, type=arr.type), arr), ["missing_required"] * k


def _sample(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """Sorted distinct row positions, each row chosen independently with probability ``share``."""
    k = rng.binomial(n, share) if n else 0
    return np.sort(rng.choice(n, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)


def _mask(n: int, rows: np.ndarray) -> pa.Array:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return pa.array(mask)


def _replace(arr: pa.Array, mask: pa.Array, rows: np.ndarray, bad: pa.Array) -> pa.Array:
    """``arr`` with ``bad`` written at ``rows`` (sorted); dictionary arrays stay dictionary-encoded."""
    if not isinstance(arr, pa.DictionaryArray):
        return pc.replace_with_mask(arr.cast(pa.string()), mask, bad)
    indices = arr.indices.to_numpy(zero_copy_only=False)
    indices = np.nan_to_num(indices, nan=0).astype(np.int32) if indices.dtype.kind == "f" else indices.copy()
    valid = arr.is_valid().to_numpy(zero_copy_only=False).copy()
    indices[rows] = len(arr.dictionary) + np.arange(len(rows), dtype=np.int32)
    valid[rows] = True
    dictionary = pa.concat_arrays([arr.dictionary.cast(pa.string()), bad])
    return pa.DictionaryArray.from_arrays(pa.array(indices, type=pa.int32(), mask=~valid), dictionary)
