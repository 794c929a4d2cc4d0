"""A file written atomically is the old one or the new one, never a part, and leaves no temp file behind."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_contracts.atomic import write_atomically, write_text_atomically


def test_text_replaces_the_file_whole_and_keeps_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.csv"
    write_text_atomically(path, "old\n")
    assert write_text_atomically(path, "a,b\r\n1,2\r\n") == path
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.csv"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "table.parquet"
    write_atomically(path, lambda tmp: pq.write_table(pa.table({"x": [1, 2]}), tmp), fsync=True)

    def half_written(tmp: Path) -> None:
        tmp.write_bytes(b"PAR1 not a whole file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, half_written)
    assert pq.read_table(path).column("x").to_pylist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]


def test_the_temp_file_is_hidden_beside_the_target(tmp_path: Path) -> None:
    seen: list[Path] = []
    write_atomically(tmp_path / "r.json", lambda tmp: (seen.append(tmp), tmp.write_text("{}")))
    assert seen == [tmp_path / ".r.json.tmp"]
