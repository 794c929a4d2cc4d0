"""service.outcomes: what an outcome recorded through the service becomes in the lake once ingested."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

from data_contracts.contracts import CONTRACTS
from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.pseudonymise import PseudonymKey, pseudonym
from data_contracts.sources import load_source
from service.outcomes import OutcomeIn, contract_row, write_landing

KEY = PseudonymKey(b"outcomes-key-" + b"x" * 40, "test")
CONTRACT = CONTRACTS["enforcement_outcome"]


def test_a_desk_outcome_keeps_its_pseudonymous_ref_and_the_declared_extras(tmp_path: Path) -> None:
    """The service names a scored desk by its pseudonymous reference, which ingest keeps (it joins the desk's
    features); the columns it adds are the contract's declared plain extras, kept as they are."""
    desk = "COR-MAN:" + pseudonym(KEY, "CO123456")
    body = OutcomeIn.model_validate(
        {
            "entity_type": "visa_desk",
            "entity_id": desk,
            "decided_on": "2024-05-02",
            "kind": "integrity_case_substantiated",
            "indicators_observed": ["deception"],
            "worklist_id": "wl-3",
        }
    )
    landing = tmp_path / "landing"
    path = write_landing(landing, contract_row("svc-0123456789abcdef", body, f"visa desk {desk}", exploration=True))
    with open(path, newline="", encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == [*CONTRACT.columns, *CONTRACT.plain_extras]
    lake = Lake(tmp_path / "lake-home")
    try:
        source = load_source("csv", landing)
        reports = [ingest_file(lake, f, source, datetime(2026, 11, 1, 12), KEY) for f in source.files(landing)]
        assert [(r.status, r.accepted) for r in reports] == [("committed", 1)], [r.as_json() for r in reports]
        assert not any("pseudonymised in extra_fields" in note for note in reports[0].notes), reports[0].notes
        row = lake.current("enforcement_outcome").to_pylist()[0]
    finally:
        lake.close()
    assert row["entity_ref"] == desk
    assert row["entity_name"] == pseudonym(KEY, f"visa desk {desk}")  # not an organisation: no name kept as is
    assert json.loads(row["extra_fields"]) == {
        "indicators_observed": "deception",
        "exploration": "true",
        "worklist_id": "wl-3",
    }
