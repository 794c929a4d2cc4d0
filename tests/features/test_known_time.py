"""Features as of a day read what was known before it: records exported later, register versions that take
effect later and fraud found later change nothing; ``event_time`` reads records by their event dates alone."""

from __future__ import annotations

import csv
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.contracts import CONTRACTS
from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.sources import load_source
from features.build import build_features, threshold_column
from features.partitions import build_partition, snapshot
from features.registry import EntityType, for_entity
from tests.features.test_build import KEY
from tests.ingestion import NOW

AS_OF = date(2024, 7, 1)
LATER = date(2024, 11, 1)  # an as-of day after every change below took effect and became known

Row = dict[str, str]


# What each base record holds unless its builder or a test says otherwise, by contract.
TEMPLATES: dict[str, Row] = {
    "organisation": {
        "country": "Aldoria",
        "region": "North",
        "registered_on": "2018-01-01",
        "known_on": "2018-03-31",
    },
    "recruiter": {
        "agency_type": "licensed_agency",
        "country": "Beloria",
        "licence_status": "active",
        "licence_valid_from": "2018-01-01",
        "licence_valid_to": "2030-12-31",
        "registered_on": "2018-01-01",
        "status_since": "2018-01-01",
        "known_on": "2018-03-31",
    },
    "visa_application": {
        "post_id": "P1",
        "visa_class": "work",
        "sponsor_name": "Alpha Farms Ltd",
        "sponsor_registration_no": "RN1",
        "recruiter_name": "Gamma Recruit",
        "recruiter_licence_id": "L1",
        "worksite_country": "Aldoria",
        "worksite_region": "North",
        "declared_wage": "900",
        "wage_unit": "month",
        "decision": "approved",
        "valid_until": "2025-06-30",
        "known_on": "2024-06-30",
    },
    "border_crossing": {
        "border_post_id": "BP1",
        "officer_id": "OF1",
        "direction": "in",
        "document_check_result": "clear",
        "outcome": "admitted",
        "document_later_found_fraudulent": "false",
        "fraud_found_on": "",
        "known_on": "2024-06-30",
    },
    "labour_inspection": {
        "organisation_registration_no": "RN1",
        "worksite_name": "Alpha Farms",
        "inspector_id": "LI1",
        "inspected_on": "2024-03-01",
        "trigger": "random",
        "workers_present": "40",
        "migrant_workers": "12",
        "finding_retention_of_identity_documents": "false",
        "finding_withholding_of_wages": "false",
        "labour_contractor_name": "Delta Labour",
        "outcome": "none",
        "known_on": "2024-03-31",
    },
}


def _record(record_id: str, source: str, id_column: str, fields: Row, over: dict[str, str]) -> Row:
    """A record whose own identifier (``id_column``) is its record_id; ``over`` replaces any of its values."""
    return {"record_id": record_id, "source": source, id_column: record_id, **fields, **over}


def _register_row(record_id: str, contract: str, fields: Row, over: dict[str, str]) -> Row:
    return {"record_id": record_id, "source": "register", **TEMPLATES[contract], **fields, **over}


def _event_row(record_id: str, source: str, contract: str, fields: Row, over: dict[str, str]) -> Row:
    """A record of an event contract, identified by its record_id: its template, then ``fields``, then ``over``."""
    template = TEMPLATES.get(contract, {})
    return _record(record_id, source, CONTRACTS[contract].natural_id, {**template, **fields}, over)


def _org(i: int, name: str, sector: str, **over: str) -> Row:
    fields = {"registration_no": f"RN{i}", "name": name, "sector": sector, "phone": f"+10{i}"}
    return _register_row(f"ORG{i}", "organisation", fields, over)


def _recruiter(record_id: str, ref: str, name: str, licence: str, **over: str) -> Row:
    fields = {"recruiter_ref": ref, "name": name, "licence_id": licence}
    return _register_row(record_id, "recruiter", fields, over)


def _r1(record_id: str, **over: str) -> Row:
    """A register version of recruiter R1 (Gamma Recruit, licence L1)."""
    return _recruiter(record_id, "R1", "Gamma Recruit", "L1", **over)


def _application(i: int, **over: str) -> Row:
    day = date(2024, 1, 8) + timedelta(days=9 * i)
    fields = {
        "desk_officer_id": f"CO{i % 2}",
        "applicant_id": f"P{i}",
        "submitted_at": f"{day.isoformat()}T09:00:00",
        "decided_at": f"{(day + timedelta(days=12)).isoformat()}T10:00:00",
        "document_check_flag": "true" if i % 3 == 0 else "false",
    }
    return _event_row(f"A{i}", "visa", "visa_application", fields, over)


def _crossing(i: int, **over: str) -> Row:
    crossed_at = f"2024-0{2 + i % 3}-1{i % 10}T08:00:00"
    fields = {"crossed_at": crossed_at, "traveller_id": f"P{i}", "visa_application_id": f"A{i}"}
    return _event_row(f"C{i}", "border", "border_crossing", fields, over)


def _inspection(i: int, **over: str) -> Row:
    return _event_row(f"I{i}", "inspectorate", "labour_inspection", {}, over)


def _outcome(i: int, entity_type: str, ref: str, kind: str, decided_on: str, **over: str) -> Row:
    fields = {"entity_type": entity_type, "entity_ref": ref, "decided_on": decided_on, "kind": kind}
    return _event_row(f"O{i}", "court", "enforcement_outcome", {**fields, "known_on": decided_on}, over)


def base_records() -> dict[str, list[Row]]:
    """A small world known before AS_OF: two employers, two recruiters, a visa desk, a border desk, an inspector."""
    return {
        "organisation": [_org(1, "Alpha Farms Ltd", "agriculture"), _org(2, "Beta Build", "construction")],
        "recruiter": [
            _r1("R1a"),
            _recruiter("R2a", "R2", "Delta Labour", "L2", agency_type="labour_contractor"),
        ],
        "visa_application": [_application(i) for i in range(1, 9)],
        "border_crossing": [_crossing(i) for i in range(1, 7)],
        "labour_inspection": [_inspection(1), _inspection(2, inspected_on="2024-05-02", known_on="2024-06-30")],
        "enforcement_outcome": [_outcome(1, "employer", "RN2", "complaint", "2024-02-01")],
    }


def _write(folder: Path, records: dict[str, list[Row]]) -> None:
    """One CSV per record type and batch (a record type's rows in several deliveries: several files)."""
    folder.mkdir(parents=True)
    for record_type, rows in records.items():
        header = [f.name for f in CONTRACTS[record_type].fields if any(f.name in r for r in rows)]
        with open(folder / f"{record_type}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)


@contextmanager
def open_lake(home: Path, *deliveries: dict[str, list[Row]]) -> Iterator[Lake]:
    """A lake with each delivery ingested in turn (a later delivery's row with the same record_id is a new
    version of that record), closed on leaving; every row must be accepted."""
    lake = Lake(home)
    try:
        for n, records in enumerate(deliveries):
            folder = home.parent / f"{home.name}-delivery-{n}"
            _write(folder, records)
            source = load_source("csv", folder)
            for f in source.files(folder):
                report = ingest_file(lake, f, source, NOW, KEY)
                assert (report.quarantined, report.error) == (0, None), (f.path.name, report.reasons, report.error)
        yield lake
    finally:
        lake.close()


def features(lake: Lake, as_of: date = AS_OF, event_time: bool = False) -> dict[str, Any]:
    """Everything features as of ``as_of`` say, comparable with ==."""
    tables = build_features(lake, as_of, event_time=event_time)
    return {
        entity: (
            ft.table.to_pylist(),
            ft.cutoffs,
            ft.peers,
            ft.profile.to_pylist() if ft.profile is not None else None,
            ft.scope.to_pylist() if ft.scope is not None else None,
        )
        for entity, ft in tables.items()
    }


def value(result: dict[str, Any], entity: EntityType, entity_id: str, indicator: str) -> object:
    """The raw value of ``indicator`` (a share's num / den, not its shrunk rate)."""
    feature = next(threshold_column(i) for i in for_entity(entity) if i.id == indicator)
    rows = {r["entity_id"]: r for r in result[entity][0]}
    return rows[entity_id][feature]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with open_lake(tmp_path_factory.mktemp("base") / "home", base_records()) as lake:
        yield features(lake)


# (a) register versions that take effect on or after AS_OF, whenever they are published.
REGISTER_CHANGES: dict[str, list[Row]] = {
    "recruiter": [
        _r1(
            "R1b",
            licence_status="revoked",
            status_since="2024-08-15",
            known_on="2024-09-30",
        ),
        # announced before AS_OF, in force from AS_OF on
        _recruiter(
            "R2b",
            "R2",
            "Delta Labour Co",
            "L2",
            agency_type="labour_contractor",
            licence_status="suspended",
            status_since=AS_OF.isoformat(),
            known_on="2024-06-15",
        ),
    ],
    "organisation": [
        _org(1, "Alpha Fields Ltd", "agriculture", record_id="ORG1b", status_since="2024-07-20", known_on="2024-09-30")
    ],
}
# (b) records dated before AS_OF, exported on or after it.
LATE_EXPORTS: dict[str, list[Row]] = {
    "enforcement_outcome": [
        _outcome(2, "recruiter", "R1", "licence_revocation", "2024-05-01", known_on=AS_OF.isoformat()),
        _outcome(3, "employer", "RN1", "debarment", "2024-04-01", known_on="2024-09-30"),
    ],
    "labour_inspection": [
        _inspection(
            3,
            inspected_on="2024-06-01",
            finding_retention_of_identity_documents="true",
            finding_withholding_of_wages="true",
            outcome="forced_labour_referral",
            known_on="2024-09-30",
        ),
    ],
    "visa_application": [_application(9, known_on="2024-07-31", document_check_flag="true")],
}


def _fraud_found_later() -> dict[str, list[Row]]:
    """(c) a new version of crossings C1 and C2, known before AS_OF, whose documents were found fraudulent after it."""
    return {
        "border_crossing": [
            _crossing(i, document_later_found_fraudulent="true", fraud_found_on="2024-08-01") for i in (1, 2)
        ]
    }


def test_the_base_world_has_every_entity(baseline: dict[str, Any]) -> None:
    ids = {entity: {r["entity_id"] for r in rows} for entity, (rows, *_rest) in baseline.items()}
    assert {"RN1", "RN2"} <= ids["employer"] and {"R1", "R2"} <= ids["recruiter"]
    assert ids["visa_desk"] and ids["border_post"] and ids["inspector"]
    assert value(baseline, "recruiter", "R1", "R01") == 0.0  # licensed on AS_OF
    assert value(baseline, "border_post", next(iter(ids["border_post"])), "B04") == 0.0


@pytest.mark.parametrize(
    "change",
    [REGISTER_CHANGES, LATE_EXPORTS, _fraud_found_later()],
    ids=["register-changed-after", "exported-after", "fraud-found-after"],
)
def test_what_became_known_or_true_after_the_as_of_day_changes_nothing(
    tmp_path: Path, baseline: dict[str, Any], change: dict[str, list[Row]]
) -> None:
    with open_lake(tmp_path / "home", base_records(), change) as lake:
        assert features(lake) == baseline


def test_the_changes_are_read_once_in_force_and_known(tmp_path: Path) -> None:
    """The same changes do count as of a day after them: the tests above are not vacuous."""
    with open_lake(tmp_path / "home", base_records(), REGISTER_CHANGES, LATE_EXPORTS, _fraud_found_later()) as lake:
        later, before = features(lake, LATER), features(lake)
    assert value(later, "recruiter", "R1", "R01") == 1.0 and value(before, "recruiter", "R1", "R01") == 0.0
    assert value(later, "recruiter", "R2", "R01") == 1.0 and value(before, "recruiter", "R2", "R01") == 0.0
    desk = next(r["entity_id"] for r in later["border_post"][0])
    assert value(later, "border_post", desk, "B04") == pytest.approx(2 / 6)
    assert value(later, "employer", "RN1", "E15") != value(before, "employer", "RN1", "E15")
    names = {r["entity_id"]: r["name"] for r in later["employer"][3]}
    assert names["RN1"] == "Alpha Fields Ltd"
    assert {r["entity_id"]: r["name"] for r in before["employer"][3]}["RN1"] == "Alpha Farms Ltd"


def test_event_time_reads_records_exported_after_the_as_of_day(tmp_path: Path, baseline: dict[str, Any]) -> None:
    with open_lake(tmp_path / "home", base_records(), LATE_EXPORTS) as lake:
        by_event, by_knowledge = features(lake, event_time=True), features(lake)
    assert by_knowledge == baseline
    assert by_event != baseline
    assert value(by_event, "employer", "RN1", "E15") != value(baseline, "employer", "RN1", "E15")


def test_event_time_still_reads_the_register_version_in_force(tmp_path: Path) -> None:
    """status_since is when a version took effect (an event date): event time reads the version in force too."""
    with open_lake(tmp_path / "home", base_records(), REGISTER_CHANGES) as lake:
        assert value(features(lake, event_time=True), "recruiter", "R1", "R01") == 0.0


def test_a_register_without_status_since_is_one_version_since_registration(tmp_path: Path) -> None:
    records = base_records()
    records["recruiter"] = [
        {k: v for k, v in r.items() if k != "status_since"} | {"licence_status": "revoked"}
        for r in records["recruiter"]
    ]
    with open_lake(tmp_path / "home", records) as lake:
        result = features(lake)
    assert value(result, "recruiter", "R1", "R01") == 1.0
    assert sum(1 for r in result["recruiter"][0] if r["entity_id"] == "R1") == 1


def test_every_version_name_links_records_and_nothing_counts_twice(tmp_path: Path) -> None:
    """A renamed recruiter keeps the applications filed under its earlier name, once each."""
    records = base_records()
    records["recruiter"].append(
        _recruiter("R1-v2", "R1", "Gamma Global Recruitment", "L1", status_since="2023-01-01", known_on="2023-03-31")
    )
    records["visa_application"] = [r | {"recruiter_licence_id": ""} for r in records["visa_application"]]
    with open_lake(tmp_path / "home", records) as lake:
        renamed = features(lake)
    rows = [r for r in renamed["recruiter"][0] if r["entity_id"] == "R1"]
    assert len(rows) == 1
    names = {r["entity_id"]: r["name"] for r in renamed["recruiter"][3]}
    assert names["R1"] == "Gamma Global Recruitment"
    # The applications name 'Gamma Recruit' (no licence number): the earlier name links them to R1.
    assert not [e for e in renamed["recruiter"][0] if e["entity_id"].startswith("unregistered:")]
    assert {r["value"] for r in renamed["recruiter"][4] if r["entity_id"] == "R1" and r["kind"] == "post"} == {"P1"}


# Any record of any type, new or a new version of a base record, known on or after AS_OF.
_TEMPLATES = [(record_type, i) for record_type, rows in base_records().items() for i in range(len(rows))]


@st.composite
def late_records(draw: st.DrawFn) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for n in range(draw(st.integers(1, 4))):
        record_type, i = draw(st.sampled_from(_TEMPLATES))
        row = dict(base_records()[record_type][i])
        if draw(st.booleans()):  # a new record, not a new version of the template
            natural = CONTRACTS[record_type].natural_id
            row["record_id"] = f"{row['record_id']}-late{n}"
            if record_type != "recruiter":  # a recruiter row with the same ref is a register version
                row[natural] = f"{row[natural]}-late{n}"
        for column, values in _MUTATIONS.get(record_type, {}).items():
            if column in row and draw(st.booleans()):
                row[column] = draw(st.sampled_from(values))
        row["known_on"] = (AS_OF + timedelta(days=draw(st.integers(0, 400)))).isoformat()
        existing = out.setdefault(record_type, [])
        if row["record_id"] not in {r["record_id"] for r in existing}:
            existing.append(row)
    return out


_MUTATIONS: dict[str, dict[str, list[str]]] = {
    "organisation": {"name": ["Alpha Farm Ltd", "Omega Ltd"], "sector": ["construction", "fishing"]},
    "recruiter": {"licence_status": ["revoked", "suspended", "expired"], "status_since": ["2020-05-01", "2024-06-30"]},
    "visa_application": {"decision": ["refused", "approved"], "document_check_flag": ["true"], "expedited": ["true"]},
    "border_crossing": {"document_later_found_fraudulent": ["true"], "fraud_found_on": ["", "2024-05-01"]},
    "labour_inspection": {"finding_retention_of_identity_documents": ["true"], "outcome": ["prosecution"]},
    "enforcement_outcome": {"kind": ["debarment", "conviction"], "decided_on": ["2023-05-01", "2024-06-30"]},
}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(late=late_records())
def test_any_record_known_on_or_after_the_as_of_day_changes_nothing(
    tmp_path_factory: pytest.TempPathFactory, baseline: dict[str, Any], late: dict[str, list[Row]]
) -> None:
    with open_lake(tmp_path_factory.mktemp("late") / "home", base_records(), late) as lake:
        assert features(lake) == baseline


def test_a_lake_snapshot_reads_the_same_known_versions(tmp_path: Path) -> None:
    """Partitioned builds read a picklable snapshot of the lake: the same versions known before the as-of day."""
    with open_lake(tmp_path / "home", base_records(), REGISTER_CHANGES, LATE_EXPORTS, _fraud_found_later()) as lake:
        assert lake.superseded("border_crossing") and not lake.superseded("organisation")
        snap = pickle.loads(pickle.dumps(snapshot(lake)))
        direct = build_features(lake, AS_OF, ("border_post", "recruiter"))
    parted = build_partition(snap.scratch(tmp_path / "scratch"), AS_OF, ("border_post", "recruiter"))
    for entity, ft in direct.items():
        assert parted[entity].table.equals(ft.table), entity
