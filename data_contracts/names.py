"""Comparison keys for organisation and recruiter names: the variants records carry (script, case, diacritics,
punctuation, legal form) reduce to one key. Shared by the feature views and entity resolution.

A key is built with OpenSanctions' ``rigour``: the name is transliterated to ASCII in any script
(``rigour.text.translit.ascii_text``: Latin, Cyrillic, Greek, Arabic, Han, Devanagari, Thai, ...), case-folded,
the full stops of dotted initials are dropped ('W.L.L.' reads 'WLL', 'S.A.' 'SA'), other punctuation and
symbols become spaces, legal forms are dropped wherever they stand (those of rigour's organisation-type table,
ISO 20275 and OCCRP's list: GmbH, SARL, Sdn Bhd, OOO, PT, Pte Ltd, ...; and ``EXTRA_LEGAL_FORMS``; a name that
is nothing but legal forms keeps them), and the single letters left in a row are joined ('A C' as 'A.C.').
Legal forms that rigour's table lists only in Latin or Cyrillic letters are dropped in their own script before
transliteration (``NATIVE_LEGAL_FORMS``: Arabic W.L.L. and 'company', Thai, Hindi, Bengali and Chinese limited
company), since their transliterations read as words ('dh mm', 'bris ath', 'pra iveta limiteda').

A name with no letter or digit in any script has no key: ``name_key`` gives '' and the SQL function NULL, so
such names are never merged with each other nor become an entity of their own.
"""

from __future__ import annotations

import re
from functools import lru_cache

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import FunctionNullHandling, PythonUDFType
from rigour.names.org_types import remove_org_types
from rigour.text.normalize import Cleanup, Normalize, normalize
from rigour.text.translit import ascii_text

# Legal-form words that rigour's table does not list (English 'Co' / 'Company' / 'Corp', Indian 'Pvt' /
# 'Private', Gulf 'W.L.L.'), as they read after tokenising.
EXTRA_LEGAL_FORMS = frozenset({"co", "company", "corp", "corporation", "pvt", "private", "wll"})
# Legal forms in scripts without word spaces (Thai, Han) or whose transliteration rigour's table does not know:
# Arabic ('W.L.L.', 'LLC', 'company'), Thai ('company', 'limited', 'public'), Hindi and Bengali ('private
# limited', 'limited'), Chinese ('company limited by shares', 'limited liability company', 'limited company').
NATIVE_LEGAL_FORMS = (
    "ذ.م.م",
    "ذ. م. م",
    "ذ م م",
    "ش.م.م",
    "ش.م.ع",
    "شركة",
    "บริษัท",
    "จำกัด",
    "(มหาชน)",
    "प्राइवेट लिमिटेड",
    "प्रा. लि.",
    "लिमिटेड",
    "প্রাইভেট লিমিটেড",
    "লিমিটেড",
    "股份有限公司",
    "有限责任公司",
    "有限公司",
)
# Longest first; Thai and Han forms stand anywhere (no spaces between words), the others between word bounds.
_NATIVE_LEGAL_FORM = re.compile(
    "|".join(
        re.escape(f) if re.match(r"[\u0E00-\u0E7F\u4E00-\u9FFF(]", f) else rf"(?<!\w){re.escape(f)}(?!\w)"
        for f in sorted(NATIVE_LEGAL_FORMS, key=len, reverse=True)
    )
)

# Case-folded, punctuation and symbols turned into spaces, words joined by single spaces.
_FLAGS = Normalize.CASEFOLD | Normalize.SQUASH_SPACES
_CLEANUP = Cleanup.Strong
# rigour's legal-form table compared case-folded only: its undotted aliases ('sa', 'llc', 'sdn bhd') match,
# and spaced letters ('a s' from 'A & S') are not taken for a dotted alias ('a/s').
_TABLE_FLAGS = Normalize.CASEFOLD

SQL_FUNCTION = "tracerisk_name_key"


# A letter and a full stop before another single letter: the initials of a dotted abbreviation ('W.L.L.',
# 'A. C.'), whose full stops are dropped so that they read as one word ('wll', 'ac').
_DOTTED_INITIAL = re.compile(r"\b([a-z])\.\s*(?=[a-z]\b)", re.IGNORECASE)


def _drop_legal_forms(words: list[str]) -> list[str]:
    """``words`` without the legal forms that rigour's table finds and ``EXTRA_LEGAL_FORMS``; all of them when
    nothing else is left."""
    rest = remove_org_types(" ".join(words), replacement=" ", normalize_flags=_TABLE_FLAGS).split()
    return [w for w in rest if w not in EXTRA_LEGAL_FORMS] or words


def _join_initials(words: list[str]) -> list[str]:
    """Runs of single letters joined into one word: 'A C Bentley' reads as 'A.C. Bentley' ('ac bentley')."""
    out: list[str] = []
    in_run = False  # whether out[-1] is a run of single letters
    for w in words:
        letter = len(w) == 1 and w.isalpha()
        if letter and in_run:
            out[-1] += w
        else:
            out.append(w)
        in_run = letter
    return out


# Distinct words of the names in other scripts: transliteration costs far more than a cache lookup, and words
# repeat across names far more than whole names do.
@lru_cache(maxsize=1 << 18)
def _ascii_word(word: str) -> str:
    return ascii_text(word)


def ascii_by_word(text: str) -> str:
    """``ascii_text`` of ``text``, word by word (split at spaces) where it is not ASCII already. The same as the
    whole text's as long as no transliteration rule reads across a space (tests check it in every script the
    records carry)."""
    if text.isascii():
        return ascii_text(text)
    return " ".join(_ascii_word(word) for word in text.split(" "))


# Large enough for every distinct name of a large world's feature build: several statements key the same names
# in turn (the views' name maps, entity resolution), and a cache that evicts them keys each one again.
@lru_cache(maxsize=1 << 21)
def name_key(name: str) -> str:
    """The comparison key of ``name`` (see the module docstring): lower-case ASCII words, or for the rare script
    that transliterates to nothing, its case-folded words; '' when the name has no letter or digit."""
    bare = name
    # The pattern only matches the literal forms, none of them ASCII: an ASCII name (most names) and a name
    # containing none skip the regex, which costs most of a key's time when run on every name.
    if not name.isascii() and any(form in name for form in NATIVE_LEGAL_FORMS):
        bare = _NATIVE_LEGAL_FORM.sub(" ", name)
        if not normalize(bare, _FLAGS, _CLEANUP):  # nothing but legal forms: keep them
            bare = name
    latin = ascii_by_word(bare)
    if "." in latin:  # a dotted initial needs a full stop; most names have none
        latin = _DOTTED_INITIAL.sub(r"\1", latin)
    words = (normalize(latin, _FLAGS, _CLEANUP) or "").split()
    if not words:
        return normalize(name, _FLAGS, _CLEANUP) or ""
    return " ".join(_join_initials(_drop_legal_forms(words)))


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


# A trade name after the legal name: 'ACME FARMS LLC DBA SUNNY ACRES', 'X d/b/a Y', 'X a/k/a Y'.
TRADE_NAME_MARKER = r"\s+(?:d\s*/?\s*b\s*/?\s*a|doing business as|a/k/a|aka)\.?\s+"
_TRADE_NAME = re.compile(TRADE_NAME_MARKER, re.IGNORECASE)
# Entity id of an employer known only by the name it files or is sanctioned under (no register number): the
# prefix and the name key of its legal name, the same for every fiscal year and spelling with that key.
SPONSOR_ID_PREFIX = "sponsor:"
# Entity id of an agent, attorney or law firm filing petitions for sponsors: the prefix and the name key of the
# law firm, else of the agent.
AGENT_ID_PREFIX = "agent:"
# Entity id of a recruiting organisation abroad that sponsors name on their petitions (petition_recruiter): the
# prefix and the name key of the organisation's name. A role of its own, as an agent is not merged with a register
# entry of the same name: an organisation that also files petitions as an agent keeps both ids, and the indicator
# of its clients (L16) links the two by the name key.
FOREIGN_RECRUITER_ID_PREFIX = "abroad:"


def legal_name(name: str) -> str:
    """``name`` without the trade names that follow a 'DBA' / 'doing business as' / 'AKA' marker."""
    return _TRADE_NAME.split(name, maxsplit=1)[0]


def sponsor_id(name: str) -> str | None:
    """The entity id of an employer known by ``name`` alone (``SPONSOR_ID_PREFIX`` + the key of its legal name);
    None when the legal name has no key."""
    key = name_key(legal_name(name))
    return SPONSOR_ID_PREFIX + key if key else None


def legal_name_sql(column: str) -> str:
    """SQL: ``legal_name`` of ``column`` (the same marker, case-insensitive)."""
    return f"regexp_replace({column}, '{TRADE_NAME_MARKER}.*$', '', 'is')"
