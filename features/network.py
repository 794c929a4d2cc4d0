"""The network table: who placed with whom, who shares an address, phone or director, which intermediaries
use which desks, which escorts pass which officers, which labour contractors work at which sites and who
supplies whom (organisation.supplies_to: the supply chains that models/rollup.py rolls risk up along); and the
graph feature read by the registry's network indicators (G01, G03): each node's degree in the employer-recruiter
network.

Runs on the point-in-time views of features/build.py (same DuckDB connection), so it never sees records
dated on or after the as-of date.
"""

from __future__ import annotations

import duckdb

from data_contracts.names import name_key_sql

EDGES_SQL = """
CREATE OR REPLACE TEMP TABLE network_edges AS
SELECT 'recruiter' AS src_type, recruiter_id AS src_id, 'employer' AS dst_type, employer_id AS dst_id,
       'placed_with' AS kind, count(*) AS weight
FROM va WHERE approved AND recruiter_id IS NOT NULL AND employer_id IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'employer', registration_no, 'employer', other_id, 'shares_' || link, 1 FROM org_links
WHERE registration_no < other_id
UNION ALL
SELECT 'recruiter', recruiter_id, 'visa_desk', desk_id, 'applies_at', count(*) FROM va
WHERE recruiter_id IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'escort', companion_id, 'border_post', officer_key, 'escorts_past', count(DISTINCT traveller_id) FROM bc
WHERE companion_id IS NOT NULL GROUP BY ALL HAVING count(DISTINCT traveller_id) >= 2
UNION ALL
SELECT 'recruiter', coalesce(rn.recruiter_id, 'unregistered:' || {contractor_key}), 'employer', l.employer_id,
       'contracts_at', count(*)
FROM li l LEFT JOIN recruiter_name_map rn ON rn.name_key = {contractor_key}
WHERE {contractor_key} IS NOT NULL AND l.employer_id IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'employer', o.registration_no, CASE WHEN c.registration_no IS NULL THEN 'buyer' ELSE 'employer' END,
       o.supplies_to, 'supplies', max(coalesce(o.employees, 1))
FROM org o LEFT JOIN (SELECT DISTINCT registration_no FROM org) c ON c.registration_no = o.supplies_to
WHERE o.supplies_to IS NOT NULL AND o.supplies_to <> o.registration_no GROUP BY ALL
""".format(contractor_key=name_key_sql("l.contractor_name"))


def build_network(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``network_edges`` and ``network_nodes`` (node_type, node_id, degree: the links of a placement or a
    shared phone, address or director that the node is an end of)."""
    con.execute(EDGES_SQL)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE network_nodes AS
           WITH link AS (SELECT src_type || '|' || src_id AS a, dst_type || '|' || dst_id AS b FROM network_edges
                         WHERE kind IN ('placed_with', 'shares_phone', 'shares_address', 'shares_director'))
           SELECT split_part(name, '|', 1) AS node_type, substr(name, length(split_part(name, '|', 1)) + 2) AS node_id,
                  count(*)::BIGINT AS degree
           FROM (SELECT a AS name FROM link UNION ALL SELECT b FROM link) GROUP BY name"""
    )
