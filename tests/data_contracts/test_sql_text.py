"""Quoting into SQL: any text comes back from DuckDB as written."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts.sql_text import identifier, literal, literal_list

# DuckDB text cannot hold NUL; every other character, quotes and backslashes included, must survive.
TEXT = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30)


# One in-memory connection for every example: opening one costs more than the query, and timing is not the point.
CON = duckdb.connect()


def _one(sql: str) -> tuple[object, ...] | None:
    return CON.execute(sql).fetchone()


@settings(deadline=None)
@given(TEXT)
def test_a_literal_reads_back_as_the_text(text: str) -> None:
    assert _one(f"SELECT {literal(text)}") == (text,)


@settings(deadline=None)
@given(st.lists(TEXT, max_size=5))
def test_a_literal_list_reads_back_as_the_texts(texts: list[str]) -> None:
    assert _one(f"SELECT [{literal_list(texts)}]::VARCHAR[]") == (texts,)


@settings(deadline=None)
@given(TEXT.filter(lambda t: t.strip() != ""))
def test_an_identifier_names_the_column_as_written(name: str) -> None:
    assert [d[0] for d in CON.execute(f"SELECT 1 AS {identifier(name)}").description] == [name]


def test_a_quote_does_not_end_the_string() -> None:
    injected = literal("x' OR '1'='1")
    assert _one(f"SELECT {injected} = 'x'") == (False,)
