"""The export as the agencies' systems know it: every row known from the end of its export batch's quarter, the
recruiter register as its dated history, fraud findings with the day they were established."""

from __future__ import annotations

from pathlib import Path

import duckdb

from simulator.mess import quarter_ends

MALFORMED_FUTURE = "2099-01-01"  # the mess's future dates (simulator/mess.py): no event date, left out
EVENT_DATES = {  # export table -> its record's event date (the latest one the record carries)
    "organisation": "registered_on",
    "recruiter": "status_since",
    "visa_application": "coalesce(decided_at, submitted_at)",
    "border_crossing": "crossed_at",
    "labour_inspection": "inspected_on",
    "enforcement_outcome": "decided_on",
}


def _export(world: Path, name: str) -> str:
    return f"read_parquet('{world / 'export' / name}/*.parquet', union_by_name=true)"


def test_every_row_is_known_at_its_batch_end_never_before_its_event(small_world: Path) -> None:
    con = duckdb.connect()
    ends = set(quarter_ends(2022, 12).to_pylist())
    for name, event in EVENT_DATES.items():
        rows, early, off_quarter = con.execute(
            f"""SELECT count(*),
                       count_if(TRY_CAST(known_on AS DATE) < TRY_CAST({event} AS TIMESTAMP)::DATE
                                AND TRY_CAST({event} AS TIMESTAMP) < TIMESTAMP '{MALFORMED_FUTURE}'),
                       count_if(known_on NOT IN ({", ".join(f"'{d}'" for d in sorted(ends))}))
                FROM {_export(small_world, name)}"""
        ).fetchone()  # type: ignore[misc]
        assert rows > 0 and early == 0 and off_quarter == 0, (name, rows, early, off_quarter)


def test_recruiter_register_shows_a_revocation_only_from_its_day(small_world: Path) -> None:
    con = duckdb.connect()
    reg, eo = _export(small_world, "recruiter"), _export(small_world, "enforcement_outcome")
    revocations = con.execute(
        f"""SELECT e.entity_ref, TRY_CAST(e.decided_on AS DATE) AS day FROM {eo} e
            WHERE e.entity_type = 'recruiter' AND e.kind = 'licence_revocation' AND day IS NOT NULL"""
    ).fetchall()
    assert len(revocations) > 5
    found = 0
    for ref, day in revocations:
        versions = con.execute(
            f"""SELECT licence_status, TRY_CAST(status_since AS DATE) AS since, TRY_CAST(known_on AS DATE)
                FROM {reg} WHERE recruiter_ref = ? AND since IS NOT NULL ORDER BY since""",
            [ref],
        ).fetchall()
        revoked = [(since, known) for status, since, known in versions if status == "revoked"]
        if any(since == day for since, _ in revoked):
            found += 1
        before = [status for status, since, _ in versions if since < day]
        assert before and before[0] in ("active", "none", "suspended", "expired"), (ref, versions)
        assert all(known >= since for since, known in revoked)
    assert found >= 0.8 * len(revocations)  # the rest were revoked, expired or lapsed before (or lost to mess)


def test_register_versions_are_dated_history(small_world: Path) -> None:
    con = duckdb.connect()
    per_ref, versions, statuses = con.execute(
        f"""SELECT count(DISTINCT recruiter_ref), count(*), count(DISTINCT licence_status)
            FROM {_export(small_world, "recruiter")}"""
    ).fetchone()  # type: ignore[misc]
    assert versions > 1.2 * per_ref and statuses >= 4
    before_registration = con.execute(
        f"""SELECT count(*) FROM {_export(small_world, "recruiter")}
            WHERE TRY_CAST(status_since AS DATE) < TRY_CAST(registered_on AS DATE)"""
    ).fetchone()[0]  # type: ignore[index]
    assert before_registration == 0


def test_fraud_findings_come_after_the_crossing(small_world: Path) -> None:
    con = duckdb.connect()
    found, before, delay = con.execute(
        f"""SELECT count(*),
                   count_if(TRY_CAST(fraud_found_on AS DATE) < TRY_CAST(crossed_at AS TIMESTAMP)::DATE),
                   avg(date_diff('day', TRY_CAST(crossed_at AS TIMESTAMP)::DATE, TRY_CAST(fraud_found_on AS DATE)))
            FROM {_export(small_world, "border_crossing")}
            WHERE document_later_found_fraudulent IS NOT NULL AND TRY_CAST(fraud_found_on AS DATE) IS NOT NULL
              AND TRY_CAST(fraud_found_on AS DATE) < DATE '{MALFORMED_FUTURE}'"""
    ).fetchone()  # type: ignore[misc]
    assert found > 50 and before == 0 and 30 < delay < 365
