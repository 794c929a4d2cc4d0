"""The point-in-time views every indicator's SQL reads (``create_views``), over the lake's records as of a date:
registers in force, names linked to entities (exact keys, then entity resolution), applications, inspections,
intermediaries, crossings and the sponsors' petitions. See ``features.build`` for the time rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import duckdb

from data_contracts.contracts import CONTRACTS, INGEST_ORDER, Field
from data_contracts.lake import LATEST_VERSION, Lake
from data_contracts.names import (
    AGENT_ID_PREFIX,
    FOREIGN_RECRUITER_ID_PREFIX,
    legal_name_sql,
    name_key_sql,
    register_name_key,
)
from data_contracts.rules import SQL_TYPES
from features.entity_resolution import resolve_names
from features.filer_resolution import label_name_keys, merge_filers

OVERSTAY_GRACE_DAYS = 60
# Name keys of organisation names that say there is none ('N.A', 'None'): no entity.
NO_NAME_KEYS = ("n a", "na", "none")


def _null_columns(fields: Sequence[Field]) -> str:
    return ", ".join(f'CAST(NULL AS {SQL_TYPES[f.type]}) AS "{f.name}"' for f in fields)


def _records(con: duckdb.DuckDBPyConnection, lake: Lake, record_type: str, as_of: date, event_time: bool) -> str:
    """SQL of the records of ``record_type`` that features as of ``as_of`` may read, with every contract column.

    Known time (the default): of each record's versions, the latest one known before ``as_of`` (``known_on``
    before it; a row with no ``known_on``, only in lakes ingested before the contract had it, counts as known).
    Event time: the latest version of every record, whenever it became known.
    Nothing ingested gives an empty table, and a lake ingested before the contract gained a column reads that
    column as NULL."""
    fields = CONTRACTS[record_type].fields
    sql = lake.current_sql(record_type) if event_time else lake.versions_sql(record_type)
    if sql is None:
        return f"SELECT {_null_columns(fields)} WHERE FALSE"
    have = {row[0] for row in con.execute(f"DESCRIBE {sql}").fetchall()}
    missing = [f for f in fields if f.name not in have]
    sql = f"SELECT *, {_null_columns(missing)} FROM ({sql})" if missing else sql
    if event_time:
        return sql
    known = f"SELECT * FROM ({sql}) WHERE known_on IS NULL OR known_on < DATE '{as_of.isoformat()}'"
    return f"{known} QUALIFY {LATEST_VERSION}" if lake.superseded(record_type) else known


def all_outcomes_sql(con: duckdb.DuckDBPyConnection, lake: Lake) -> str:
    """SQL of the latest version of every enforcement outcome of the lake, whenever decided or known: what labels
    are read from (never a feature)."""
    return _records(con, lake, "enforcement_outcome", date.max, event_time=True)


# SQL of the employer ids an outcome may carry that the views know as such: register numbers and filers (after
# ``create_views``); an employer outcome carrying another id is attached by its names.
KNOWN_EMPLOYER_IDS = """SELECT registration_no FROM raw_organisation WHERE registration_no IS NOT NULL
                        UNION SELECT entity_id FROM filer_register"""


def _in_force(versions: str, entity_ref: str) -> str:
    """The register version in force per ``entity_ref`` among ``versions`` (all before the as-of date): the one
    with the greatest status_since (registered_on when it has none); a later known correction of the same day
    wins, then the greatest record_id (a stable tie-break)."""
    return (
        f"SELECT * FROM {versions} QUALIFY row_number() OVER (PARTITION BY {entity_ref} "
        "ORDER BY coalesce(status_since, registered_on) DESC, known_on DESC NULLS LAST, record_id DESC) = 1"
    )


def _filer_name_statements(a: str) -> list[str]:
    """The names of the filers of the petitions (labour_certification) known before the as-of date and, per key of
    a legal name that is no register name's (a filer whose key is a register name's joins that organisation), the
    day of its first petition (``filer_keys``), for ``merge_filers``."""
    return [
        """CREATE OR REPLACE TEMP VIEW lc_known AS
            SELECT *, coalesce(decided_on, submitted_on, make_date(CAST(fiscal_year AS INTEGER), 9, 30)) AS day
            FROM raw_labour_certification""",
        f"""CREATE OR REPLACE TEMP TABLE filer_names AS
            SELECT name, {legal_name_sql("name")} AS legal_name,
                   {name_key_sql(legal_name_sql("name"))} AS name_key
            FROM (SELECT DISTINCT sponsor_name AS name FROM lc_known WHERE day < {a} AND sponsor_name IS NOT NULL)""",
        "DELETE FROM filer_names WHERE name_key IS NULL",
        f"""CREATE OR REPLACE TEMP TABLE filer_keys AS
            SELECT f.name_key, min(l.day) AS first_day,
                   list_distinct(flatten(list([upper(l.sponsor_region) || ':' || upper(trim(l.sponsor_city)),
                                               'postal:' || trim(l.sponsor_postal_code)]))) AS places
            FROM lc_known l JOIN filer_names f ON f.name = l.sponsor_name
            WHERE l.day < {a} AND f.name_key NOT IN (SELECT name_key FROM employer_name_map) GROUP BY 1""",
    ]


def _filer_statements(a: str) -> list[str]:
    """Employers known by the petitions they filed and by no register entry, after ``merge_filers``: each key of a
    filer's legal name with the entity it resolved to (``filer_register``, in the employer name map), the same over
    every fiscal year. Run before entity resolution, which links the names on other records (debarments, back
    wages, inspections) to these filers as to register entries."""
    return [
        """CREATE OR REPLACE TEMP TABLE filer_register AS
            SELECT e.entity_id, min(f.legal_name) AS name, f.name_key
            FROM filer_names f JOIN filer_entities e USING (name_key) GROUP BY e.entity_id, f.name_key""",
        "INSERT INTO employer_name_map SELECT name_key, entity_id FROM filer_register",
        # The legal name of each name an employer outcome gives (several separated by '|'): entity resolution
        # links them to the filers and the register (entity_resolution.NAME_SOURCES), as the names on petitions.
        f"""CREATE OR REPLACE TEMP TABLE outcome_names AS
            SELECT DISTINCT record_id, {legal_name_sql("trim(part)")} AS name FROM raw_enforcement_outcome,
                   unnest(string_split(entity_name, '|')) t(part)
            WHERE entity_type = 'employer' AND entity_name IS NOT NULL AND decided_on < {a}""",
    ]


def _petition_statements(a: str, s: str) -> list[str]:
    """The views the labour-certification indicators read (features/registry.py), after entity resolution:
    petitions (``lc``), their wages against the peers' (``lc_wage``), the recruiting organisations abroad named
    on petitions (``pr``) and the labour contractor register (``contractor_register``).

    ``eo`` is redefined so that an employer outcome whose ``entity_ref`` names no known employer (none, or an id
    of another source) is attached by name: each of its names (``outcome_names``) through the employer name map,
    which entity resolution has extended."""
    return [
        f"""CREATE OR REPLACE TEMP TABLE outcome_name_keys AS
            SELECT DISTINCT record_id, {name_key_sql(legal_name_sql("name"))} AS name_key FROM outcome_names""",
        """CREATE OR REPLACE TEMP TABLE outcome_name_links AS
            SELECT record_id, min(m.employer_id) AS employer_id
            FROM outcome_name_keys JOIN employer_name_map m USING (name_key) GROUP BY 1""",
        # Entity resolution's 'possibly the same' links (none when it did not run).
        """CREATE TEMP TABLE IF NOT EXISTS possible_links
            (kind VARCHAR, name_key VARCHAR, entity_id VARCHAR, probability DOUBLE)""",
        # Two filers possibly the same (merge_filers): each one's name keys linked to the other, as a name on a
        # record possibly the same as a register entry's.
        """INSERT INTO possible_links SELECT 'employer', name_key, entity_id, probability FROM filer_possible_links
           ORDER BY name_key, probability DESC, entity_id""",
        f"""CREATE OR REPLACE TEMP VIEW eo AS
            SELECT e.* REPLACE (CASE WHEN e.entity_type = 'employer' AND l.employer_id IS NOT NULL
                                      AND (e.entity_ref IS NULL OR e.entity_ref NOT IN ({KNOWN_EMPLOYER_IDS}))
                                     THEN l.employer_id ELSE e.entity_ref END AS entity_ref)
            FROM raw_enforcement_outcome e LEFT JOIN outcome_name_links l USING (record_id)
            WHERE e.decided_on < {a}""",
        f"""CREATE OR REPLACE TEMP TABLE agent_names AS
            SELECT name, {name_key_sql("name")} AS name_key
            FROM (SELECT DISTINCT coalesce(law_firm_name, agent_name) AS name FROM lc_known
                  WHERE day < {a} AND day >= {s} AND coalesce(law_firm_name, agent_name) IS NOT NULL)""",
        # Hourly wage: the offered wage over the hours of its unit; outside USD 0.5-200 an hour the unit is wrong.
        f"""CREATE OR REPLACE TEMP TABLE lc AS
            SELECT l.*, m.employer_id, f.name_key AS sponsor_key, g.name_key AS agent_key,
                   '{AGENT_ID_PREFIX}' || g.name_key AS agent_id,
                   date_diff('day', l.day, {a}) AS age_days,
                   CASE WHEN h.wage BETWEEN 0.5 AND 200 THEN h.wage END AS wage_hourly
            FROM lc_known l
            JOIN filer_names f ON f.name = l.sponsor_name
            LEFT JOIN employer_name_map m ON m.name_key = f.name_key
            LEFT JOIN agent_names g ON g.name = coalesce(l.law_firm_name, l.agent_name)
            CROSS JOIN LATERAL (SELECT CASE WHEN l.declared_wage > 0 THEN l.declared_wage / CASE l.wage_unit
                    WHEN 'hour' THEN 1.0 WHEN 'day' THEN 8.0 WHEN 'week' THEN 40.0 WHEN 'two_weeks' THEN 80.0
                    WHEN 'month' THEN 173.3 WHEN 'year' THEN 2080.0 END END AS wage) h
            WHERE l.day < {a} AND l.day >= {s}""",
        """CREATE OR REPLACE TEMP TABLE lc_wage AS
            WITH w AS (SELECT employer_id, wage_hourly, programme, fiscal_year,
                              coalesce(worksite_region, sponsor_region) AS region FROM lc
                       WHERE wage_hourly IS NOT NULL),
                 p AS (SELECT region, programme, fiscal_year, median(wage_hourly) AS m FROM w GROUP BY ALL)
            SELECT w.employer_id, w.wage_hourly < 0.95 * p.m AS below
            FROM w JOIN p ON p.region IS NOT DISTINCT FROM w.region AND p.programme = w.programme
                 AND p.fiscal_year IS NOT DISTINCT FROM w.fiscal_year""",
        # Recruiting organisations abroad named on petitions (one row per individual recruiter named), dated by the
        # day their list became known (else the day after its fiscal year), in the window; ``staff_key``: the named
        # person's pseudonymised name parts in sort order, so the same person in either order is one key.
        f"""CREATE OR REPLACE TEMP TABLE pr_names AS
            SELECT name, name_key FROM (SELECT name, {name_key_sql("name")} AS name_key FROM (
                SELECT DISTINCT recruiter_name AS name FROM raw_petition_recruiter WHERE recruiter_name IS NOT NULL))
            WHERE name_key IS NOT NULL AND name_key NOT IN ({", ".join(f"'{k}'" for k in NO_NAME_KEYS)})""",
        f"""CREATE OR REPLACE TEMP TABLE pr AS
            SELECT p.application_id, k.name_key, '{FOREIGN_RECRUITER_ID_PREFIX}' || k.name_key AS recruiter_id,
                   CASE WHEN n.last IS NULL OR n.first IS NULL THEN coalesce(n.last, n.first)
                        ELSE least(n.last, n.first) || ' ' || greatest(n.last, n.first) END AS staff_key
            FROM raw_petition_recruiter p JOIN pr_names k ON k.name = p.recruiter_name
            CROSS JOIN LATERAL (SELECT nullif(p.staff_last_name, '') AS last, nullif(p.staff_first_name, '') AS first,
                                       coalesce(p.known_on, make_date(CAST(p.fiscal_year AS INTEGER), 10, 1)) AS day) n
            WHERE n.day < {a} AND n.day >= {s}""",
        # Labour contractors certified on a register (agency_type labour_contractor) before the as-of date.
        f"""CREATE OR REPLACE TEMP TABLE contractor_register AS
            SELECT DISTINCT {name_key_sql(legal_name_sql("name"))} AS name_key FROM raw_recruiter
            WHERE agency_type = 'labour_contractor' AND name IS NOT NULL
              AND coalesce(licence_valid_from, registered_on) < {a}""",
    ]


def _register_statements(a: str) -> list[str]:
    """Register versions in force on the as-of date and the exact name maps of organisations and recruiters."""
    return [
        # Register versions that took effect before the as-of date; org / registry: the one in force on it.
        f"""CREATE OR REPLACE TEMP VIEW org_versions AS SELECT * FROM raw_organisation
            WHERE registered_on < {a} AND coalesce(status_since, registered_on) < {a}""",
        f"CREATE OR REPLACE TEMP TABLE org AS {_in_force('org_versions', 'registration_no')}",
        f"CREATE OR REPLACE TEMP VIEW eo AS SELECT * FROM raw_enforcement_outcome WHERE decided_on < {a}",
        # Every name an organisation was registered under before the as-of date, and its comparison key (names
        # without one left out: never merged); entity resolution refines this map.
        f"""CREATE OR REPLACE TEMP TABLE employer_name_map AS
            SELECT name_key, min(registration_no) AS employer_id
            FROM (SELECT {name_key_sql("name")} AS name_key, registration_no FROM org_versions)
            WHERE name_key IS NOT NULL GROUP BY 1""",
        f"""CREATE OR REPLACE TEMP VIEW registry_versions AS SELECT * FROM raw_recruiter
            WHERE registered_on < {a} AND coalesce(status_since, registered_on) < {a}""",
        f"CREATE OR REPLACE TEMP TABLE registry AS {_in_force('registry_versions', 'recruiter_ref')}",
        f"""CREATE OR REPLACE TEMP TABLE recruiter_name_map AS
            SELECT name_key, min(recruiter_ref) AS recruiter_id
            FROM (SELECT {name_key_sql("name")} AS name_key, recruiter_ref FROM registry_versions)
            WHERE name_key IS NOT NULL GROUP BY 1""",
        """CREATE OR REPLACE TEMP TABLE recruiter_licence_map AS
            SELECT licence_id, min(recruiter_ref) AS recruiter_id FROM registry_versions
            WHERE licence_id IS NOT NULL GROUP BY 1""",
    ]


def _application_statements(a: str, s: str) -> list[str]:
    """Visa applications in the window (``va``), each linked to its employer and recruiter by the name maps."""
    return [
        # Name keys of the distinct names on applications, computed once per name instead of once per row: the
        # distinct names are materialised first (in one statement DuckDB pushes the key's filter below the
        # DISTINCT and runs the key on every row). A name without a key is left out, so it links to no employer
        # and makes no unregistered recruiter.
        """CREATE OR REPLACE TEMP TABLE va_name_keys AS
            SELECT DISTINCT sponsor_name AS name FROM raw_visa_application WHERE sponsor_name IS NOT NULL
            UNION SELECT DISTINCT recruiter_name FROM raw_visa_application WHERE recruiter_name IS NOT NULL""",
        f"""CREATE OR REPLACE TEMP TABLE va_name_keys AS
            SELECT name, name_key FROM (SELECT name, {name_key_sql("name")} AS name_key FROM va_name_keys)
            WHERE name_key IS NOT NULL""",
        f"""CREATE OR REPLACE TEMP TABLE va AS
            SELECT v.application_id,
                   v.post_id,
                   v.desk_officer_id,
                   v.visa_class,
                   v.applicant_age_band,
                   v.occupation,
                   v.worksite_country,
                   v.worksite_region,
                   v.declared_wage,
                   v.wage_unit,
                   v.submitted_at,
                   v.decided_at,
                   v.decision,
                   v.valid_until,
                   v.document_check_flag,
                   v.expedited,
                   v.refusal_overturned,
                   coalesce(CASE WHEN v.sponsor_registration_no IN (SELECT registration_no FROM org)
                                 THEN v.sponsor_registration_no END, en.employer_id) AS employer_id,
                   coalesce(lm.recruiter_id, rn.recruiter_id,
                            CASE WHEN rk.name_key IS NOT NULL THEN 'unregistered:' || rk.name_key END) AS recruiter_id,
                   v.post_id || ':' || v.desk_officer_id AS desk_id,
                   v.submitted_at AS sub_ts,
                   CASE WHEN v.decided_at < {a} THEN v.decided_at END AS dec_ts,
                   v.decided_at < {a} AND v.decision IN ('approved', 'refused') AS decided,
                   v.decided_at < {a} AND v.decision = 'approved' AS approved,
                   CASE WHEN v.declared_wage > 0 THEN v.declared_wage / CASE v.wage_unit WHEN 'hour' THEN 1.0
                        WHEN 'day' THEN 8.0 WHEN 'week' THEN 40.0 WHEN 'month' THEN 173.3 WHEN 'year' THEN 2080.0
                        END END AS wage_hourly
            FROM raw_visa_application v
            LEFT JOIN va_name_keys sk ON sk.name = v.sponsor_name
            LEFT JOIN employer_name_map en ON en.name_key = sk.name_key
            LEFT JOIN recruiter_licence_map lm ON lm.licence_id = v.recruiter_licence_id
            LEFT JOIN va_name_keys rk ON rk.name = v.recruiter_name
            LEFT JOIN recruiter_name_map rn ON rn.name_key = rk.name_key
            WHERE v.submitted_at < {a} AND v.submitted_at >= {s}""",
    ]


def _inspection_statements(a: str, s: str) -> list[str]:
    """Labour inspections in the window (``li``) and the employers sanctioned, referred or found deceiving."""
    return [
        f"""CREATE OR REPLACE TEMP TABLE li AS
            SELECT l.*, l.organisation_registration_no AS employer_id, l.inspected_on AS day,
                   l.labour_contractor_name AS contractor_name,
                   coalesce(r.licence_status = 'active' AND coalesce(r.licence_valid_to, {a}) >= {a}, false)
                       AS contractor_licensed,
                   (l.finding_abuse_of_vulnerability OR l.finding_deception OR l.finding_restriction_of_movement
                    OR l.finding_isolation OR l.finding_physical_sexual_violence OR l.finding_intimidation_threats
                    OR l.finding_retention_of_identity_documents OR l.finding_withholding_of_wages
                    OR l.finding_debt_bondage OR l.finding_abusive_working_living_conditions
                    OR l.finding_excessive_overtime) IS TRUE AS any_finding,
                   l.outcome IN ('forced_labour_referral', 'prosecution') AS referred
            FROM raw_labour_inspection l
            LEFT JOIN recruiter_name_map rn ON rn.name_key = {name_key_sql("l.labour_contractor_name")}
            LEFT JOIN registry r ON r.recruiter_ref = rn.recruiter_id
            WHERE l.inspected_on < {a} AND l.inspected_on >= {s}""",
        """CREATE OR REPLACE TEMP TABLE sanctioned AS
            SELECT entity_ref AS employer_id, min(decided_on) AS day FROM eo
            WHERE entity_type = 'employer' AND kind IN ('substantiated_forced_labour', 'debarment', 'conviction')
            GROUP BY 1""",
        """CREATE OR REPLACE TEMP TABLE bad_employers AS
            SELECT employer_id FROM li WHERE referred UNION SELECT employer_id FROM sanctioned""",
        """CREATE OR REPLACE TEMP TABLE deceived AS
            SELECT DISTINCT employer_id FROM li WHERE finding_deception OR finding_withholding_of_wages""",
    ]


def _intermediary_statements(a: str) -> list[str]:
    """Organisation links, recruiters (registered or seen), placements, fees and the flags applications carry."""
    return [
        # Organisations sharing a phone, address or (pseudonymised) director.
        """CREATE OR REPLACE TEMP TABLE org_contacts AS
            SELECT registration_no, 'phone' AS link, phone AS value FROM org WHERE phone IS NOT NULL
            UNION ALL SELECT registration_no, 'address', lower(address) FROM org WHERE address IS NOT NULL
            UNION ALL SELECT registration_no, 'director', trim(d) FROM org, unnest(string_split(directors, ';')) t(d)
                      WHERE directors IS NOT NULL AND trim(d) <> ''""",
        """CREATE OR REPLACE TEMP TABLE org_links AS
            SELECT DISTINCT a.registration_no, b.registration_no AS other_id, a.link
            FROM org_contacts a JOIN org_contacts b ON a.link = b.link AND a.value = b.value
            WHERE a.registration_no <> b.registration_no""",
        f"""CREATE OR REPLACE TEMP TABLE recruiters AS
            WITH seen AS (SELECT DISTINCT recruiter_id FROM va WHERE recruiter_id IS NOT NULL),
                 contact AS (SELECT recruiter_ref, phone AS value FROM registry WHERE phone IS NOT NULL
                             UNION ALL SELECT recruiter_ref, trim(d) FROM registry,
                             unnest(string_split(directors, ';')) t(d) WHERE directors IS NOT NULL),
                 shared AS (SELECT DISTINCT a.recruiter_ref FROM contact a JOIN contact b
                            ON a.value = b.value AND a.recruiter_ref <> b.recruiter_ref)
            SELECT r.recruiter_ref AS recruiter_id, TRUE AS registered,
                   r.licence_status = 'active' AND coalesce(r.licence_valid_to, {a}) >= {a} AS licence_valid,
                   r.declared_fee_to_workers_usd AS declared_fee, r.agency_type,
                   r.registered_on > {a} - INTERVAL 730 DAY AS young,
                   r.recruiter_ref IN (SELECT recruiter_ref FROM shared) AS shares_contact
            FROM registry r
            UNION ALL
            SELECT recruiter_id, FALSE, FALSE, NULL, NULL, NULL, NULL FROM seen
            WHERE recruiter_id NOT IN (SELECT recruiter_ref FROM registry)""",
        """CREATE OR REPLACE TEMP TABLE placements AS
            SELECT DISTINCT recruiter_id, employer_id FROM va
            WHERE approved AND recruiter_id IS NOT NULL AND employer_id IS NOT NULL""",
        # An employer's main recruiter: the most frequent, ties to the first id (a plain mode breaks ties by scan
        # order, which differs from run to run on several threads).
        """CREATE OR REPLACE TEMP TABLE main_recruiter AS
            SELECT employer_id, mode(recruiter_id ORDER BY recruiter_id) AS recruiter_id FROM va
            WHERE employer_id IS NOT NULL AND recruiter_id IS NOT NULL GROUP BY 1""",
        """CREATE OR REPLACE TEMP TABLE fees AS
            SELECT m.recruiter_id, l.recruitment_fee_reported_usd AS fee
            FROM li l JOIN main_recruiter m USING (employer_id)
            WHERE l.recruitment_fee_reported_usd IS NOT NULL""",
        # Risky intermediaries (for E13): unlicensed, lapsed or sanctioned.
        """CREATE OR REPLACE TEMP TABLE risky_recruiters AS
            SELECT recruiter_id FROM recruiters WHERE NOT licence_valid
            UNION SELECT entity_ref FROM eo WHERE entity_type = 'recruiter' AND kind <> 'complaint'""",
        """CREATE OR REPLACE TEMP TABLE places_work AS
            SELECT DISTINCT recruiter_id FROM va
            WHERE visa_class IN ('work', 'seasonal_agri', 'domestic_worker', 'entertainer')""",
        # Desks approving flagged files far more than others (top decile; R12).
        """CREATE OR REPLACE TEMP TABLE desk_flag AS
            WITH d AS (SELECT desk_id, avg(document_check_flag::INT) AS r FROM va WHERE approved GROUP BY 1
                       HAVING count(*) >= 20)
            SELECT desk_id, r >= (SELECT quantile_cont(r, 0.9) FROM d) AS high FROM d""",
        """CREATE OR REPLACE TEMP TABLE va2 AS
            SELECT v.*, v.recruiter_id IN (SELECT recruiter_id FROM risky_recruiters) AS recruiter_risky,
                   v.recruiter_id IN (SELECT recruiter_id FROM places_work) AS recruiter_places_work,
                   coalesce(f.high, false) AS desk_flag_rate_high
            FROM va v LEFT JOIN desk_flag f USING (desk_id)""",
        "DROP TABLE va",
        "ALTER TABLE va2 RENAME TO va",
    ]


def _crossing_statements(a: str, s: str) -> list[str]:
    """Border crossings in the window (``bc``), overstays and the high-risk worksites of inspections."""
    return [
        f"""CREATE OR REPLACE TEMP TABLE bc AS
            SELECT b.border_post_id,
                   b.officer_id,
                   b.shift,
                   b.direction,
                   b.traveller_id,
                   b.traveller_age_band,
                   b.visa_application_id,
                   b.document_check_result,
                   b.companion_id,
                   b.vehicle_id,
                   b.secondary_referral,
                   b.guardian_present,
                   b.destination_address_verified,
                   b.document_later_found_fraudulent AND (b.fraud_found_on IS NULL OR b.fraud_found_on < {a})
                       AS document_later_found_fraudulent,
                   b.border_post_id || ':' || b.officer_id AS officer_key, b.crossed_at AS ts,
                   b.outcome = 'admitted' AS admitted,
                   b.document_check_result = 'flagged' AS anomalous,
                   v.recruiter_id, v.employer_id
            FROM raw_border_crossing b LEFT JOIN va v ON v.application_id = b.visa_application_id
            WHERE b.crossed_at < {a} AND b.crossed_at >= {s}""",
        f"""CREATE OR REPLACE TEMP TABLE stays AS
            WITH moves AS (SELECT visa_application_id AS application_id,
                                  bool_or(direction = 'in' AND admitted) AS entered,
                                  bool_or(direction = 'out') AS exited
                           FROM bc WHERE visa_application_id IS NOT NULL GROUP BY 1)
            SELECT v.application_id, v.employer_id, v.recruiter_id, NOT m.exited AS overstay
            FROM va v JOIN moves m USING (application_id)
            WHERE v.approved AND m.entered AND v.valid_until < {a} - INTERVAL {OVERSTAY_GRACE_DAYS} DAY""",
        """CREATE OR REPLACE TEMP TABLE high_risk_sites AS
            SELECT DISTINCT entity_ref AS employer_id FROM eo WHERE entity_type = 'employer' AND kind = 'complaint'""",
        """CREATE OR REPLACE TEMP TABLE li2 AS
            SELECT a.*, (a.employer_id IN (SELECT employer_id FROM high_risk_sites)
                         OR EXISTS (SELECT 1 FROM li b WHERE b.employer_id = a.employer_id AND b.referred
                                    AND b.inspector_id <> a.inspector_id)) AS high_risk_site
            FROM li a""",
        "DROP TABLE li",
        "ALTER TABLE li2 RENAME TO li",
    ]


def create_views(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    as_of: date,
    window_days: int,
    resolve: bool = True,
    event_time: bool = False,
) -> None:
    """The point-in-time views every indicator's SQL reads (see the module docstring).

    event_time: records cut by their event dates alone, whenever they became known (for debugging; the default
    also drops every record known on or after ``as_of``). Beside the views, for labels only: the name keys of the
    employer outcomes of every date (``filer_resolution.label_name_keys``) and their links (``label_links``),
    which ``filer_resolution.outcome_aliases`` reads."""
    register_name_key(con)
    since = as_of - timedelta(days=window_days)
    a, s = f"DATE '{as_of.isoformat()}'", f"DATE '{since.isoformat()}'"
    for record_type in INGEST_ORDER:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW raw_{record_type} AS {_records(con, lake, record_type, as_of, event_time)}"
        )
    # Names on records are linked to register entries: exact keys first, then Splink (features/entity_resolution)
    # adds the variants it resolves above its merge threshold, before any record is attached to an entity.
    for statement in _register_statements(a) + _filer_name_statements(a):
        con.execute(statement)
    merge_filers(con, "filer_keys", link=resolve)
    for statement in _filer_statements(a):
        con.execute(statement)
    labels = label_name_keys(con, all_outcomes_sql(con, lake), KNOWN_EMPLOYER_IDS)
    if resolve:  # off only to measure exact matching alone (tests/features/test_entity_resolution.py)
        resolve_names(con, labels=labels)
    records = _application_statements(a, s) + _inspection_statements(a, s)
    records += _intermediary_statements(a) + _crossing_statements(a, s)
    for statement in _petition_statements(a, s) + records:
        con.execute(statement)
