"""Observed labels as training and evaluation read them: sanctions for every type and, for employers, inspections
that found a forced-labour indicator; an entity is known (left out of new positives) only once sanctioned."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from models.datasets import labelled_by, labels_between
from tests.features.test_known_time import base_records, open_lake

START, END = date(2024, 7, 1), date(2025, 3, 1)


def _later_delivery() -> dict[str, list[dict[str, str]]]:
    """After ``START``: a finding at RN2 recorded on 2024-09-30, a visit to RN1 that found nothing, a conviction of
    RN1 decided and recorded on 2024-09-01, and a finding at RN1 in May, before the window."""
    visit = base_records()["labour_inspection"][0]

    def inspection(record_id: str, employer: str, day: str, known_on: str, **findings: str) -> dict[str, str]:
        row = {**visit, "record_id": record_id, "inspection_id": record_id, "organisation_registration_no": employer}
        return {**row, "inspected_on": day, "known_on": known_on, **findings}

    return {
        "labour_inspection": [
            inspection("I3", "RN2", "2024-08-01", "2024-09-30", finding_withholding_of_wages="true"),
            inspection("I4", "RN1", "2024-08-15", "2024-09-30"),
            inspection("I5", "RN1", "2024-05-02", "2024-06-30", finding_retention_of_identity_documents="true"),
        ],
        "enforcement_outcome": [
            {
                "record_id": "O9",
                "source": "court",
                "outcome_id": "O9",
                "entity_type": "employer",
                "entity_ref": "RN1",
                "decided_on": "2024-09-01",
                "kind": "conviction",
                "known_on": "2024-09-01",
            }
        ],
    }


def test_a_finding_labels_the_employer_visited_once_recorded_but_does_not_make_it_known(tmp_path: Path) -> None:
    with open_lake(tmp_path / "home", base_records(), _later_delivery()) as lake:
        assert labels_between(lake, "employer", START, END) == {"RN1", "RN2"}
        # Recorded by mid-September: the conviction (1 September), not the finding (recorded 30 September).
        assert labels_between(lake, "employer", START, END, known_by=date(2024, 9, 15)) == {"RN1"}
        # A finding before the window labels nothing in it; a visit that found nothing labels nothing.
        assert labels_between(lake, "employer", date(2024, 8, 10), END) == {"RN1"}
        assert labels_between(lake, "employer", date(2024, 4, 1), START) == {"RN1"}
        # Known positives are the sanctioned: RN2's finding does not make it known.
        assert labelled_by(lake, "employer", END) == {"RN1"}
        assert labelled_by(lake, "employer", date(2024, 8, 31)) == set()


def test_findings_label_no_type_but_employers(tmp_path: Path) -> None:
    with open_lake(tmp_path / "home", base_records(), _later_delivery()) as lake:
        for entity in ("recruiter", "visa_desk", "border_post", "inspector"):
            assert labels_between(lake, entity, date(2020, 1, 1), END) == set(), entity
