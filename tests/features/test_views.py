"""The point-in-time views over sponsors' petitions: names on employer outcomes resolved to the filers by entity
resolution (each legal name of 'A | B' and 'A DBA C'), and an agent never swallowed by a contractor certificate of
the same name."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pytest

from data_contracts.ingest import ingest_file
from data_contracts.lake import Lake
from data_contracts.sources import load_source
from features.build import build_features
from features.registry import BY_ID, EntityType
from features.views import create_views
from tests.features.test_build import KEY
from tests.ingestion import NOW

AS_OF = date(2024, 6, 30)
PETITIONS = [
    "record_id,source,application_id,programme,fiscal_year,sponsor_name,sponsor_region,labour_contractor,agent_name,"
    "workers_requested,workers_certified,declared_wage,wage_unit,worksite_region,decision,decided_on",
    "P1,ministry,K1,H-2A,2023,Kilo Orchards,TX,false,Acme Labor LLC,10,10,10.00,hour,TX,approved,2023-03-01",
    "P2,ministry,L1,H-2A,2023,Lima Farms,TX,false,Acme Labor LLC,10,10,10.00,hour,TX,approved,2023-03-01",
    "P3,ministry,M1,H-2A,2023,Mike Ranch,TX,false,,10,10,10.00,hour,TX,refused,2023-03-01",
]
# Kilo: debarred under a trade name and a typo of its legal name; Lima: a conviction under two names, one a typo
# of its own; Mike: a complaint (no sanction) under a typo.
OUTCOMES = [
    "record_id,source,outcome_id,entity_type,entity_ref,entity_name,decided_on,kind",
    "O1,ministry,O1,employer,sponsor:kilo orchardz,Kilo Orchardz DBA Sunny Acres,2024-01-01,debarment",
    "O2,ministry,O2,employer,12-3456789,Lima Farmz | Lima Holdings Group,2024-01-01,conviction",
    "O3,ministry,O3,employer,sponsor:mike rnch,Mike Rnch,2024-01-01,complaint",
]
# A farm labour contractor certificate under the agent's name.
REGISTER = [
    "record_id,source,recruiter_ref,name,agency_type,licence_id,licence_status,licence_valid_from,licence_valid_to,"
    "registered_on",
    "F1,register,FLC-1,Acme Labor LLC,labour_contractor,FLC-1,active,2020-01-01,2026-01-01,2020-01-01",
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    folder = tmp_path_factory.mktemp("views")
    landing = folder / "landing"
    landing.mkdir()
    for name, lines in (
        ("labour_certification", PETITIONS),
        ("enforcement_outcome", OUTCOMES),
        ("recruiter", REGISTER),
    ):
        (landing / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lake = Lake(folder / "home")
    source = load_source("csv", landing)
    for f in source.files(landing):
        report = ingest_file(lake, f, source, NOW, KEY)
        assert report.error is None and report.quarantined == 0, (f.path.name, report.reasons)
    return lake


def _sanctioned(lake: Lake, resolve: bool) -> set[str]:
    con = duckdb.connect()
    try:
        create_views(con, lake, AS_OF, 1_095, resolve=resolve, event_time=True)
        return {r[0] for r in con.execute("SELECT employer_id FROM sanctioned").fetchall()}
    finally:
        con.close()


def _rows(lake: Lake, entity: EntityType) -> dict[str, dict[str, Any]]:
    table = build_features(lake, AS_OF, (entity,), event_time=True)[entity].table
    return {r["entity_id"]: r for r in table.to_pylist()}


def test_each_legal_name_of_an_outcome_is_resolved_to_the_filer(lake: Lake) -> None:
    # Exact keys alone: neither 'Kilo Orchardz' nor 'Lima Farmz' is a filer's name.
    assert _sanctioned(lake, resolve=False) == {"sponsor:kilo orchardz", "12-3456789"}
    # Entity resolution links the legal name before 'DBA' and the first of the '|' names (one letter off): the
    # sanctions reach the filers; a complaint is no sanction, whatever its name.
    assert _sanctioned(lake, resolve=True) == {"sponsor:kilo orchards", "sponsor:lima farms"}
    rows = _rows(lake, "employer")
    assert rows["sponsor:kilo orchards"][BY_ID["E15"].feature] == 1
    assert rows["sponsor:lima farms"][BY_ID["E15"].feature] == 1
    assert "sponsor:kilo orchardz" not in rows and "12-3456789" not in rows


def test_an_agent_keeps_its_petitions_beside_a_certificate_of_the_same_name(lake: Lake) -> None:
    rows = _rows(lake, "recruiter")
    # Two entities: the certificate on the register and the agent filing petitions, each with its own figures.
    assert {"FLC-1", "agent:acme labor"} <= set(rows)
    agent, certificate = rows["agent:acme labor"], rows["FLC-1"]
    assert agent[f"{BY_ID['L12'].feature}__den"] == 2  # Kilo and Lima, its clients
    assert agent[f"{BY_ID['L12'].feature}__num"] == 2  # both sanctioned before the day, once resolved
    assert certificate[f"{BY_ID['L12'].feature}__den"] is None  # files no petition
    assert certificate[f"{BY_ID['L14'].feature}__den"] is None
    assert agent[f"{BY_ID['L14'].feature}__den"] == 2
