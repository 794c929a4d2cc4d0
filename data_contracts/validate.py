"""Validate one batch (one file) against its contract: accepted rows typed and pseudonymised, every other
row quarantined with the ids of the rules it broke, and ``read = accepted + quarantined``.

Pure functions over Arrow tables and an in-memory DuckDB connection; no Prefect, no lake writes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.contracts import CONTRACTS, RecordContract
from data_contracts.pseudonymise import PseudonymKey, conditional_ref_sql, each_name_sql, set_sql_key, whole_sql
from data_contracts.reader import RawBatch
from data_contracts.rules import reference_rule_id, skipped_rules, validation_sql
from data_contracts.sql_text import identifier as _q

# A file is taken for another record type when fewer than this share of the contract's required columns
# are present and another contract's required columns are a better match.
WRONG_TYPE_REQUIRED_SHARE = 0.5


QUARANTINE_VALUE_CHARS = 1_000  # characters of a quarantined value kept; a longer one is cut and marked
CUT_MARK = " [cut]"

KNOWN_ON = "known_on"  # every contract's date the record became known; filled from the ingest time when empty


class WrongRecordType(ValueError):
    """The file's columns do not belong to the record type it was named for."""


@dataclass
class ValidatedBatch:
    record_type: str
    read: int  # data rows in the file, including lines that could not be parsed
    accepted: pa.Table  # typed contract columns + extra_fields + _line + _row_hash
    quarantined: pa.Table  # raw text of the row, _reasons (list of rule ids), _line
    unknown_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    gx_sample: pa.Table | None = None  # parsed contract columns of a reproducible sample of all rows (pseudonymised)
    skipped_rules: dict[str, str] = field(default_factory=dict)  # rule id -> why (the source does not supply ...)

    @property
    def reasons(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for reasons in self.quarantined.column("_reasons").to_pylist():
            counts.update(reasons or [])
        return dict(counts.most_common())


def check_record_type(record_type: str, columns: set[str], unsupplied: Collection[str] = ()) -> None:
    """Raise WrongRecordType when the columns clearly belong to another record type (required fields the
    source declares it does not supply are not counted)."""
    contract = CONTRACTS[record_type]
    required = [c for c in contract.required if c not in unsupplied]
    share = len(set(required) & columns) / max(1, len(required))
    if share >= WRONG_TYPE_REQUIRED_SHARE:
        return
    scores = {name: len(set(c.required) & columns) / len(c.required) for name, c in CONTRACTS.items()}
    best = max(scores, key=lambda n: scores[n])
    hint = f"; its columns match {best}" if best != record_type and scores[best] >= WRONG_TYPE_REQUIRED_SHARE else ""
    missing = sorted(set(required) - columns)
    raise WrongRecordType(
        f"not a {record_type} file: {len(missing)} of {len(required)} required "
        f"columns missing ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}){hint}"
    )


def validate_batch(
    raw: RawBatch,
    record_type: str,
    rename: dict[str, str],
    ingest_time: datetime,
    key: PseudonymKey,
    known: dict[str, pa.Array] | None = None,
    gx_sample_rows: int = 0,
    unsupplied: Collection[str] = (),
) -> ValidatedBatch:
    """Validate ``raw`` as ``record_type``.

    rename: source column -> contract column (the source's declared mapping).
    known: for each reference rule of the contract, the accepted target values (e.g. organisation
    registration numbers in the lake plus those accepted earlier in this run).
    unsupplied: contract fields the source declares it does not supply (must not be among its columns): every
    rule that needs one is skipped and listed in ``skipped_rules``; every other rule is checked.
    """
    contract = CONTRACTS[record_type]
    table, skipped = _renamed_checked(raw.table, contract, rename, unsupplied)
    data_columns = [c for c in table.column_names if c != "_line"]
    present = set(data_columns) & set(contract.columns)
    unknown = [c for c in data_columns if c not in contract.columns]

    # Later copies of a record_id within the file (first copy kept), found in Arrow: cheaper than a window.
    table = table.append_column("_dup_in_batch", _later_copies(table, "record_id" in present))
    table = table.append_column("_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))

    con = duckdb.connect()
    con.execute(f"SET VARIABLE ingest_time = TIMESTAMP '{ingest_time.strftime('%Y-%m-%d %H:%M:%S')}'")
    set_sql_key(con, key)
    con.register("raw_rows", table)
    extra_rules = _reference_rules(con, contract, present, known or {})
    rows = _checked_rows(con, contract, present, unknown, extra_rules, unsupplied)
    is_bad = pc.greater(pc.list_value_length(rows.column("_reasons")), 0)
    accepted = rows.filter(pc.invert(is_bad)).select([*contract.columns, "extra_fields", "_line", "_row_hash"])
    bad = rows.filter(is_bad).select(["_row", "_reasons", "_line"])
    quarantined = _quarantined_rows(con, contract, table.take(bad.column("_row")), bad, data_columns, present)
    gx_sample = _gx_sample(con, rows, contract, present, gx_sample_rows) if gx_sample_rows > 0 else None
    con.close()
    if raw.rejected:
        quarantined = _with_rejected_lines(quarantined, raw, contract, data_columns)
    quarantined, cut = _cap_values(quarantined, data_columns)
    notes = list(raw.notes)
    if cut:
        notes.append(
            f"quarantine: {cut} values longer than {QUARANTINE_VALUE_CHARS:,} characters kept as their first "
            f"{QUARANTINE_VALUE_CHARS:,}, marked{CUT_MARK}"
        )
    kept = [c for c in unknown if c in contract.plain_extras]
    pseudonymised = [c for c in unknown if c not in kept]
    if pseudonymised:
        notes.append(f"unknown columns pseudonymised in extra_fields: {', '.join(pseudonymised)}")
    if kept:
        notes.append(f"unknown columns kept as declared extras in extra_fields: {', '.join(kept)}")
    return ValidatedBatch(
        record_type, table.num_rows + len(raw.rejected), accepted, quarantined, unknown, notes, gx_sample, skipped
    )


def _renamed_checked(
    table: pa.Table, contract: RecordContract, rename: dict[str, str], unsupplied: Collection[str]
) -> tuple[pa.Table, dict[str, str]]:
    """``table`` with its columns renamed to the contract's, and the rules skipped for ``unsupplied``;
    WrongRecordType when two columns land on one name, when a column declared as not supplied is present, or
    when the columns belong to another record type."""
    table = table.rename_columns([rename.get(c, c) for c in table.column_names])
    data_columns = [c for c in table.column_names if c != "_line"]
    if len(set(data_columns)) != len(data_columns):
        raise WrongRecordType(f"two columns map onto the same contract column after renaming: {data_columns}")
    present = set(data_columns) & set(contract.columns)
    skipped = skipped_rules(contract, unsupplied)
    if present & set(unsupplied):
        raise WrongRecordType(f"columns declared as not supplied are in the file: {sorted(present & set(unsupplied))}")
    check_record_type(contract.name, set(data_columns), unsupplied)
    return table, skipped


def _reference_rules(
    con: duckdb.DuckDBPyConnection, contract: RecordContract, present: set[str], known: dict[str, pa.Array]
) -> list[tuple[str, str]]:
    """(rule id, SQL condition that breaks it) for the in-batch duplicate and every reference rule whose column
    is present; registers each rule's known target values as ``known_<column>`` on ``con``."""
    extra_rules = [("record_id:duplicate_in_batch", "_dup_in_batch")]
    for ref in contract.references:
        if ref.column not in present:
            continue
        rule = reference_rule_id(contract, ref.column)
        values = known.get(rule, pa.array([], type=pa.string()))
        con.register(f"known_{ref.column}", pa.table({"v": values.cast(pa.string())}))
        extra_rules.append(
            (rule, f"p_{ref.column} IS NOT NULL AND p_{ref.column} NOT IN (SELECT v FROM known_{ref.column})")
        )
    return extra_rules


def _checked_rows(
    con: duckdb.DuckDBPyConnection,
    contract: RecordContract,
    present: set[str],
    unknown: list[str],
    extra_rules: list[tuple[str, str]],
    unsupplied: Collection[str],
) -> pa.Table:
    """One pass over ``raw_rows``: typed (pseudonymised) contract columns, extra_fields (the unknown columns as
    JSON, each pseudonymised unless a declared plain extra), _line, _row, _row_hash and _reasons (the ids of the
    rules the row broke; empty for an accepted row)."""
    typed = ", ".join(f"{_stored(contract, f.name, present)} AS {_q(f.name)}" for f in contract.fields)
    packed = ", ".join(f"{_q(c)} := {_out(contract, c, '', present)}" for c in unknown)
    extras = f"to_json(struct_pack({packed}))" if unknown else "CAST(NULL AS VARCHAR)"
    hash_cols = ", ".join(f'"p_{f.name}"' for f in contract.fields)
    return con.sql(
        f"WITH checked AS ({validation_sql(contract, present, 'raw_rows', extra_rules, unsupplied)}) "
        f"SELECT {typed}, {extras} AS extra_fields, _line, _row, hash(struct_pack({hash_cols})) AS _row_hash, "
        "_reasons FROM checked"
    ).to_arrow_table()


def _quarantined_rows(
    con: duckdb.DuckDBPyConnection,
    contract: RecordContract,
    bad_input: pa.Table,
    bad: pa.Table,
    data_columns: list[str],
    present: set[str],
) -> pa.Table:
    """The quarantined rows' raw text (``bad_input``: their input rows), person ids and unknown columns (but the
    declared plain extras) pseudonymised, with the rules they broke and their line."""
    con.register("bad_raw", bad_input)
    raw_cols = ", ".join(f"{_out(contract, c, '', present)} AS {_q(c)}" for c in data_columns)
    raw_bad = con.sql(f"SELECT {raw_cols or '1 AS _empty'} FROM bad_raw").to_arrow_table()
    return pa.table(
        {
            **{c: raw_bad.column(c) for c in data_columns},
            "_reasons": bad.column("_reasons"),
            "_line": bad.column("_line"),
            "_raw_line": pa.nulls(bad.num_rows, pa.string()),
        }
    )


def _gx_sample(
    con: duckdb.DuckDBPyConnection, rows: pa.Table, contract: RecordContract, present: set[str], sample_rows: int
) -> pa.Table:
    """A reproducible sample of all rows, typed and pseudonymised, for the Great Expectations Data Docs."""
    con.register("typed_rows", rows.select([c for c in contract.columns if c in present] or ["_line"]))
    return con.sql(
        f"SELECT * FROM typed_rows USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE (42)"
    ).to_arrow_table()


def _with_rejected_lines(
    quarantined: pa.Table, raw: RawBatch, contract: RecordContract, data_columns: list[str]
) -> pa.Table:
    """``quarantined`` plus the lines that could not be parsed, in line order. The raw text of such a line may
    hold person identifiers: when the contract has any (conditional ones included) or the file has an unknown
    column that is not a declared plain extra, only its shape is kept, not its content."""
    rejected = pa.table(
        {
            **{c: pa.nulls(len(raw.rejected), pa.string()) for c in data_columns},
            "_reasons": pa.array([[r.reason] for r in raw.rejected], type=pa.list_(pa.string())),
            "_line": pa.array([r.line for r in raw.rejected], type=pa.int64()),
            "_raw_line": pa.array([r.text for r in raw.rejected], type=pa.string()),
        }
    )
    quarantined = pa.concat_tables([quarantined.cast(rejected.schema), rejected]).sort_by("_line")
    unknown = [c for c in data_columns if c not in contract.columns and c not in contract.plain_extras]
    if not any(f.person_id for f in contract.fields) and not contract.conditional_person_refs and not unknown:
        return quarantined
    return quarantined.set_column(
        quarantined.schema.get_field_index("_raw_line"),
        "_raw_line",
        pc.if_else(
            pc.is_null(quarantined.column("_raw_line")),
            pa.scalar(None, pa.string()),
            pa.scalar("[withheld: may contain person identifiers]", pa.string()),
        ),
    )


def _cap_values(table: pa.Table, columns: list[str]) -> tuple[pa.Table, int]:
    """``table`` with every text value of ``columns`` longer than QUARANTINE_VALUE_CHARS cut to that length and
    marked with CUT_MARK; the number of values cut."""
    cut = 0
    for name in columns:
        column = table.column(name)
        if not pa.types.is_string(column.type) or table.num_rows == 0:
            continue
        long = pc.fill_null(pc.greater(pc.utf8_length(column), QUARANTINE_VALUE_CHARS), False)
        count = pc.sum(long).as_py() or 0
        if not count:
            continue
        short = pc.binary_join_element_wise(pc.utf8_slice_codeunits(column, 0, QUARANTINE_VALUE_CHARS), CUT_MARK, "")
        table = table.set_column(table.schema.get_field_index(name), name, pc.if_else(long, short, column))
        cut += count
    return table, cut


def _later_copies(table: pa.Table, has_record_id: bool) -> pa.Array:
    """True for every row whose (trimmed, non-empty) record_id already appeared on an earlier line."""
    n = table.num_rows
    if not has_record_id or n == 0:
        return pa.array(np.zeros(n, dtype=bool))
    ids = pc.utf8_trim(table.column("record_id").combine_chunks().cast(pa.string()), " ")
    ids = pc.if_else(pc.equal(ids, ""), pa.scalar(None, pa.string()), ids)
    position = pc.index_in(ids, value_set=pc.unique(ids)).to_numpy(zero_copy_only=False)
    valid = ~np.isnan(position) if position.dtype.kind == "f" else np.ones(n, dtype=bool)
    codes = np.where(valid, np.nan_to_num(position, nan=-1), -1).astype(np.int64)
    order = np.argsort(table.column("_line").to_numpy(), kind="stable")
    first = np.zeros(n, dtype=bool)
    _, first_pos = np.unique(codes[order], return_index=True)
    first[order[first_pos]] = True
    return pa.array(valid & ~first)


def _stored(contract: RecordContract, column: str, present: set[str]) -> str:
    """SQL of an accepted row's stored column: ``_out`` of the parsed value; a row that does not say when it
    became known is known from the day of ingestion (the ingest time's date). The row hash is of the parsed
    values, so the same row ingested again later is unchanged and keeps its first known_on."""
    if column == KNOWN_ON:
        return f"coalesce({_q('p_' + column)}, CAST(getvariable('ingest_time') AS DATE))"
    return _out(contract, column, "p_", present)


def _out(contract: RecordContract, column: str, prefix: str, present: set[str]) -> str:
    """SQL for a stored column: person identifiers pseudonymised (DESIGN principle 1), the rest as is. A column
    the contract does not declare may name a person too: it is pseudonymised whole, unless the contract declares
    it a plain extra (``RecordContract.plain_extras``)."""
    ref = _q(prefix + column)
    if column not in contract.columns:
        return ref if column in contract.plain_extras else whole_sql(ref)
    f = contract.field(column)
    if f.person_id == "whole":
        return whole_sql(ref)
    if f.person_id == "each_name":
        return each_name_sql(ref)
    for cond in contract.conditional_person_refs:
        if cond.column == column:
            when = _q(prefix + cond.when_column) if cond.when_column in present else None
            return conditional_ref_sql(ref, when, cond.kept_for, cond.suffix_for)
    return ref


def summary_reasons(batch: ValidatedBatch, top: int = 3) -> str:
    return ", ".join(f"{rule} ({n})" for rule, n in list(batch.reasons.items())[:top])


def reasons_json(batch: ValidatedBatch) -> str:
    return json.dumps(batch.reasons, sort_keys=True)
