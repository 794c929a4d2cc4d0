"""data_contracts.reader: how one landing file becomes raw text columns, rejected lines or an UnusableFile."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_contracts import reader
from data_contracts.reader import RawBatch, RejectedLine, UnusableFile, read_batch_file

WRONG = "malformed_line:wrong_field_count"


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _rows(batch: RawBatch) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = batch.table.to_pylist()
    return rows


def test_empty_file_is_unusable(tmp_path: Path) -> None:
    with pytest.raises(UnusableFile, match=r"^empty file: no header$"):
        read_batch_file(_write(tmp_path, "organisation.csv", b""))


def test_whitespace_only_file_is_unusable(tmp_path: Path) -> None:
    with pytest.raises(UnusableFile, match=r"^empty file: no header$"):
        read_batch_file(_write(tmp_path, "organisation.csv", b"  \r\n\n\t \n"))


def test_header_only_gives_empty_table(tmp_path: Path) -> None:
    batch = read_batch_file(_write(tmp_path, "organisation.csv", "record_id,source,name\n"))
    assert batch.table.column_names == ["record_id", "source", "name", "_line"]
    assert batch.table.num_rows == 0
    assert batch.table.schema.field("name").type == pa.string()
    assert batch.table.schema.field("_line").type == pa.int64()
    assert batch.rejected == []
    assert (batch.encoding, batch.delimiter) == ("utf-8", ",")


def test_quoted_comma_and_newline_keep_line_numbers(tmp_path: Path) -> None:
    text = 'id,note,amount\r\n1,"Smith, J.\r\nsecond line",10\r\n2,plain,\r\n\r\n3," padded ",30\r\n'
    batch = read_batch_file(_write(tmp_path, "x.csv", text))
    assert _rows(batch) == [
        {"id": "1", "note": "Smith, J.\r\nsecond line", "amount": "10", "_line": 2},
        {"id": "2", "note": "plain", "amount": None, "_line": 4},
        {"id": "3", "note": " padded ", "amount": "30", "_line": 6},
    ]
    assert batch.rejected == []
    assert batch.notes == ["skipped 1 blank line"]
    assert all(batch.table.schema.field(c).type == pa.string() for c in ("id", "note", "amount"))


def test_latin1_file(tmp_path: Path) -> None:
    batch = read_batch_file(_write(tmp_path, "x.csv", "id,city\n1,Montréal\n".encode("latin-1")))
    assert batch.encoding == "latin-1"
    assert _rows(batch) == [{"id": "1", "city": "Montréal", "_line": 2}]
    assert batch.notes == ["decoded as latin-1: not valid UTF-8 (first bad byte on line 2)"]


def test_utf8_bom_file(tmp_path: Path) -> None:
    batch = read_batch_file(_write(tmp_path, "x.csv", "\ufeffrecord_id,city\nr1,Zürich\n".encode()))
    assert batch.encoding == "utf-8-sig"
    assert batch.table.column_names == ["record_id", "city", "_line"]
    assert _rows(batch) == [{"record_id": "r1", "city": "Zürich", "_line": 2}]


def test_semicolon_separated(tmp_path: Path) -> None:
    batch = read_batch_file(_write(tmp_path, "x.csv", "id;amount;note\n1;3,5;a, b\n"))
    assert batch.delimiter == ";"
    assert "semicolon-separated" in batch.notes
    assert _rows(batch) == [{"id": "1", "amount": "3,5", "note": "a, b", "_line": 2}]


def test_tab_separated(tmp_path: Path) -> None:
    batch = read_batch_file(_write(tmp_path, "x.tsv", "id\tname\n1\tA, B; C\n2\t\n"))
    assert batch.delimiter == "\t"
    assert "tab-separated" in batch.notes
    assert _rows(batch) == [{"id": "1", "name": "A, B; C", "_line": 2}, {"id": "2", "name": None, "_line": 3}]


def test_truncated_last_line_is_rejected(tmp_path: Path) -> None:
    batch = read_batch_file(_write(tmp_path, "x.csv", "a,b,c\n1,2,3\n4,5,6\n7,8"))
    assert _rows(batch) == [{"a": "1", "b": "2", "c": "3", "_line": 2}, {"a": "4", "b": "5", "c": "6", "_line": 3}]
    assert batch.rejected == [RejectedLine(4, "7,8", WRONG)]


def test_truncated_quoted_field_at_end_is_rejected(tmp_path: Path) -> None:
    batch = read_batch_file(_write(tmp_path, "x.csv", 'a,b,c\n1,2,3\n4,"unfinished\nnote'))
    assert batch.table.column("_line").to_pylist() == [2]
    assert batch.rejected == [RejectedLine(3, '4,"unfinished\nnote', WRONG)]


def test_row_with_extra_fields_is_rejected(tmp_path: Path) -> None:
    batch = read_batch_file(_write(tmp_path, "x.csv", "a,b\n1,2\n3,4,5\n6,7\n"))
    assert _rows(batch) == [{"a": "1", "b": "2", "_line": 2}, {"a": "6", "b": "7", "_line": 4}]
    assert batch.rejected == [RejectedLine(3, "3,4,5", WRONG)]


def test_rejected_text_is_cut_to_1000_characters(tmp_path: Path) -> None:
    batch = read_batch_file(_write(tmp_path, "x.csv", "a,b\n" + "x" * 5000 + "\n1,2\n"))
    assert batch.rejected == [RejectedLine(2, "x" * 1000, WRONG)]
    assert _rows(batch) == [{"a": "1", "b": "2", "_line": 3}]


def test_one_megabyte_field_is_read_intact(tmp_path: Path) -> None:
    big = ("lorem ipsum, dolor\n" * 60_000)[:1_100_000]
    text = 'id,statement\n1,"' + big + '"\n2,short\n'
    batch = read_batch_file(_write(tmp_path, "x.csv", text))
    assert batch.table.column("statement").to_pylist() == [big, "short"]
    assert batch.table.column("_line").to_pylist() == [2, 2 + big.count("\n") + 1]
    assert batch.rejected == []


def test_utf16_file_is_unusable(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "id,name\n1,A\n".encode("utf-16"))
    with pytest.raises(UnusableFile, match=r"^unreadable encoding: file looks like UTF-16 or binary \(NUL bytes\)$"):
        read_batch_file(path)


def test_duplicate_header_names_are_unusable(tmp_path: Path) -> None:
    with pytest.raises(UnusableFile, match=r"^duplicate column names: a, b$"):
        read_batch_file(_write(tmp_path, "x.csv", "a,b, a ,c,b\n1,2,3,4,5\n"))


def test_empty_header_name_is_unusable(tmp_path: Path) -> None:
    with pytest.raises(UnusableFile, match=r"^empty column name in header \(column 2\)$"):
        read_batch_file(_write(tmp_path, "x.csv", "a,,c\n1,2,3\n"))


def test_parquet_round_trip(tmp_path: Path) -> None:
    table = pa.table(
        {
            "flag": pa.array([True, False, None]),
            "count": pa.array([1, None, -3], pa.int64()),
            "share": pa.array([0.5, 3.0, None], pa.float64()),
            "day": pa.array([dt.date(2024, 2, 29), None, dt.date(1999, 1, 1)], pa.date32()),
            "at": pa.array(
                [dt.datetime(2024, 1, 2, 3, 4, 5, 678000), None, dt.datetime(2020, 12, 31, 23, 59, 59)],
                pa.timestamp("ms"),
            ),
            "kind": pa.array(["employer", None, "employer"]).dictionary_encode(),
            "nothing": pa.nulls(3),
            "name": pa.array(["A", "", None]),
        }
    )
    path = tmp_path / "organisation.parquet"
    pq.write_table(table, path)
    batch = read_batch_file(path)
    assert (batch.encoding, batch.delimiter, batch.rejected) == ("parquet", None, [])
    assert batch.table.column_names == [*table.column_names, "_line"]
    assert all(f.type == pa.string() for f in batch.table.schema if f.name != "_line")
    assert batch.table.schema.field("_line").type == pa.int64()
    assert _rows(batch) == [
        {
            "flag": "true",
            "count": "1",
            "share": "0.5",
            "day": "2024-02-29",
            "at": "2024-01-02T03:04:05",
            "kind": "employer",
            "nothing": None,
            "name": "A",
            "_line": 2,
        },
        {
            "flag": "false",
            "count": None,
            "share": "3",
            "day": None,
            "at": None,
            "kind": None,
            "nothing": None,
            "name": None,
            "_line": 3,
        },
        {
            "flag": None,
            "count": "-3",
            "share": None,
            "day": "1999-01-01",
            "at": "2020-12-31T23:59:59",
            "kind": "employer",
            "nothing": None,
            "name": None,
            "_line": 4,
        },
    ]


def test_parquet_zoned_timestamp_written_as_utc(tmp_path: Path) -> None:
    at = pa.array([dt.datetime(2024, 6, 1, 10, 0, 0, tzinfo=dt.UTC)], pa.timestamp("us", "Europe/Berlin"))
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"at": at}), path)
    batch = read_batch_file(path)
    assert batch.table.column("at").to_pylist() == ["2024-06-01T10:00:00"]
    assert batch.notes == ["column at: zoned timestamps (Europe/Berlin) written as UTC"]


def test_corrupt_parquet_is_unusable(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.parquet", b"PAR1" + b"\x13\x37" * 500 + b"PAR1")
    with pytest.raises(UnusableFile, match=r"^unreadable Parquet file: \S"):
        read_batch_file(path)


def test_csv_named_parquet_is_unusable(tmp_path: Path) -> None:
    with pytest.raises(UnusableFile, match=r"^unreadable Parquet file: "):
        read_batch_file(_write(tmp_path, "x.parquet", "a,b\n1,2\n"))


@pytest.mark.parametrize("name", ["x.xlsx", "x.json", "noext"])
def test_unsupported_suffix_is_unusable(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnusableFile, match=r"^unsupported file type "):
        read_batch_file(_write(tmp_path, name, "a,b\n1,2\n"))


def test_rows_are_converted_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("data_contracts.reader.BATCH_ROWS", 2)
    text = "a,b\n1,\n2,x\n\n3,y,z\n4,w\n5,v\n"
    batch = read_batch_file(_write(tmp_path, "x.csv", text))
    assert _rows(batch) == [
        {"a": "1", "b": None, "_line": 2},
        {"a": "2", "b": "x", "_line": 3},
        {"a": "4", "b": "w", "_line": 6},
        {"a": "5", "b": "v", "_line": 7},
    ]
    assert batch.rejected == [RejectedLine(5, "3,y,z", WRONG)]
    assert batch.notes == ["skipped 1 blank line", "1 line with the wrong number of fields rejected"]


@pytest.mark.parametrize("scan", [3, 7, 64, 1 << 20])
def test_line_length_limit_holds_across_scan_chunks(monkeypatch: pytest.MonkeyPatch, scan: int) -> None:
    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 10)
    monkeypatch.setattr(reader, "_LINE_SCAN_BYTES", scan)
    for fine in (b"", b"a" * 10, b"a" * 10 + b"\r\n" + b"b" * 10 + b"\n", (b"c" * 10 + b"\r") * 9):
        reader._check_line_lengths(fine)
    cases = {
        b"a" * 11: 1,
        b"ab\n" + b"b" * 11 + b"\n": 2,
        b"a\r\nb\r\n" + b"c" * 10 + b"\r\n" + b"d" * 11: 4,
        (b"e" * 9 + b"\n") * 5 + b"f" * 30: 6,
    }
    for data, line in cases.items():
        with pytest.raises(UnusableFile, match=f"^line {line} is longer than the 10 bytes"):
            reader._check_line_lengths(data)
