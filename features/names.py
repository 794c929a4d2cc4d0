"""Comparison keys for organisation and recruiter names: the variants records carry (case, punctuation, legal
suffix) reduce to one key. Shared by the feature views and entity resolution."""

from __future__ import annotations

import re

LEGAL_SUFFIXES = (
    "ltd",
    "limited",
    "llc",
    "l l c",
    "inc",
    "incorporated",
    "co",
    "company",
    "pvt",
    "private",
    "gmbh",
    "g m b h",
    "sa",
    "s a",
    "sdn",
    "bhd",
    "plc",
    "p l c",
    "corp",
    "corporation",
)


def name_key_sql(column: str) -> str:
    """SQL: a name reduced to compare variants: lower case, no punctuation, no legal suffix, single spaces."""
    suffixes = "|".join(s.replace(" ", r"\s") for s in LEGAL_SUFFIXES)
    cleaned = f"regexp_replace(lower({column}), '[^a-z0-9]+', ' ', 'g')"
    return f"trim(regexp_replace(regexp_replace({cleaned}, '\\b({suffixes})\\b', ' ', 'g'), '\\s+', ' ', 'g'))"


def name_key(name: str) -> str:
    """Python twin of ``name_key_sql`` (for tests and the service)."""
    cleaned = re.sub(r"[^a-z0-9]+", " ", name.lower())
    cleaned = re.sub(r"\b(" + "|".join(s.replace(" ", r"\s") for s in LEGAL_SUFFIXES) + r")\b", " ", cleaned)
    return re.sub(r"\s+", " ", cleaned).strip()
