"""Views over a simulated world's export (deduplicated, parsed) and truth, for the queries of
indicator_queries."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from data_contracts.contracts import ILO_INDICATORS
from simulator.config import SimulationConfig

_FINDINGS = ILO_INDICATORS
_ANY_FINDING = " OR ".join(f"coalesce(finding_{k}, false)" for k in _FINDINGS)


def setup_sql(world: Path) -> list[str]:
    """Views over the export (deduplicated, parsed) and the truth used to split planted from clean."""
    cfg = SimulationConfig().world
    start = date.fromisoformat(cfg.start_date)
    end = start + timedelta(days=cfg.years * 365)
    return [
        f"CREATE MACRO window_start() AS DATE '{start.isoformat()}'",
        f"CREATE MACRO window_end() AS DATE '{end.isoformat()}'",
        *_truth_views(world / "truth"),
        *_export_tables(world / "export"),
        *_derived_views(),
    ]


def _truth_views(t: Path) -> list[str]:
    """Truth: planted or clean, and name variants -> entity."""
    return [
        f"CREATE VIEW t_emp AS SELECT registration_no, exploitative AS planted "
        f"FROM read_parquet('{t}/employers/*.parquet')",
        f"CREATE VIEW t_rec AS SELECT recruiter_ref, abusive AS planted FROM read_parquet('{t}/recruiters.parquet')",
        f"CREATE VIEW t_desk AS SELECT desk_ref, corrupt AS planted FROM read_parquet('{t}/visa_desks.parquet')",
        f"CREATE VIEW t_off AS SELECT officer_ref, corrupt AS planted FROM read_parquet('{t}/border_officers.parquet')",
        f"CREATE VIEW t_insp AS SELECT inspector_badge_no, corrupt AS planted "
        f"FROM read_parquet('{t}/inspectors.parquet')",
        f"CREATE VIEW rec_name AS SELECT name_variant AS name, any_value(recruiter_ref) AS recruiter_ref "
        f"FROM read_parquet('{t}/recruiter_names.parquet') GROUP BY 1 "
        f"HAVING count(DISTINCT recruiter_ref) = 1",
        f"CREATE VIEW emp_name AS SELECT name_variant AS name, any_value(registration_no) AS registration_no "
        f"FROM read_parquet('{t}/employer_names/*.parquet') GROUP BY 1 "
        f"HAVING count(DISTINCT registration_no) = 1",
    ]


def _export_tables(x: Path) -> list[str]:
    """The export, parsed, with the entity each record names."""

    def export(name: str) -> str:  # exact duplicates are dropped
        return f"SELECT DISTINCT * FROM read_parquet('{x}/{name}/*.parquet', union_by_name=true)"

    return [
        f"CREATE TABLE org AS {export('organisation')}",
        f"CREATE TABLE reg AS {export('recruiter')}",
        f"""CREATE TABLE va AS
            SELECT v.*, v.post_id || ':' || v.desk_officer_id AS desk_ref,
                   TRY_CAST(v.submitted_at AS TIMESTAMP) AS sub_ts,
                   TRY_CAST(v.decided_at AS TIMESTAMP) AS dec_ts,
                   TRY_CAST(v.valid_until AS DATE) AS valid_to,
                   coalesce(v.sponsor_registration_no, en.registration_no) AS emp_ref,
                   rn.recruiter_ref AS rec_ref,
                   CASE WHEN v.declared_wage > 0 THEN v.declared_wage / CASE v.wage_unit WHEN 'hour' THEN 1.0
                        WHEN 'week' THEN 40.0 WHEN 'month' THEN 173.3 END END AS wage_hourly,
                   v.decision = 'approved' AS approved,
                   v.decision IN ('approved', 'refused') AS decided,
                   regexp_matches(v.post_id, '^[A-Z]{{3}}-[A-Z]{{3}}$') AS post_ok,
                   v.visa_class IN ('work', 'seasonal_agri', 'domestic_worker', 'entertainer', 'tourist',
                                    'business', 'student', 'spouse', 'other') AS class_ok
            FROM ({export("visa_application")}) v
            LEFT JOIN emp_name en ON en.name = v.sponsor_name
            LEFT JOIN rec_name rn ON rn.name = v.recruiter_name""",
        f"""CREATE TABLE bc AS
            SELECT b.*, b.border_post_id || ':' || b.officer_badge_no AS officer_ref,
                   TRY_CAST(b.crossed_at AS TIMESTAMP) AS ts, b.outcome = 'admitted' AS admitted
            FROM ({export("border_crossing")}) b""",
        f"""CREATE TABLE li AS
            SELECT l.*, l.organisation_registration_no AS emp_ref, TRY_CAST(l.inspected_on AS DATE) AS day,
                   ({_ANY_FINDING}) AS any_finding,
                   l.outcome IN ('forced_labour_referral', 'prosecution') AS referred
            FROM ({export("labour_inspection")}) l""",
        f"CREATE TABLE eo AS SELECT e.*, TRY_CAST(e.decided_on AS DATE) AS day "
        f"FROM ({export('enforcement_outcome')}) e",
    ]


def _derived_views() -> list[str]:
    """Employers shown as exploitative, overstays and high-risk inspections, from the export tables."""
    return [
        # Employers the export shows as exploitative: a forced-labour referral or a sanction.
        """CREATE VIEW bad_emp AS
            SELECT emp_ref FROM li WHERE referred
            UNION SELECT entity_ref FROM eo WHERE entity_type = 'employer'
              AND kind IN ('substantiated_forced_labour', 'debarment', 'conviction')""",
        # Approved applicants who entered, whose visa ran out (60-day grace) before the window end.
        """CREATE VIEW stays AS
            WITH moves AS (
                SELECT visa_application_id AS application_id,
                       bool_or(direction = 'in' AND admitted) AS entered, bool_or(direction = 'out') AS exited
                FROM bc WHERE visa_application_id IS NOT NULL GROUP BY 1)
            SELECT v.application_id, v.emp_ref, v.rec_ref, v.desk_ref, NOT m.exited AS overstay
            FROM va v JOIN moves m USING (application_id)
            WHERE v.approved AND m.entered AND v.valid_to <= window_end() - INTERVAL 60 DAY""",
        # Inspections at high-risk worksites: a complaint on record, or another inspector's referral.
        """CREATE VIEW li_high_risk AS
            SELECT a.* FROM li a
            WHERE a.emp_ref IN (SELECT entity_ref FROM eo
                                WHERE entity_type = 'employer' AND kind = 'complaint')
               OR EXISTS (SELECT 1 FROM li b WHERE b.emp_ref = a.emp_ref AND b.referred
                          AND b.inspector_badge_no <> a.inspector_badge_no)""",
    ]
