"""Keyed pseudonyms for person identifiers (applicants, travellers, companions, officers, inspectors,
directors), applied at ingestion so raw identifiers are never stored (DESIGN principle 1).

A pseudonym is ``ps_`` + the first 20 hex digits (80 bits) of HMAC-SHA256(key, identifier). The same
identifier gives the same pseudonym under the same key, so records still link across sources; without
the key the mapping cannot be recomputed. The key comes from configuration, never from code:

1. ``TRACERISK_PSEUDONYM_KEY`` (the key itself, at least 32 characters), else
2. ``TRACERISK_PSEUDONYM_KEY_FILE`` (a file holding it), else
3. ``$TRACERISK_HOME/secrets/pseudonym.key``, created with 64 random hex characters (mode 0600) on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.home import Home
from data_contracts.sql_text import literal_list

PREFIX = "ps_"
HEX_DIGITS = 20
MIN_KEY_LENGTH = 32


class PseudonymKeyError(ValueError):
    """The pseudonymisation key is missing or unusable (message for the operator)."""


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes
    origin: str  # where it came from, for the run log (never the key itself)


def load_key(home: Path) -> PseudonymKey:
    env = os.environ.get("TRACERISK_PSEUDONYM_KEY")
    if env is not None:
        if len(env) < MIN_KEY_LENGTH:
            raise PseudonymKeyError(f"TRACERISK_PSEUDONYM_KEY must be at least {MIN_KEY_LENGTH} characters")
        return PseudonymKey(env.encode(), "TRACERISK_PSEUDONYM_KEY")
    path_env = os.environ.get("TRACERISK_PSEUDONYM_KEY_FILE")
    path = Path(path_env) if path_env else Home(home).pseudonym_key
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if len(secret) < MIN_KEY_LENGTH:
            raise PseudonymKeyError(f"pseudonym key in {path} must be at least {MIN_KEY_LENGTH} characters")
        return PseudonymKey(secret.encode(), str(path))
    if path_env:
        raise PseudonymKeyError(f"TRACERISK_PSEUDONYM_KEY_FILE points to {path}, which does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return PseudonymKey(path.read_text(encoding="utf-8").strip().encode(), f"{path} (created)")


def pseudonym(key: PseudonymKey, identifier: str) -> str:
    """The pseudonym of one identifier (surrounding spaces ignored). Equal to what ``*_sql`` compute."""
    digest = hmac.digest(key.secret, identifier.strip(" ").encode("utf-8"), "sha256")
    return PREFIX + digest.hex()[:HEX_DIGITS]


# ---------------------------------------------------------------- the same, in DuckDB SQL (multi-threaded)
# HMAC-SHA256(k, m) = SHA256((k ^ opad) || SHA256((k ^ ipad) || m)). The padded keys are passed to DuckDB as
# session variables (set_sql_key), never written into SQL text.


def set_sql_key(con: duckdb.DuckDBPyConnection, key: PseudonymKey) -> None:
    block = key.secret if len(key.secret) <= 64 else hashlib.sha256(key.secret).digest()
    block = block.ljust(64, b"\0")
    con.execute("SET VARIABLE tracerisk_k_ipad = ?", [bytes(b ^ 0x36 for b in block)])
    con.execute("SET VARIABLE tracerisk_k_opad = ?", [bytes(b ^ 0x5C for b in block)])


def _hmac_sql(expr: str) -> str:
    inner = f"unhex(sha256(getvariable('tracerisk_k_ipad') || encode({expr})))"
    return f"('{PREFIX}' || left(sha256(getvariable('tracerisk_k_opad') || {inner}), {HEX_DIGITS}))"


def whole_sql(column: str) -> str:
    """SQL: pseudonym of the text column (NULL stays NULL)."""
    return _hmac_sql(f"trim({column})")


def each_name_sql(column: str) -> str:
    """SQL: 'A. Smith; B. Jones' -> 'ps_...; ps_...' (names lower-cased, spaces collapsed)."""
    name = "regexp_replace(lower(trim(n)), '\\s+', ' ', 'g')"
    return (
        f"array_to_string(list_transform(list_filter(string_split({column}, ';'), lambda n: trim(n) <> ''), "
        f"lambda n: {_hmac_sql(name)}), '; ')"
    )


def _in_sql(expr: str, values: tuple[str, ...]) -> str:
    """SQL: ``trim(expr)`` is one of ``values`` (false, not NULL, when there are none; NULL when expr is NULL,
    which a CASE branch takes as false)."""
    if not values:
        return "false"
    return f"trim({expr}) IN ({literal_list(values)})"


def is_pseudonym_sql(expr: str) -> str:
    """SQL: ``expr`` (trimmed) is a pseudonym as ``pseudonym`` makes them."""
    return f"regexp_full_match(trim({expr}), '{PREFIX}[0-9a-f]{{{HEX_DIGITS}}}')"


def conditional_ref_sql(
    column: str, when_column: str | None, kept_for: tuple[str, ...], suffix_for: tuple[str, ...] = ()
) -> str:
    """SQL for a column that names a person unless the row is about an organisation. Fails closed:

    - ``when_column`` (trimmed) in ``kept_for`` (organisations): the value as it is;
    - in ``suffix_for`` (official desks): 'POST:OFFICER' -> 'POST:ps_...', 'OFFICER' -> 'ps_...';
    - any other row (another value, a misspelt or NULL one, or ``when_column`` None: the file has no such
      column): the pseudonym of the whole value.

    A value whose officer part (desks) or whole value (other rows) is already a pseudonym (an outcome recorded
    through the service about a scored desk) is kept as it is, trimmed, so it joins the entity it names instead of
    being hashed twice."""
    when = when_column if when_column is not None else "CAST(NULL AS VARCHAR)"
    head = f"left({column}, length({column}) - length(split_part({column}, ':', -1)))"
    tail = f"split_part({column}, ':', -1)"
    return (
        f"CASE WHEN {_in_sql(when, kept_for)} THEN {column} "
        f"WHEN {_in_sql(when, suffix_for)} AND {is_pseudonym_sql(tail)} THEN trim({column}) "
        f"WHEN {_in_sql(when, suffix_for)} THEN "
        f"(CASE WHEN contains({column}, ':') THEN {head} || {_hmac_sql(tail)} ELSE {whole_sql(column)} END) "
        f"WHEN {is_pseudonym_sql(column)} THEN trim({column}) "
        f"ELSE {whole_sql(column)} END"
    )


def _map_unique(values: pa.Array, fn: object) -> pa.Array:
    """Apply ``fn`` (str -> str) once per distinct non-null value and broadcast back; nulls stay null."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.string())
    distinct = pc.unique(values.drop_null())
    mapped = pa.array([fn(v) for v in distinct.to_pylist()], type=pa.string())  # type: ignore[operator]
    position = pc.index_in(values, value_set=distinct)
    return mapped.take(position)


def pseudonymise_whole(values: pa.Array, key: PseudonymKey) -> pa.Array:
    return _map_unique(values, lambda v: pseudonym(key, v))


def _normalise_name(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip(" ").lower())


def pseudonymise_each_name(values: pa.Array, key: PseudonymKey) -> pa.Array:
    """'A. Smith; B. Jones' -> 'ps_...; ps_...' (each name case- and space-normalised first)."""

    def each(v: str) -> str:
        names = [_normalise_name(n) for n in v.split(";") if n.strip()]
        return "; ".join(pseudonym(key, n) for n in names)

    return _map_unique(values, each)


def looks_pseudonymised(values: pa.Array) -> bool:
    """True when every non-null value is a pseudonym (for tests and audits)."""
    arr = values.drop_null().cast(pa.string()).to_numpy(zero_copy_only=False)
    return bool(np.all([str(v).startswith(PREFIX) for v in arr]))
