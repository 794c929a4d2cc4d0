"""Entity profiles carry an organisation's address as its records give it on the as-of day: the register version
in force (a later change of address is not seen before it takes effect and is known), a sponsor's latest petition
address, and none for official desks."""

from __future__ import annotations

from datetime import date

import pytest

from data_contracts.lake import Lake
from features.build import build_features
from tests.features.test_known_time import AS_OF, LATER, Row, _org, _r1, _record, _recruiter, base_records, open_lake


def _petition(i: int, decided_on: str, **over: str) -> Row:
    fields = {
        "programme": "H-2A",
        "sponsor_name": "Epsilon Orchards LLC",
        "sponsor_city": "Wenatchee",
        "sponsor_region": "WA",
        "sponsor_postal_code": "98801",
        "decision": "approved",
        "submitted_on": "2024-01-02",
        "decided_on": decided_on,
        "known_on": decided_on,
    }
    return _record(f"LC{i}", "ministry", "application_id", fields, over)


def _named_abroad(i: int, known_on: str, **over: str) -> Row:
    row = {
        "record_id": f"PR{i}",
        "source": "ministry",
        "application_id": f"LC{i}",
        "programme": "H-2B",
        "fiscal_year": "2024",
        "recruiter_name": "Zeta Staffing S.A.",
        "recruiter_city": "Monterrey",
        "recruiter_region": "Nuevo Leon",
        "recruiter_postal_code": "64000",
        "recruiter_country": "MEXICO",
        "staff_last_name": "Perez",
        "staff_first_name": "Ana",
        "known_on": known_on,
    }
    return {**row, **over}


def _records() -> dict[str, list[Row]]:
    records = base_records()
    records["organisation"] = [
        _org(1, "Alpha Farms Ltd", "agriculture", address="1 Mill Road, Northtown"),
        _org(2, "Beta Build", "construction"),  # no address on the register
    ]
    records["recruiter"] = [
        _r1("R1a", address="22 Port Street, Belo"),
        _recruiter("R2a", "R2", "Delta Labour", "L2", agency_type="labour_contractor"),
    ]
    records["labour_certification"] = [
        _petition(1, "2024-02-01", sponsor_city="Yakima", sponsor_postal_code="98901"),
        _petition(2, "2024-04-01", sponsor_postal_code=""),  # the latest before AS_OF: city and region only
        _petition(3, "2024-08-01", sponsor_city="Spokane", sponsor_postal_code="99201"),  # decided after AS_OF
    ]
    # A recruiting organisation abroad named on two petitions (two staff), and a third organisation named only on a
    # list known after AS_OF.
    records["petition_recruiter"] = [
        _named_abroad(1, "2024-03-01"),
        _named_abroad(2, "2024-05-01", record_id="PR2", staff_last_name="Lopez"),
        _named_abroad(
            3,
            "2024-09-01",
            recruiter_name="Eta Agencia",
            recruiter_city="Puebla",
            recruiter_region="Puebla",
            recruiter_postal_code="72000",
        ),
    ]
    return records


# Later addresses: RN1's version in force from 2024-08-15 (announced before AS_OF) and one in force from 2024-05-01
# but published after AS_OF; R1's in force and known after AS_OF. None is seen as of AS_OF; as of LATER the version
# in force latest wins.
MOVES: dict[str, list[Row]] = {
    "organisation": [
        _org(
            1,
            "Alpha Farms Ltd",
            "agriculture",
            record_id="ORG1b",
            address="9 Harbour Street, Southport",
            status_since="2024-08-15",
            known_on="2024-06-15",
        ),
        _org(
            1,
            "Alpha Farms Ltd",
            "agriculture",
            record_id="ORG1c",
            address="4 Station Lane, Northtown",
            status_since="2024-05-01",
            known_on="2024-07-15",
        ),
    ],
    "recruiter": [
        _r1(
            "R1b",
            address="7 Quay Road, Belo",
            status_since="2024-08-01",
            known_on="2024-08-05",
        )
    ],
}


Seen = dict[date, dict[str, dict[str, str | None]]]  # as-of day -> entity type -> entity id -> address


def addresses(lake: Lake, as_of: date) -> dict[str, dict[str, str | None]]:
    tables = build_features(lake, as_of)
    return {
        entity: {r["entity_id"]: r["address"] for r in ft.profile.to_pylist()}
        for entity, ft in tables.items()
        if ft.profile is not None
    }


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Seen:
    with open_lake(tmp_path_factory.mktemp("profiles") / "home", _records(), MOVES) as lake:
        return {day: addresses(lake, day) for day in (AS_OF, LATER)}


def test_register_addresses_are_the_version_in_force_and_known_on_the_day(seen: Seen) -> None:
    before, later = seen[AS_OF], seen[LATER]
    assert before["employer"]["RN1"] == "1 Mill Road, Northtown"
    assert later["employer"]["RN1"] == "9 Harbour Street, Southport"
    assert before["recruiter"]["R1"] == "22 Port Street, Belo"
    assert later["recruiter"]["R1"] == "7 Quay Road, Belo"
    assert before["employer"]["RN2"] is None and before["recruiter"]["R2"] is None


def test_a_sponsor_without_a_register_entry_has_its_latest_petition_address(seen: Seen) -> None:
    before, later = seen[AS_OF], seen[LATER]
    assert before["employer"]["sponsor:epsilon orchards"] == "Wenatchee, WA"
    assert later["employer"]["sponsor:epsilon orchards"] == "Spokane, WA, 99201"


def test_official_desks_have_no_address(seen: Seen) -> None:
    for day in (AS_OF, LATER):
        for entity in ("visa_desk", "border_post", "inspector"):
            assert seen[day][entity] and set(seen[day][entity].values()) == {None}


def test_a_recruiting_organisation_abroad_has_the_address_its_petitions_give(seen: Seen) -> None:
    before, later = seen[AS_OF], seen[LATER]
    assert before["recruiter"]["abroad:zeta staffing"] == "Monterrey, Nuevo Leon, 64000, MEXICO"
    assert "abroad:eta agencia" not in before["recruiter"]  # named only on a list known after AS_OF
    assert later["recruiter"]["abroad:eta agencia"] == "Puebla, Puebla, 72000, MEXICO"
