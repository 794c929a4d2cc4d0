"""A row's fields as a dict: the names asked for, in their order, and nothing else."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from service.records import fields_of


def test_fields_come_in_the_order_named_and_others_stay_out() -> None:
    row = SimpleNamespace(a=1, b="two", c=None, hidden="x")
    picked = fields_of(row, ("c", "a", "b"))
    assert picked == {"c": None, "a": 1, "b": "two"}
    assert list(picked) == ["c", "a", "b"]
    assert fields_of(row, ()) == {}


def test_a_missing_field_is_an_error() -> None:
    with pytest.raises(AttributeError):
        fields_of(SimpleNamespace(a=1), ("a", "b"))
