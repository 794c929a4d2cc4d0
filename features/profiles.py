"""Who an entity is and where it operates: display name, country, region, sector and address (the profile), and
the scope keys the service filters users by (regions, posts, countries, employers served).

Profiles are descriptive only: they never enter a model (DESIGN principle 2 concerns applicants; these are
attributes of organisations and desks) but the fairness section and the worklists group by them. All SQL reads
the point-in-time views of ``features.build.create_views``, so a profile knows nothing after the as-of date.

The address is an organisation's own, as its records give it: the register version in force on the as-of date
(employers, recruiters), else the sponsor's city, region and postal code on its latest petition in the window; a
recruiting organisation abroad named on petitions, the city, region, postal code and country they give for it.
Official desks have none, and no address of a person (an applicant, officer, director or named agent) is read.
"""

from __future__ import annotations

from typing import Literal

import duckdb
import pyarrow as pa

from features.registry import EntityType

ScopeKind = Literal["country", "region", "post", "employer"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("country", "region", "post", "employer")

# One row per entity: entity_id, name, country, region, sector, address (NULL where the records do not say). The most
# frequent region or country wins; ties go to the first in sort order (``mode(x ORDER BY x)``: a plain ``mode``
# breaks ties by scan order, which differs from run to run on several threads).
PROFILE_SQL: dict[EntityType, str] = {
    "employer": """
        WITH reg AS (SELECT registration_no AS entity_id, min(name) AS name, min(country) AS country,
                            min(region) AS region, min(sector) AS sector, min(address) AS address FROM org GROUP BY 1),
             site AS (SELECT employer_id AS entity_id, min(worksite_name) AS name,
                             mode(worksite_region ORDER BY worksite_region) AS region
                      FROM li WHERE employer_id IS NOT NULL GROUP BY 1),
             filed AS (SELECT employer_id AS entity_id, mode(worksite_country ORDER BY worksite_country) AS country,
                              mode(worksite_region ORDER BY worksite_region) AS region
                       FROM va WHERE employer_id IS NOT NULL GROUP BY 1),
             petitioned AS (SELECT employer_id AS entity_id, mode(sponsor_name ORDER BY sponsor_name) AS name,
                                   mode(sponsor_region ORDER BY sponsor_region) AS region
                            FROM lc WHERE employer_id IS NOT NULL GROUP BY 1),
             sponsor_address AS (SELECT employer_id AS entity_id,
                                        first(address ORDER BY day DESC, record_id DESC) AS address
                                 FROM (SELECT employer_id, day, record_id,
                                              nullif(concat_ws(', ', sponsor_city, sponsor_region, sponsor_postal_code),
                                                     '') AS address
                                       FROM lc WHERE employer_id IS NOT NULL)
                                 WHERE address IS NOT NULL GROUP BY 1)
        SELECT u.entity_id, coalesce(r.name, s.name, p.name) AS name, coalesce(r.country, f.country) AS country,
               coalesce(r.region, s.region, f.region, p.region) AS region, r.sector,
               coalesce(r.address, sa.address) AS address
        FROM universe u LEFT JOIN reg r USING (entity_id) LEFT JOIN site s USING (entity_id)
        LEFT JOIN filed f USING (entity_id) LEFT JOIN petitioned p USING (entity_id)
        LEFT JOIN sponsor_address sa USING (entity_id)""",
    "recruiter": """
        WITH reg AS (SELECT recruiter_ref AS entity_id, min(name) AS name, min(country) AS country,
                            min(agency_type) AS sector, min(address) AS address FROM registry GROUP BY 1),
             placed AS (SELECT recruiter_id AS entity_id, mode(worksite_region ORDER BY worksite_region) AS region
                        FROM va WHERE recruiter_id IS NOT NULL GROUP BY 1),
             filing AS (SELECT agent_id AS entity_id, mode(coalesce(law_firm_name, agent_name) ORDER BY
                                   coalesce(law_firm_name, agent_name)) AS name,
                               mode(agent_region ORDER BY agent_region) AS region
                        FROM lc WHERE agent_id IS NOT NULL GROUP BY 1),
             named AS (SELECT k.recruiter_id AS entity_id, r.recruiter_name AS name, r.recruiter_country AS country,
                              r.recruiter_region AS region,
                              nullif(concat_ws(', ', r.recruiter_city, r.recruiter_region, r.recruiter_postal_code,
                                               r.recruiter_country), '') AS address
                       FROM raw_petition_recruiter r JOIN pr_names n ON n.name = r.recruiter_name
                       JOIN (SELECT DISTINCT application_id, name_key, recruiter_id FROM pr) k
                         ON k.application_id = r.application_id AND k.name_key = n.name_key),
             abroad AS (SELECT entity_id, mode(name ORDER BY name) AS name, mode(country ORDER BY country) AS country,
                               mode(region ORDER BY region) AS region, mode(address ORDER BY address) AS address
                        FROM named GROUP BY 1)
        SELECT u.entity_id,
               coalesce(r.name, a.name, b.name, replace(u.entity_id, 'unregistered:', '')) AS name,
               coalesce(r.country, b.country) AS country, coalesce(p.region, a.region, b.region) AS region,
               coalesce(r.sector, CASE WHEN a.entity_id IS NOT NULL THEN 'petition_agent' END,
                        CASE WHEN b.entity_id IS NOT NULL THEN 'recruiter_abroad' END, 'unregistered') AS sector,
               coalesce(r.address, b.address) AS address
        FROM universe u LEFT JOIN reg r USING (entity_id) LEFT JOIN placed p USING (entity_id)
        LEFT JOIN filing a USING (entity_id) LEFT JOIN abroad b USING (entity_id)""",
    "visa_desk": """
        WITH c AS (SELECT desk_id AS entity_id, mode(worksite_country ORDER BY worksite_country) AS country
                   FROM va GROUP BY 1)
        SELECT u.entity_id, 'visa desk ' || u.entity_id AS name, c.country, NULL::VARCHAR AS region,
               'visa_desk' AS sector, NULL::VARCHAR AS address
        FROM universe u LEFT JOIN c USING (entity_id)""",
    "border_post": """
        SELECT u.entity_id, 'border desk ' || u.entity_id AS name, NULL::VARCHAR AS country,
               NULL::VARCHAR AS region, 'border_post' AS sector, NULL::VARCHAR AS address
        FROM universe u""",
    "inspector": """
        WITH r AS (SELECT inspector_id AS entity_id, mode(worksite_region ORDER BY worksite_region) AS region
                   FROM li GROUP BY 1)
        SELECT u.entity_id, 'inspector ' || u.entity_id AS name, NULL::VARCHAR AS country, r.region,
               'inspectorate' AS sector, NULL::VARCHAR AS address
        FROM universe u LEFT JOIN r USING (entity_id)""",
}

# Scope keys: (entity_id, kind, value) rows; a user sees an entity when one of its keys is in the user's
# jurisdictions (or, for supply-chain auditors, its employer key is in their portfolio). Each entry: (entity
# column, key kind, value column, view); a row with either column NULL gives no key.
SCOPE_KEYS: dict[EntityType, tuple[tuple[str, str, str, str], ...]] = {
    "employer": (
        ("entity_id", "employer", "entity_id", "universe"),
        ("registration_no", "region", "region", "org"),
        ("registration_no", "country", "country", "org"),
        ("employer_id", "region", "worksite_region", "li"),
        ("employer_id", "region", "worksite_region", "va"),
        ("employer_id", "post", "post_id", "va"),
        ("employer_id", "region", "sponsor_region", "lc"),
        ("employer_id", "region", "worksite_region", "lc"),
    ),
    "recruiter": (
        ("recruiter_ref", "country", "country", "registry"),
        ("recruiter_id", "region", "worksite_region", "va"),
        ("recruiter_id", "post", "post_id", "va"),
        ("recruiter_id", "employer", "employer_id", "va"),
        ("agent_id", "region", "agent_region", "lc"),
        ("agent_id", "region", "worksite_region", "lc"),
        ("agent_id", "employer", "employer_id", "lc"),
    ),
    "visa_desk": (("desk_id", "post", "post_id", "va"), ("desk_id", "country", "worksite_country", "va")),
    "border_post": (("officer_key", "post", "border_post_id", "bc"),),
    "inspector": (("inspector_id", "region", "worksite_region", "li"),),
}


def scope_sql(entity: EntityType) -> str:
    """The union of ``entity``'s scope keys (``SCOPE_KEYS``) as one query of (entity_id, kind, value)."""
    return " UNION ".join(
        f"SELECT {column} AS entity_id, '{kind}' AS kind, {value} AS value FROM {view} "
        f"WHERE {column} IS NOT NULL AND {value} IS NOT NULL"
        for column, kind, value, view in SCOPE_KEYS[entity]
    )


def entity_profile(con: duckdb.DuckDBPyConnection, entity: EntityType) -> pa.Table:
    """Profile rows of the entities in the ``universe`` temp table (see ``features.build.compute_entity``)."""
    return con.sql(f"SELECT * FROM ({PROFILE_SQL[entity]}) ORDER BY entity_id").to_arrow_table()


def entity_scope(con: duckdb.DuckDBPyConnection, entity: EntityType) -> pa.Table:
    """Scope keys of the entities in ``universe``, restricted to them and deduplicated."""
    return con.sql(
        f"SELECT DISTINCT s.entity_id, s.kind, s.value FROM ({scope_sql(entity)}) s "
        "WHERE s.entity_id IN (SELECT entity_id FROM universe) AND s.value IS NOT NULL ORDER BY ALL"
    ).to_arrow_table()
