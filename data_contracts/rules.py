"""Row-level rules generated from the contracts, compiled to DuckDB SQL.

Every rule has a stable id: ``<column>:<check>``. A row breaking any rule goes to quarantine with the ids
of all the rules it broke; no row is ever dropped. The same declarations generate the Great Expectations
suites (data_contracts.gx_suites), so the two always check the same things.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from data_contracts.contracts import EARLIEST_DATE, Field, RecordContract, compared_by_day
from data_contracts.sql_text import identifier as _q
from data_contracts.sql_text import literal_list

# SQL type each contract type is parsed as (TRY_CAST of the trimmed text).
SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}
# C0 and C1 control characters and DEL (RE2 syntax): a string field may hold tab and line breaks, nothing else of
# these; spreadsheets refuse them and terminals act on them.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
# What an export writes where a code is unknown: nothing but punctuation, or a stand-in word ("n/a", "UNKNOWN",
# "tbd", "Other!!", "-", "??"), case-insensitive. Anchored, so a search (Great Expectations) and a match agree.
PLACEHOLDER = r"(?i)^[^a-z0-9]*(unknown|unk|n\W?a|tbd|tba|none|null|nil|other)?[^a-z0-9]*$"
FILE_RULES = {
    "malformed_line:wrong_field_count": "The line has more or fewer fields than the header (e.g. a truncated line).",
    "record_id:duplicate_in_batch": "Another row of the same file has the same record_id (the first one is kept).",
}


@dataclass(frozen=True)
class Rule:
    id: str
    column: str
    description: str
    sql: str  # boolean SQL expression over the raw (text) columns and parsed columns "p_<name>": TRUE = broken


def _raw(f: Field) -> str:
    """The trimmed text of the field (NULL when empty), computed once per row as column t_<name>."""
    return _q("t_" + f.name)


def _trimmed(f: Field) -> str:
    return f"nullif(trim({_q(f.name)}), '')"


def parsed(f: Field) -> str:
    """SQL expression: the field parsed to its contract type (NULL when empty or unparseable)."""
    raw = _raw(f)
    if f.type == "string":
        return raw
    if f.type == "boolean":
        return f"TRY_CAST(lower({raw}) AS BOOLEAN)"
    if f.type == "datetime":
        # ISO-8601 with 'T' or space, optional fractional seconds and zone.
        return f"TRY_CAST(replace({raw}, 'T', ' ') AS TIMESTAMP)"
    return f"TRY_CAST({raw} AS {SQL_TYPES[f.type]})"


def field_rules(
    contract: RecordContract, present: set[str] | None = None, unsupplied: Collection[str] = ()
) -> list[Rule]:
    """The rules of ``contract``; for a file whose columns are ``present``, missing columns become rules.

    unsupplied: fields the source declares it does not supply (e.g. no visa desk in a sponsor's filing): a
    missing required one is not a rule (``skipped_rules`` names what is skipped instead).
    """
    rules: list[Rule] = []
    for f in contract.fields:
        col = f.name
        if present is not None and col not in present:
            if f.required and col not in unsupplied:
                rules.append(
                    Rule(f"{col}:missing_column", col, f"The file has no column {col}, which is required.", "TRUE")
                )
            continue
        rules.extend(_value_rules(f))
    return rules + _date_order_rules(contract, present)


def _value_rules(f: Field) -> list[Rule]:
    """The rules on one present field's value, in a fixed order."""
    col, p = f.name, f"p_{f.name}"
    raw = _raw(f)
    rules: list[Rule] = []
    if f.required:
        rules.append(Rule(f"{col}:missing", col, f"{col} is required.", f"{raw} IS NULL"))
    if f.type != "string":
        rules.append(
            Rule(f"{col}:type", col, f"{col} must parse as {f.type}.", f"{raw} IS NOT NULL AND {_q(p)} IS NULL")
        )
    if f.type == "string" and f.values is None:  # a listed value cannot hold one (``not_allowed``)
        rules.append(
            Rule(
                f"{col}:control_character",
                col,
                f"{col} must not contain control characters (tab and line breaks are allowed).",
                f"regexp_matches({_q(col)}, '{CONTROL_CHARACTERS}')",
            )
        )
    if f.code:
        rules.append(
            Rule(
                f"{col}:placeholder",
                col,
                f"{col} must be a code, not a placeholder such as n/a, unknown, tbd, other or '-'.",
                f"regexp_matches({raw}, '{PLACEHOLDER}')",
            )
        )
    if f.values is not None:
        allowed = literal_list(f.values)
        rules.append(
            Rule(
                f"{col}:not_allowed",
                col,
                f"{col} must be one of: {', '.join(f.values)}.",
                f"{raw} IS NOT NULL AND {raw} NOT IN ({allowed})",
            )
        )
    if f.min is not None:
        rules.append(Rule(f"{col}:below_min", col, f"{col} must be at least {f.min:g}.", f"{_q(p)} < {f.min!r}"))
    if f.max is not None:
        rules.append(Rule(f"{col}:above_max", col, f"{col} must be at most {f.max:g}.", f"{_q(p)} > {f.max!r}"))
    if f.max_length is not None:
        rules.append(
            Rule(
                f"{col}:too_long",
                col,
                f"{col} must be at most {f.max_length} characters.",
                f"length({_q(col)}) > {f.max_length}",
            )
        )
    if f.type in ("date", "datetime"):
        rules.append(
            Rule(
                f"{col}:too_early",
                col,
                f"{col} must not be before {EARLIEST_DATE.isoformat()}.",
                f"CAST({_q(p)} AS DATE) < DATE '{EARLIEST_DATE.isoformat()}'",
            )
        )
    if f.not_in_future:
        now = "CAST(getvariable('ingest_time') AS TIMESTAMP)"
        rules.append(
            Rule(
                f"{col}:in_future",
                col,
                f"{col} must not be after the time of ingestion.",
                f"CAST({_q(p)} AS TIMESTAMP) > {now}",
            )
        )
    return rules


def _date_order_rules(contract: RecordContract, present: set[str] | None) -> list[Rule]:
    """One rule per declared date order whose two columns are both present (all of them when ``present`` is
    None)."""
    rules: list[Rule] = []
    for order in contract.date_orders:
        if present is None or {order.earlier, order.later} <= present:
            later, earlier = _q("p_" + order.later), _q("p_" + order.earlier)
            by_day = compared_by_day(contract, order)
            if by_day:
                later, earlier = f"CAST({later} AS DATE)", f"CAST({earlier} AS DATE)"
            rules.append(
                Rule(
                    f"{order.later}:before_{order.earlier}",
                    order.later,
                    f"{order.later} must not be before {order.earlier}{' (compared by day)' if by_day else ''}.",
                    f"{later} < {earlier}",
                )
            )
    return rules


def skipped_rules(contract: RecordContract, unsupplied: Collection[str]) -> dict[str, str]:
    """Rule id -> why it is not checked, for every rule of ``contract`` that needs a field in ``unsupplied``."""
    missing = set(unsupplied)
    unknown = missing - set(contract.columns)
    if unknown:
        raise ValueError(f"{contract.name} has no fields {sorted(unknown)} (declared as not supplied)")
    out: dict[str, str] = {}
    for f in contract.fields:
        if f.name in missing and f.required:
            out[f"{f.name}:missing_column"] = f"the source does not supply {f.name}"
    for r in field_rules(contract):
        if r.column in missing:
            out[r.id] = f"the source does not supply {r.column}"
    for order in contract.date_orders:
        lacking = [c for c in (order.earlier, order.later) if c in missing]
        if lacking:
            out[f"{order.later}:before_{order.earlier}"] = f"the source does not supply {', '.join(lacking)}"
    for ref in contract.references:
        if ref.column in missing:
            out[reference_rule_id(contract, ref.column)] = f"the source does not supply {ref.column}"
    return dict(sorted(out.items()))


def reference_rule_id(contract: RecordContract, column: str) -> str:
    ref = next(r for r in contract.references if r.column == column)
    return f"{column}:unknown_{ref.record_type}"


def declared_rules(contract: RecordContract) -> list[tuple[str, str]]:
    """(rule id, description) for the docs: every rule a row of this contract can break."""
    out = [(r.id, r.description) for r in field_rules(contract)]
    out += [(f"{f}:missing_column", f"The file has no column {f}, which is required.") for f in contract.required]
    out += [
        (reference_rule_id(contract, r.column), f"{r.column} must name an accepted {r.record_type} ({r.target}).")
        for r in contract.references
    ]
    out += list(FILE_RULES.items())
    return sorted(set(out))


def validation_sql(
    contract: RecordContract,
    present: set[str],
    table: str,
    extra: list[tuple[str, str]] | None = None,
    unsupplied: Collection[str] = (),
) -> str:
    """SELECT over ``table`` (raw text columns + _line) adding parsed columns p_* and the list _reasons.

    extra: more (rule id, SQL condition over the p_* columns) pairs, e.g. duplicates and references.
    The reasons list is only built for rows that break something (a plain OR decides that first).
    """
    trimmed_cols = [f"{_trimmed(f)} AS {_q('t_' + f.name)}" for f in contract.fields if f.name in present]
    trimmed = f"(SELECT *, {', '.join(trimmed_cols)} FROM {table})" if trimmed_cols else table
    parsed_cols = [
        f"{parsed(f)} AS {_q('p_' + f.name)}"
        if f.name in present
        else f"CAST(NULL AS {SQL_TYPES[f.type]}) AS {_q('p_' + f.name)}"
        for f in contract.fields
    ]
    checks = [(r.id, r.sql) for r in field_rules(contract, present, unsupplied)] + list(extra or [])
    if not checks:
        return f"SELECT *, {', '.join(parsed_cols)}, CAST([] AS VARCHAR[]) AS _reasons FROM {trimmed}"
    broken = " OR ".join(f"coalesce({sql}, false)" for _, sql in checks)
    reasons = ", ".join(f"CASE WHEN {sql} THEN '{rule}' END" for rule, sql in checks)
    return (
        f"WITH parsed AS (SELECT *, {', '.join(parsed_cols)} FROM {trimmed}), "
        f"flagged AS (SELECT *, ({broken}) AS _broken FROM parsed) "
        f"SELECT * EXCLUDE (_broken), CASE WHEN _broken THEN list_filter([{reasons}], lambda x: x IS NOT NULL) "
        "ELSE CAST([] AS VARCHAR[]) END AS _reasons FROM flagged"
    )
