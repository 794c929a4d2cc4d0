"""Organisation names as the offices of a non-Latin-script country write them: the Latin name spelt out word by
word in that script, as a clerk writes a foreign name by ear, with the script's own legal form.

Every organisation's name is Latin on its register. A record kept by an office of a country that writes another
script may carry the name in that script (``realism.name_script_share``): employers' names in the script of
their destination country, recruiters' in the script of their origin country. Only scripts that can be written
from Latin (ICU's transliterators, or the Arabic spelling below) and read back to Latin (the ingest's name keys)
are written; countries whose script is neither (Burmese, Khmer, Ethiopic) keep Latin here.

Spelling: English spelling is first made phonetic ('ph' as 'f', 'c' as 'k' or 's', 'x' as 'ks', ...), then written
in the script. Arabic drops the short vowel 'e' and writes the others long (as Arabic does for foreign words),
numbers in Arabic-Indic digits; Thai, Devanagari and Bengali write numbers in their digits as well.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LATIN = "Latin"
SCRIPTS = (LATIN, "Arabic", "Cyrillic", "Thai", "Devanagari", "Bengali")

# Destination countries (simulator.geography.DESTINATION_COUNTRIES) by the script their offices write: the
# corridors' destinations in the Gulf (Arabic), Russia and Kazakhstan (Cyrillic), Thailand (Thai) and the
# Latin-script ones (Malaysia, Europe, the Americas).
DESTINATION_SCRIPT = {
    "Aldoria": "Arabic",
    "Beltrana": LATIN,
    "Corvia": "Cyrillic",
    "Dunmere": LATIN,
    "Estovia": "Thai",
    "Farland": LATIN,
    "Galmont": "Arabic",
    "Hestia": LATIN,
    "Iverra": "Cyrillic",
    "Jorvik": LATIN,
    "Kestrel": "Thai",
    "Lunaria": LATIN,
}
# Origin countries (simulator.geography.ORIGIN_COUNTRIES) whose offices write a non-Latin script that can be
# written and read back; the others keep Latin.
ORIGIN_SCRIPT = {"Nepal": "Devanagari", "India": "Devanagari", "Bangladesh": "Bengali", "Ukraine": "Cyrillic"}

# (prefix, suffix) legal form of a limited company in each script: Gulf W.L.L. / LLC, Russian OOO, Thai
# 'Borisat ... Chamkat', Indian and Bangladeshi 'Private Limited'.
LEGAL_FORM = {
    "Arabic": ("", " ذ.م.م"),
    "Cyrillic": ("ООО ", ""),
    "Thai": ("บริษัท ", " จำกัด"),
    "Devanagari": ("", " प्राइवेट लिमिटेड"),
    "Bengali": ("", " প্রাইভেট লিমিটেড"),
}
_ICU = {
    "Cyrillic": "Latin-Cyrillic",
    "Thai": "Latin-Thai",
    "Devanagari": "Latin-Devanagari",
    "Bengali": "Latin-Bengali",
}

# English spelling made phonetic, in order.
_RESPELL = (
    (re.compile("ph"), "f"),
    (re.compile("ck"), "k"),
    (re.compile("qu"), "kw"),
    (re.compile("x"), "ks"),
    (re.compile("ee"), "i"),
    (re.compile("oo"), "u"),
    (re.compile("c(?=[eiy])"), "s"),
    (re.compile("c"), "k"),
    (re.compile("(?<=.)y(?![aeiou])"), "i"),
)
_ARABIC_PAIRS = {"sh": "ش", "kh": "خ", "th": "ث", "gh": "غ", "ch": "تش"}
_ARABIC_LETTERS = dict(
    zip("bdfghjklmnpqrstvwyz", "بدفغهجكلمنبكرستفويز", strict=True),
    a="ا",
    i="ي",
    o="و",
    u="و",
    e="",
)
_ARABIC_INITIAL = {"a": "ا", "e": "ا", "i": "اي", "o": "او", "u": "او"}
# Thai vowel signs written after or above a consonant (Sara A, Sara Aa, Sara Am, the vowels above and below).
_THAI_DEPENDENT_VOWEL = re.compile("[\u0e30-\u0e3a\u0e47-\u0e4e]")
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def respell(word: str) -> str:
    """``word`` (lower case) in phonetic Latin spelling."""
    for pattern, replacement in _RESPELL:
        word = pattern.sub(replacement, word)
    return word


def _arabic(word: str) -> str:
    if word.isdigit():
        return word.translate(_ARABIC_DIGITS)
    out = [_ARABIC_INITIAL.get(word[0], "")]
    i = 1 if out[0] else 0
    while i < len(word):
        pair = _ARABIC_PAIRS.get(word[i : i + 2])
        if pair:
            out.append(pair)
            i += 2
            continue
        out.append(_ARABIC_LETTERS.get(word[i], ""))
        i += 1
    return "".join(out)


@lru_cache(maxsize=1 << 14)
def write_word(word: str, script: str) -> str:
    """One word of a Latin name written in ``script`` (by its phonetic spelling)."""
    phonetic = respell(word.lower())
    if script == LATIN:
        return word
    if script == "Arabic":
        return _arabic(phonetic)
    import icu

    to_script = icu.Transliterator.createInstance(_ICU[script])
    if script == "Cyrillic":  # ICU reads 'j' as a 'y' sound ('й'); in English names it is 'дж'
        written = "дж".join(to_script.transliterate(part) for part in phonetic.split("j"))
    else:
        written = to_script.transliterate(phonetic)
    if script == "Thai" and _THAI_DEPENDENT_VOWEL.match(written):
        return "อ" + written  # a vowel that opens a word is written on the vowel carrier O Ang
    return written[:1].upper() + written[1:] if script == "Cyrillic" else written


def write_names(base: pa.Array, canonical: pa.Array, script: np.ndarray) -> pa.Array:
    """Each name in the script ``SCRIPTS[script[i]]``: its ``base`` (the name without legal form) written word
    by word with that script's legal form; the ``canonical`` name where the script is Latin."""
    base = base.cast(pa.string())
    out = canonical.cast(pa.string())
    for s, name in enumerate(SCRIPTS):
        rows = np.flatnonzero(script == s)
        if name == LATIN or len(rows) == 0:
            continue
        words = pc.split_pattern(base.take(pa.array(rows)), " ")
        flat = pc.list_flatten(words)
        distinct = pc.unique(flat)
        written = pa.array([write_word(w, name) for w in distinct.to_pylist()], pa.string())
        spelt = pa.ListArray.from_arrays(words.offsets, written.take(pc.index_in(flat, value_set=distinct)))
        prefix, suffix = LEGAL_FORM[name]
        joined = pc.binary_join_element_wise(prefix, pc.binary_join(spelt, " "), suffix, "")
        position = np.full(len(out), -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        out = pc.if_else(pa.array(position >= 0), joined.take(pa.array(np.maximum(position, 0))), out)
    return out


def script_index(country_scripts: dict[str, str], countries: tuple[str, ...], country: np.ndarray) -> np.ndarray:
    """Per row: the index in ``SCRIPTS`` of the script of its country (``countries[country[i]]``); Latin for a
    country not in ``country_scripts``."""
    table = np.array([SCRIPTS.index(country_scripts.get(c, LATIN)) for c in countries], dtype=np.int64)
    out: np.ndarray = table[country]
    return out
