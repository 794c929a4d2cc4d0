"""Plain dicts of a row's or a record's fields for the API's bodies, each field named once."""

from __future__ import annotations

from typing import Any


def fields_of(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """``row``'s attributes ``names`` as a dict, in the order of ``names``."""
    return {name: getattr(row, name) for name in names}
