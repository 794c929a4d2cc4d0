"""Validate one batch (one file) against its contract: accepted rows typed and pseudonymised, every other
row quarantined with the ids of the rules it broke, and ``read = accepted + quarantined``.

Pure functions over Arrow tables and an in-memory DuckDB connection; no Prefect, no lake writes.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.contracts import CONTRACTS, RecordContract
from data_contracts.pseudonymise import PseudonymKey, each_name_sql, ref_suffix_sql, set_sql_key, whole_sql
from data_contracts.reader import RawBatch
from data_contracts.rules import reference_rule_id, validation_sql

# A file is taken for another record type when fewer than this share of the contract's required columns
# are present and another contract's required columns are a better match.
WRONG_TYPE_REQUIRED_SHARE = 0.5


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

    @property
    def reasons(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for reasons in self.quarantined.column("_reasons").to_pylist():
            counts.update(reasons or [])
        return dict(counts.most_common())


def check_record_type(record_type: str, columns: set[str]) -> None:
    """Raise WrongRecordType when the columns clearly belong to another record type."""
    contract = CONTRACTS[record_type]
    share = len(set(contract.required) & columns) / len(contract.required)
    if share >= WRONG_TYPE_REQUIRED_SHARE:
        return
    scores = {name: len(set(c.required) & columns) / len(c.required) for name, c in CONTRACTS.items()}
    best = max(scores, key=lambda n: scores[n])
    hint = f"; its columns match {best}" if best != record_type and scores[best] >= WRONG_TYPE_REQUIRED_SHARE else ""
    missing = sorted(set(contract.required) - columns)
    raise WrongRecordType(
        f"not a {record_type} file: {len(missing)} of {len(contract.required)} required "
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
) -> ValidatedBatch:
    """Validate ``raw`` as ``record_type``.

    rename: source column -> contract column (the source's declared mapping).
    known: for each reference rule of the contract, the accepted target values (e.g. organisation
    registration numbers in the lake plus those accepted earlier in this run).
    """
    contract = CONTRACTS[record_type]
    table = raw.table.rename_columns([rename.get(c, c) for c in raw.table.column_names])
    data_columns = [c for c in table.column_names if c != "_line"]
    if len(set(data_columns)) != len(data_columns):
        raise WrongRecordType(f"two columns map onto the same contract column after renaming: {data_columns}")
    present = set(data_columns) & set(contract.columns)
    check_record_type(record_type, set(data_columns))
    unknown = [c for c in data_columns if c not in contract.columns]

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute(f"SET VARIABLE ingest_time = TIMESTAMP '{ingest_time.strftime('%Y-%m-%d %H:%M:%S')}'")
    set_sql_key(con, key)
    con.register("raw_rows", table)
    extra_reasons: list[str] = []
    if "record_id" in present:
        extra_reasons.append(
            "CASE WHEN p_record_id IS NOT NULL AND row_number() OVER "
            "(PARTITION BY p_record_id ORDER BY _line) > 1 THEN 'record_id:duplicate_in_batch' END"
        )
    for ref in contract.references:
        if ref.column not in present:
            continue
        values = (known or {}).get(reference_rule_id(contract, ref.column), pa.array([], type=pa.string()))
        con.register(f"known_{ref.column}", pa.table({"v": values.cast(pa.string())}))
        rule = reference_rule_id(contract, ref.column)
        extra_reasons.append(
            f"CASE WHEN p_{ref.column} IS NOT NULL AND p_{ref.column} NOT IN "
            f"(SELECT v FROM known_{ref.column}) THEN '{rule}' END"
        )
    if extra_reasons:
        all_reasons = f"list_concat(_reasons, list_filter([{', '.join(extra_reasons)}], lambda x: x IS NOT NULL))"
    else:
        all_reasons = "_reasons"
    con.execute(
        f"CREATE TEMP TABLE rows AS SELECT * REPLACE ({all_reasons} AS _reasons) "
        f"FROM ({validation_sql(contract, present, 'raw_rows')}) AS checked"
    )

    typed = ", ".join(f"{_out(contract, f.name, 'p_', present)} AS {_q(f.name)}" for f in contract.fields)
    extras = (
        f"to_json(struct_pack({', '.join(f'{_q(c)} := {_q(c)}' for c in unknown)}))"
        if unknown
        else "CAST(NULL AS VARCHAR)"
    )
    hash_cols = ", ".join(f'"p_{f.name}"' for f in contract.fields)
    accepted = con.sql(
        f"SELECT {typed}, {extras} AS extra_fields, _line, hash(struct_pack({hash_cols})) AS _row_hash "
        "FROM rows WHERE len(_reasons) = 0 ORDER BY _line"
    ).to_arrow_table()
    raw_cols = ", ".join(f"{_out(contract, c, '', present)} AS {_q(c)}" for c in data_columns)
    quarantined = con.sql(
        f"SELECT {raw_cols}{',' if raw_cols else ''} _reasons, _line, "
        "CAST(NULL AS VARCHAR) AS _raw_line FROM rows WHERE len(_reasons) > 0 ORDER BY _line"
    ).to_arrow_table()
    gx_sample = None
    if gx_sample_rows > 0:
        sample_cols = ", ".join(
            f"{_out(contract, f.name, 'p_', present)} AS {_q(f.name)}" for f in contract.fields if f.name in present
        )
        gx_sample = con.sql(
            f"SELECT {sample_cols or '1 AS empty'} FROM rows "
            f"USING SAMPLE reservoir({int(gx_sample_rows)} ROWS) REPEATABLE (42)"
        ).to_arrow_table()
    con.close()
    if raw.rejected:
        rejected = pa.table(
            {
                **{c: pa.nulls(len(raw.rejected), pa.string()) for c in data_columns},
                "_reasons": pa.array([[r.reason] for r in raw.rejected], type=pa.list_(pa.string())),
                "_line": pa.array([r.line for r in raw.rejected], type=pa.int64()),
                "_raw_line": pa.array([r.text for r in raw.rejected], type=pa.string()),
            }
        )
        quarantined = pa.concat_tables([quarantined.cast(rejected.schema), rejected]).sort_by("_line")
    # Raw text of a rejected line may hold person identifiers: keep its shape, not its content.
    if raw.rejected and any(f.person_id for f in contract.fields):
        quarantined = quarantined.set_column(
            quarantined.schema.get_field_index("_raw_line"),
            "_raw_line",
            pc.if_else(
                pc.is_null(quarantined.column("_raw_line")),
                pa.scalar(None, pa.string()),
                pa.scalar("[withheld: may contain person identifiers]", pa.string()),
            ),
        )
    notes = list(raw.notes)
    if unknown:
        notes.append(f"unknown columns kept in extra_fields: {', '.join(unknown)}")
    return ValidatedBatch(
        record_type, table.num_rows + len(raw.rejected), accepted, quarantined, unknown, notes, gx_sample
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _out(contract: RecordContract, column: str, prefix: str, present: set[str]) -> str:
    """SQL for a stored column: person identifiers pseudonymised (DESIGN principle 1), the rest as is."""
    ref = _q(prefix + column)
    if column not in contract.columns:
        return ref
    f = contract.field(column)
    if f.person_id == "whole":
        return whole_sql(ref)
    if f.person_id == "each_name":
        return each_name_sql(ref)
    for cond in contract.conditional_person_refs:
        if cond.column == column and cond.when_column in present:
            return ref_suffix_sql(ref, _q(prefix + cond.when_column), cond.when_values)
    return ref


def summary_reasons(batch: ValidatedBatch, top: int = 3) -> str:
    return ", ".join(f"{rule} ({n})" for rule, n in list(batch.reasons.items())[:top])


def reasons_json(batch: ValidatedBatch) -> str:
    return json.dumps(batch.reasons, sort_keys=True)
