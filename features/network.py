"""The network table: who placed with whom, who shares an address, phone or director, which intermediaries
use which desks, which escorts pass which officers; and the graph features read by the registry's
network indicators (G01, G02): degree and the share of sanctioned or referred entities in the connected
component of the employer-recruiter network.

Runs on the point-in-time views of features/build.py (same DuckDB connection), so it never sees records
dated on or after the as-of date.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

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
"""


def build_network(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``network_edges`` and ``network_nodes`` (node_type, node_id, degree, component_size,
    component_bad: sanctioned or referred entities in the node's component, the node itself excluded)."""
    con.execute(EDGES_SQL)
    edges = con.sql(
        "SELECT src_type || '|' || src_id AS a, dst_type || '|' || dst_id AS b FROM network_edges "
        "WHERE kind IN ('placed_with', 'shares_phone', 'shares_address', 'shares_director')"
    ).to_arrow_table()
    bad = {f"employer|{r[0]}" for r in con.execute("SELECT employer_id FROM bad_employers").fetchall()}
    bad |= {
        f"recruiter|{r[0]}"
        for r in con.execute(
            "SELECT entity_ref FROM eo WHERE entity_type = 'recruiter' AND kind <> 'complaint'"
        ).fetchall()
    }
    a = edges.column("a").to_pylist()
    b = edges.column("b").to_pylist()
    names = sorted(set(a) | set(b))
    index = {n: i for i, n in enumerate(names)}
    n = len(names)
    if n == 0:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE network_nodes (node_type VARCHAR, node_id VARCHAR, "
            "degree BIGINT, component_size BIGINT, component_bad BIGINT)"
        )
        return
    ia = np.array([index[x] for x in a], dtype=np.int64)
    ib = np.array([index[x] for x in b], dtype=np.int64)
    graph = coo_matrix((np.ones(len(ia)), (ia, ib)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    degree = np.bincount(np.concatenate([ia, ib]), minlength=n)
    is_bad = np.array([name in bad for name in names], dtype=np.int64)
    size = np.bincount(component, minlength=component.max() + 1)
    bad_in = np.bincount(component, weights=is_bad, minlength=component.max() + 1).astype(np.int64)
    nodes = pa.table(
        {
            "node_type": [name.split("|", 1)[0] for name in names],
            "node_id": [name.split("|", 1)[1] for name in names],
            "degree": degree,
            "component_size": size[component],
            "component_bad": bad_in[component] - is_bad,
        }
    )
    con.register("network_nodes_arrow", nodes)
    con.execute("CREATE OR REPLACE TEMP TABLE network_nodes AS SELECT * FROM network_nodes_arrow")
    con.unregister("network_nodes_arrow")
