"""A tiny world's content, pinned: the same seed and config must give the same rows, draw for draw.

Every export and truth file of a two-chunk world (with recruiters that go on unlicensed, so that every
generator draws) is read back and digested row by row, in file order; the digests are kept in
``pinned_world.json``. A change that moves one random draw changes rows and fails here. A change that is
meant to change the world regenerates the file (``python tests/simulator/test_pinned_world.py OUT``) and
says so in its commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulator.config import Realism, SimulationConfig, WorldShape
from simulator.world import simulate_world

PINNED = Path(__file__).with_name("pinned_world.json")
SEED = 0
CONFIG = SimulationConfig(
    world=WorldShape(employers_per_chunk=100),
    realism=Realism(unlicensed_shift_share=1.0, displacement_start_day=200),
)


def _read(path: Path) -> pa.Table:
    return pacsv.read_csv(path) if path.suffix == ".csv" else pq.read_table(path)


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns as their values: the digest is of what a row says, not of its encoding."""
    return pa.table(
        {
            name: column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column
            for name, column in zip(table.column_names, table.columns, strict=True)
        }
    )


def world_digests(world: Path) -> dict[str, str]:
    """Per file under ``world``: sha256 of its column names and each row's values in order; the manifest's
    record counts under ``manifest.records``."""
    digests: dict[str, str] = {}
    for path in sorted(p for p in world.rglob("*") if p.suffix in (".parquet", ".csv")):
        table = _plain(_read(path))
        h = hashlib.sha256(repr(table.column_names).encode())
        for row in zip(*(column.to_pylist() for column in table.columns), strict=True):
            h.update(repr(row).encode())
        digests[str(path.relative_to(world))] = h.hexdigest()
    manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
    digests["manifest.records"] = hashlib.sha256(json.dumps(manifest["records"], sort_keys=True).encode()).hexdigest()
    return digests


def test_pinned_world_has_the_pinned_rows(tmp_path: Path) -> None:
    simulate_world("tiny", SEED, tmp_path, CONFIG, workers=1)
    recruiters = pq.read_table(tmp_path / "truth" / "recruiters.parquet")
    employers = pq.read_table(tmp_path / "truth" / "employers")
    assert recruiters.column("unlicensed_from_day").null_count < recruiters.num_rows  # some go on unlicensed
    assert employers.column("successor_of").null_count < employers.num_rows  # some employers re-register
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    digests = world_digests(tmp_path)
    assert "export/visa_application/part-00001.parquet" in digests  # two chunks
    changed = sorted(name for name in pinned.keys() | digests.keys() if pinned.get(name) != digests.get(name))
    assert changed == [], f"the world's content changed in: {changed}"


if __name__ == "__main__":
    out = Path(sys.argv[1])
    simulate_world("tiny", SEED, out, CONFIG, workers=1)
    PINNED.write_text(json.dumps(world_digests(out), indent=2, sort_keys=True) + "\n", encoding="utf-8")
