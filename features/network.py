"""The network table: who placed with whom, who shares an address, phone or director, which intermediaries
use which desks, which escorts pass which officers, which labour contractors work at which sites and who
supplies whom (organisation.supplies_to: the supply chains that models/rollup.py rolls risk up along); and the
graph features read by the registry's network indicators (G01, G02): degree and the share of sanctioned or
referred entities in the connected component of the employer-recruiter network.

Runs on the point-in-time views of features/build.py (same DuckDB connection), so it never sees records
dated on or after the as-of date.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

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
    """Create ``network_edges`` and ``network_nodes`` (node_type, node_id, degree, component_size,
    component_bad: sanctioned or referred entities in the node's component, the node itself excluded)."""
    con.execute(EDGES_SQL)
    # Nodes are numbered in DuckDB and only integer arrays reach Python (millions of edges on a large world).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE network_link AS SELECT src_type || '|' || src_id AS a, "
        "dst_type || '|' || dst_id AS b FROM network_edges "
        "WHERE kind IN ('placed_with', 'shares_phone', 'shares_address', 'shares_director')"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE network_index AS SELECT name, (row_number() OVER (ORDER BY name) - 1)::BIGINT "
        "AS i FROM (SELECT a AS name FROM network_link UNION SELECT b FROM network_link)"
    )
    n = int(con.execute("SELECT count(*) FROM network_index").fetchall()[0][0])
    if n == 0:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE network_nodes (node_type VARCHAR, node_id VARCHAR, "
            "degree BIGINT, component_size BIGINT, component_bad BIGINT)"
        )
        return
    pairs = con.execute(
        "SELECT x.i AS ia, y.i AS ib FROM network_link l JOIN network_index x ON x.name = l.a "
        "JOIN network_index y ON y.name = l.b"
    ).fetchnumpy()
    ia = np.asarray(pairs["ia"], dtype=np.int64)
    ib = np.asarray(pairs["ib"], dtype=np.int64)
    bad_rows = con.execute(
        """SELECT i FROM network_index WHERE name IN (
               SELECT 'employer|' || employer_id FROM bad_employers
               UNION SELECT 'recruiter|' || entity_ref FROM eo
                     WHERE entity_type = 'recruiter' AND kind <> 'complaint')"""
    ).fetchnumpy()
    is_bad = np.zeros(n, dtype=np.int64)
    is_bad[np.asarray(bad_rows["i"], dtype=np.int64)] = 1
    graph = coo_matrix((np.ones(len(ia)), (ia, ib)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    degree = np.bincount(np.concatenate([ia, ib]), minlength=n)
    size = np.bincount(component, minlength=component.max() + 1)
    bad_in = np.bincount(component, weights=is_bad, minlength=component.max() + 1).astype(np.int64)
    stats = pa.table(
        {
            "i": np.arange(n, dtype=np.int64),
            "degree": degree.astype(np.int64),
            "component_size": size[component].astype(np.int64),
            "component_bad": bad_in[component] - is_bad,
        }
    )
    con.register("network_stats_arrow", stats)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE network_nodes AS SELECT split_part(x.name, '|', 1) AS node_type, "
        "substr(x.name, length(split_part(x.name, '|', 1)) + 2) AS node_id, s.degree, s.component_size, "
        "s.component_bad FROM network_index x JOIN network_stats_arrow s USING (i)"
    )
    con.unregister("network_stats_arrow")
    con.execute("DROP TABLE network_link")
    con.execute("DROP TABLE network_index")
