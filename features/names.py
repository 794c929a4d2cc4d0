"""Comparison keys for organisation and recruiter names: the variants records carry (script, case, diacritics,
punctuation, legal form) reduce to one key. Shared by the feature views and entity resolution.

A key is built with OpenSanctions' ``rigour``: the name is transliterated to ASCII in any script
(``rigour.text.translit.ascii_text``: Latin, Cyrillic, Greek, Arabic, Han, Devanagari, Thai, ...), case-folded
and tokenised (``Normalize.NAME``: punctuation splits words, full stops inside abbreviations vanish, so
'W.L.L.' and 'WLL' agree), then the legal forms at either end are dropped: a run of words is a legal form when
rigour's organisation-type table (ISO 20275 and OCCRP's list: GmbH, SARL, Sdn Bhd, OOO, PT, Pte Ltd, ...)
or ``EXTRA_LEGAL_FORMS`` accounts for every word of it. Legal forms inside a name stay, and a name that is
nothing but legal forms keeps its first word, so no name loses every word.

A name with no letter or digit in any script has no key: ``name_key`` gives '' and the SQL function NULL, so
such names are never merged with each other nor become an entity of their own.
"""

from __future__ import annotations

from functools import lru_cache

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import FunctionNullHandling, PythonUDFType
from rigour.names.org_types import remove_org_types
from rigour.text.normalize import Normalize, normalize
from rigour.text.translit import ascii_text

# Legal-form words that rigour's table does not list (English 'Co' / 'Company' / 'Corp', Indian 'Pvt' /
# 'Private', Gulf 'W.L.L.'), as they read after tokenising.
EXTRA_LEGAL_FORMS = frozenset({"co", "company", "corp", "corporation", "pvt", "private", "wll"})

# Case-folded, tokenised, words joined by single spaces; the same flags build rigour's legal-form table.
_FLAGS = Normalize.CASEFOLD | Normalize.NAME

SQL_FUNCTION = "tracerisk_name_key"


def _is_legal_form(words: list[str]) -> bool:
    rest = remove_org_types(" ".join(words), replacement=" ", normalize_flags=_FLAGS).split()
    return all(w in EXTRA_LEGAL_FORMS for w in rest)


def _strip_legal_forms(words: list[str]) -> list[str]:
    """``words`` without the longest run of legal-form words at the end, then at the start; one word stays."""
    for start in range(1, len(words)):
        if _is_legal_form(words[start:]):
            words = words[:start]
            break
    for end in range(len(words) - 1, 0, -1):
        if _is_legal_form(words[:end]):
            return words[end:]
    return words


@lru_cache(maxsize=1 << 18)
def name_key(name: str) -> str:
    """The comparison key of ``name`` (see the module docstring): lower-case ASCII words, or for the rare script
    that transliterates to nothing, its case-folded words; '' when the name has no letter or digit."""
    words = (normalize(ascii_text(name), _FLAGS) or "").split()
    if not words:
        return normalize(name, _FLAGS) or ""
    return " ".join(_strip_legal_forms(words))


def _name_keys(names: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Vectorised ``name_key`` for DuckDB: one Python call per distinct name of the batch; NULL for no key."""
    distinct = pc.unique(names)
    keys = pa.array([(name_key(n) or None) if n is not None else None for n in distinct.to_pylist()], pa.string())
    return keys.take(pc.index_in(names, value_set=distinct))


def register_name_key(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``name_key_sql`` usable on ``con`` (idempotent): registers ``name_key`` as a SQL function."""
    (registered,) = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = $name", {"name": SQL_FUNCTION}
    ).fetchall()[0]
    if not registered:
        con.create_function(
            SQL_FUNCTION,
            _name_keys,
            ["varchar"],
            "varchar",
            type=PythonUDFType.ARROW,
            null_handling=FunctionNullHandling.SPECIAL,
            side_effects=False,
        )


def name_key_sql(column: str) -> str:
    """SQL: ``name_key`` of ``column``, NULL where the name has no key (needs ``register_name_key`` on the
    connection). Runs in Python once per distinct name of each batch: key the distinct names of a large table
    first and join on them."""
    return f"{SQL_FUNCTION}({column})"
