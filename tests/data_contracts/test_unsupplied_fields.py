"""A source that declares contract fields it does not supply (a sponsor's petition has no visa desk): the rules
that need them are skipped and reported, never failed, and a field the contract cannot do without is refused."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from data_contracts.contracts import CONTRACTS
from data_contracts.pseudonymise import PseudonymKey
from data_contracts.reader import RawBatch
from data_contracts.rules import skipped_rules
from data_contracts.validate import WrongRecordType, validate_batch


def test_validate_batch_unsupplied_parameter() -> None:
    table = pa.table(
        {
            "record_id": ["r1"],
            "source": ["s"],
            "outcome_id": ["o1"],
            "entity_type": ["employer"],
            "decided_on": ["2012-01-01"],
            "kind": ["debarment"],
            "_line": pa.array([2], pa.int64()),
        }
    )
    raw = RawBatch(table, [], "parquet", None, [])
    key = PseudonymKey(b"k" * 32, "test")
    now = datetime(2020, 1, 1)
    strict = validate_batch(raw, "enforcement_outcome", {}, now, key)
    assert strict.reasons == {"entity_ref:missing_column": 1} and strict.skipped_rules == {}
    lenient = validate_batch(raw, "enforcement_outcome", {}, now, key, unsupplied=("entity_ref",))
    assert lenient.accepted.num_rows == 1 and lenient.reasons == {}
    assert set(lenient.skipped_rules) == {
        "entity_ref:missing",
        "entity_ref:missing_column",
        "entity_ref:too_long",
        "entity_ref:control_character",
    }
    with pytest.raises(WrongRecordType, match="declared as not supplied"):
        validate_batch(raw, "enforcement_outcome", {}, now, key, unsupplied=("decided_on",))
    with pytest.raises(ValueError, match="no fields"):
        skipped_rules(CONTRACTS["enforcement_outcome"], ("no_such_field",))
