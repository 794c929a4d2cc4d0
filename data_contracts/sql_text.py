"""Quoting text into DuckDB SQL: the one place identifiers and string literals are escaped.

Contract declarations, file paths and allowed values are written into generated SQL; each goes through these
functions, so a quote inside a column name, a path or a value can never end the string it sits in.
"""

from __future__ import annotations

from collections.abc import Iterable


def identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (embedded double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a single-quoted SQL string literal (embedded single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def literal_list(texts: Iterable[str]) -> str:
    """The comma-separated literals of ``texts``, for ``IN (...)`` or a list ``[...]``."""
    return ", ".join(literal(t) for t in texts)
