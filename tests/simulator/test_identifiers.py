"""Identifiers never encode truth: no number range, prefix, width or order of an exported identifier tells a
planted actor (exploitative employer, abusive recruiter, corrupt desk, officer or inspector) from a clean one.

For each identifier the planted actors' numeric values must rank like the clean ones' (ROC-AUC of the number
against truth near 0.5), share their formats (prefix and digit count), and hardly ever fall outside the clean
actors' range.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from simulator.world import simulate_world

AUC_TOLERANCE = 0.08  # |ROC-AUC - 0.5| of an identifier's number against truth, small world
MAX_OUTSIDE_CLEAN_RANGE = 3  # planted identifiers beyond the clean ones' smallest or largest (chance allows a few)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    world = tmp_path_factory.mktemp("ids_world")
    simulate_world("small", 5, world, workers=2)
    c = duckdb.connect()
    x, t = world / "export", world / "truth"
    c.execute(f"CREATE VIEW org AS SELECT * FROM read_parquet('{x}/organisation/*.parquet')")
    c.execute(f"CREATE VIEW reg AS SELECT * FROM read_parquet('{x}/recruiter/*.parquet')")
    c.execute(f"CREATE VIEW va AS SELECT * FROM read_parquet('{x}/visa_application/*.parquet')")
    c.execute(f"CREATE VIEW bc AS SELECT * FROM read_parquet('{x}/border_crossing/*.parquet')")
    c.execute(f"CREATE VIEW li AS SELECT * FROM read_parquet('{x}/labour_inspection/*.parquet')")
    c.execute(f"CREATE VIEW t_emp AS SELECT * FROM read_parquet('{t}/employers/*.parquet')")
    c.execute(f"CREATE VIEW t_rec AS SELECT * FROM read_parquet('{_file(t, 'recruiters')}')")
    c.execute(f"CREATE VIEW t_desk AS SELECT * FROM read_parquet('{_file(t, 'visa_desks')}')")
    c.execute(f"CREATE VIEW t_off AS SELECT * FROM read_parquet('{_file(t, 'border_officers')}')")
    c.execute(f"CREATE VIEW t_insp AS SELECT * FROM read_parquet('{_file(t, 'inspectors')}')")
    # Recruiters with their successors (a successor of an abusive recruiter is abusive).
    c.execute(
        "CREATE VIEW t_rec_all AS SELECT recruiter_ref AS ref, abusive FROM t_rec "
        "UNION ALL SELECT successor_ref, abusive FROM t_rec WHERE successor_ref IS NOT NULL"
    )
    yield c
    c.close()


def _file(folder: Path, name: str) -> Path:
    return folder / f"{name}.parquet"


# (what, SQL returning (identifier, planted)): one row per actor.
IDENTIFIERS: list[tuple[str, str]] = [
    ("registration_no", "SELECT registration_no, exploitative FROM t_emp"),
    (
        "organisation record_id",
        "SELECT min(o.record_id), any_value(t.exploitative) FROM org o JOIN t_emp t USING (registration_no) "
        "GROUP BY o.registration_no",
    ),
    (
        "recruiter_ref",
        "SELECT DISTINCT r.recruiter_ref, t.abusive FROM reg r JOIN t_rec_all t ON t.ref = r.recruiter_ref",
    ),
    (
        "recruiter record_id",
        "SELECT min(r.record_id), any_value(t.abusive) FROM reg r JOIN t_rec_all t ON t.ref = r.recruiter_ref "
        "GROUP BY r.recruiter_ref",
    ),
    (
        "licence_id",
        "SELECT r.licence_id, any_value(t.abusive) FROM reg r JOIN t_rec_all t ON t.ref = r.recruiter_ref "
        "WHERE r.licence_id IS NOT NULL GROUP BY r.licence_id",
    ),
    ("desk_officer_id", "SELECT split_part(desk_ref, ':', 2), corrupt FROM t_desk"),
    ("officer_badge_no", "SELECT split_part(officer_ref, ':', 2), corrupt FROM t_off"),
    ("inspector_badge_no", "SELECT inspector_badge_no, corrupt FROM t_insp"),
]


def _number(identifier: str) -> int:
    return int(re.sub(r"\D", "", identifier))


def _shape(identifier: str) -> str:
    """The identifier's format: its non-digit characters and the number of digits."""
    return re.sub(r"\d+", lambda m: f"<{len(m.group())}>", identifier)


@pytest.mark.parametrize(("what", "sql"), IDENTIFIERS, ids=[w for w, _ in IDENTIFIERS])
def test_identifier_numbers_do_not_predict_truth(con: duckdb.DuckDBPyConnection, what: str, sql: str) -> None:
    rows = [(i, bool(p)) for i, p in con.execute(sql).fetchall() if i is not None and p is not None]
    planted = [i for i, p in rows if p]
    clean = [i for i, p in rows if not p]
    assert len(planted) >= 3 and len(clean) >= 3, f"{what}: too few actors ({len(planted)} planted, {len(clean)})"
    assert {_shape(i) for i in planted} <= {_shape(i) for i in clean}, f"{what}: a format only planted actors have"
    values = np.array([_number(i) for i, _ in rows], dtype=float)
    y = np.array([p for _, p in rows])
    auc = float(roc_auc_score(y, values))
    tolerance = max(AUC_TOLERANCE, 2.5 * np.sqrt((len(planted) + len(clean) + 1) / (12 * len(planted) * len(clean))))
    assert abs(auc - 0.5) <= tolerance, f"{what}: its number ranks planted actors (ROC-AUC {auc:.3f})"
    lo, hi = min(_number(i) for i in clean), max(_number(i) for i in clean)
    outside = sum(not lo <= _number(i) <= hi for i in planted)
    assert outside <= MAX_OUTSIDE_CLEAN_RANGE, f"{what}: {outside} planted identifiers outside the clean range"


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("bc", "companion_passport_no"),
        ("bc", "traveller_passport_no"),
        ("bc", "vehicle_plate"),
        ("va", "applicant_passport_no"),
        ("va", "recruiter_licence_id"),
    ],
)
def test_identifiers_on_records_share_one_format(con: duckdb.DuckDBPyConnection, table: str, column: str) -> None:
    """Escorts' passports look like family members', network vans' plates like everyone's cars'."""
    values = [v for (v,) in con.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()]
    shapes = {_shape(v) for v in values if re.fullmatch(r"[A-Z-]*\d+", v)}
    assert len(shapes) == 1, f"{table}.{column} has formats {sorted(shapes)}"


def test_record_ids_follow_event_time(con: duckdb.DuckDBPyConnection) -> None:
    """Serial record ids are handed out in event order, so their order carries time and nothing else."""
    rows = con.execute(
        "SELECT record_id, TRY_CAST(inspected_on AS DATE) AS d FROM li WHERE d IS NOT NULL "
        "AND record_id LIKE 'INS0000%' ORDER BY record_id"
    ).fetchall()
    days = np.array([d.toordinal() for _, d in rows])
    assert len(days) > 100 and np.all(np.diff(days) >= 0)
