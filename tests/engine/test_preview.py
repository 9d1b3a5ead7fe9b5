"""Previews of generated data in every format: the first rows, the types, the cheap counts,
Spark's folder layout with partitions, and clear messages for data that cannot be shown."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from engine.preview import Preview, PreviewError, cell_text, detect_format, read_preview, readers


def names(preview: Preview) -> list[str]:
    return [c.name for c in preview.columns]


def types(preview: Preview) -> dict[str, str]:
    return {c.name: c.type for c in preview.columns}


def spark_folder(root: Path, fmt: str = "parquet") -> Path:
    """A folder laid out as Spark writes a partitioned table: part files under k=v/ folders,
    _SUCCESS, .crc checksums and an empty partition file."""
    root.mkdir(parents=True)
    (root / "_SUCCESS").write_bytes(b"")
    rows = 0
    for year in (2020, 2021):
        for month in (1, 2):
            part = root / f"year={year}" / f"month={month}"
            part.mkdir(parents=True)
            table = pa.table(
                {"id": list(range(rows, rows + 50)), "name": [f"n{i}" for i in range(50)]}
            )
            rows += 50
            name = f"part-0000{month}-3f2a.c000"
            if fmt == "parquet":
                pq.write_table(table, part / f"{name}.snappy.parquet")
            else:
                pacsv.write_csv(table, part / f"{name}.csv")
            (part / f".{name}.crc").write_bytes(b"\x00\x01crc")
    (root / "_temporary").mkdir()
    (root / "_temporary" / "junk").write_bytes(b"\x00" * 10)
    return root


def test_csv_first_rows_types_and_count_of_a_small_file(tmp_path):
    path = tmp_path / "people.csv"
    lines = ["id,name,score,joined"] + [
        f"{i},p{i},{i / 2},2024-01-{i % 28 + 1:02d}" for i in range(500)
    ]
    path.write_text("\n".join(lines) + "\n")
    preview = read_preview(path, {"type": "csv", "header": True})
    assert names(preview) == ["id", "name", "score", "joined"]
    assert types(preview)["id"] == "int64" and types(preview)["score"] == "double"
    assert types(preview)["joined"].startswith(("date32", "timestamp"))
    assert len(preview.rows) == 200 and preview.rows[0][:3] == (0, "p0", 0.0)
    assert preview.row_count == 500 and preview.truncated
    assert preview.summary().startswith("500 rows (showing 200) · 4 columns · csv")


def test_csv_quoted_newlines_delimiters_and_no_header(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('id,text\n1,"first line\nsecond line"\n2,"a, b"\n3,plain\n')
    preview = read_preview(path, {"type": "csv", "header": True})
    assert preview.rows == [(1, "first line\nsecond line"), (2, "a, b"), (3, "plain")]
    assert preview.row_count == 3
    assert cell_text(preview.rows[0][1]) == "first line↵second line"

    tsv = tmp_path / "data.tsv"
    tsv.write_text("a\tb\n1\tx y\n")
    assert read_preview(tsv).rows == [(1, "x y")]  # .tsv means tabs
    semi = tmp_path / "semi.csv"
    semi.write_text("1;x\n2;y\n")
    preview = read_preview(semi, {"type": "csv", "header": False, "delimiter": ";"})
    assert names(preview) == ["_c0", "_c1"] and preview.rows == [(1, "x"), (2, "y")]


def test_csv_column_whose_type_changes_after_the_first_block_is_shown_as_text(tmp_path):
    path = tmp_path / "mixed.csv"
    with open(path, "w") as f:
        f.write("n\n")
        f.write("1\n" * 600_000)  # more than the first 1 MiB block
        f.write("not a number\n")
    preview = read_preview(path, rows=700_000, count=False)
    assert preview.rows[-1] == ("not a number",) and types(preview) == {"n": "string"}
    assert preview.notes and "text" in preview.notes[0]


def test_empty_files_are_previews_with_no_rows(tmp_path):
    for name in ("empty.csv", "empty.jsonl"):
        (tmp_path / name).write_bytes(b"")
        preview = read_preview(tmp_path / name)
        assert preview.rows == [] and preview.row_count == 0 and preview.notes
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    preview = read_preview(header_only)
    assert names(preview) == ["a", "b"] and preview.rows == [] and preview.row_count == 0


def test_parquet_file_reads_one_batch_and_counts_from_the_footer(tmp_path):
    path = tmp_path / "big.parquet"
    pq.write_table(
        pa.table({"x": pa.array(range(100_000), pa.int32()), "y": [1.5] * 100_000}),
        path,
        row_group_size=10_000,
    )
    preview = read_preview(path, rows=10)
    assert types(preview) == {"x": "int32", "y": "double"}
    assert [r[0] for r in preview.rows] == list(range(10))
    assert preview.row_count == 100_000  # footer metadata, not a scan


def test_corrupt_and_binary_data_get_a_message(tmp_path):
    corrupt = tmp_path / "broken.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), corrupt)
    corrupt.write_bytes(corrupt.read_bytes()[:-12])  # a cut-off footer
    with pytest.raises(PreviewError, match=r"broken.parquet: not a readable Parquet file"):
        read_preview(corrupt)
    blob = tmp_path / "model.bin"
    blob.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(PreviewError, match="binary data, not a table"):
        read_preview(blob)
    with pytest.raises(PreviewError, match="binary data, not CSV"):
        read_preview(blob, {"type": "csv"})
    parquet_named_csv = tmp_path / "really.csv"
    pq.write_table(pa.table({"a": [1]}), parquet_named_csv)
    with pytest.raises(PreviewError, match="binary data, not CSV"):
        read_preview(parquet_named_csv, {"type": "csv"})
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(PreviewError, match="bad.jsonl: cannot be read as a table"):
        read_preview(bad_json)
    with pytest.raises(PreviewError, match="does not exist"):
        read_preview(tmp_path / "missing.csv")
    with pytest.raises(PreviewError, match="only data on this machine"):
        read_preview("s3://bucket/data.parquet")


def test_json_lines_and_json_arrays(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(
        "".join(json.dumps({"id": i, "tags": ["a"] * (i % 3)}) + "\n\n" for i in range(300))
    )
    preview = read_preview(path, rows=5)
    assert names(preview) == ["id", "tags"] and preview.rows[2] == (2, ["a", "a"])
    assert preview.row_count == 300  # blank lines are not rows
    array = tmp_path / "records.json"
    array.write_text(json.dumps([{"a": 1}, {"a": 2}, {"a": 3}]))
    preview = read_preview(array, rows=2)
    assert preview.rows == [(1,), (2,)] and preview.row_count == 3


def test_spark_parquet_folder_with_partitions(tmp_path):
    folder = spark_folder(tmp_path / "out")
    assert detect_format(folder) == "parquet"
    assert [p.name for p in readers.data_files(folder)][:1] == [
        "part-00001-3f2a.c000.snappy.parquet"
    ]
    preview = read_preview(folder, {"type": "parquet"}, rows=120)
    assert names(preview) == ["id", "name", "year", "month"]
    assert types(preview)["year"] == "int32"
    assert preview.rows[0] == (0, "n0", 2020, 1) and preview.rows[100] == (100, "n0", 2021, 1)
    assert len(preview.rows) == 120 and preview.row_count == 200 and preview.files == 4
    assert "4 files" in preview.summary()


def test_spark_csv_folder_and_folders_without_data(tmp_path):
    folder = spark_folder(tmp_path / "csv_out", fmt="csv")
    preview = read_preview(folder, {"type": "csv", "header": True}, rows=60)
    assert names(preview) == ["id", "name", "year", "month"]
    assert preview.rows[55] == (55, "n5", 2020, 2) and preview.row_count == 200
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "_SUCCESS").write_bytes(b"")
    preview = read_preview(empty)
    assert preview.rows == [] and preview.notes == ["the folder holds no data files"]
    broken = spark_folder(tmp_path / "broken")
    victim = readers.data_files(broken)[0]
    victim.write_bytes(b"PAR1 not really")
    with pytest.raises(PreviewError, match="broken: cannot be read as a table"):
        read_preview(broken)


def test_file_datasets_are_listed_not_read(tmp_path):
    folder = tmp_path / "model"
    (folder / "weights").mkdir(parents=True)
    (folder / "model.json").write_text("{}")
    (folder / "weights" / "w.bin").write_bytes(b"\0" * 100)
    preview = read_preview(folder, kind="file")
    assert names(preview) == ["file", "size", "modified"]
    assert [(r[0], r[1]) for r in preview.rows] == [("model.json", 2), ("weights/w.bin", 100)]
    assert preview.format == "files" and preview.row_count == 2


def test_cells_are_one_short_line_and_json_safe():
    import datetime as dt
    import decimal

    assert cell_text(None) == "" and cell_text(b"\x00\x01") == "<2 bytes: 00 01>"
    assert len(cell_text("x" * 5000)) == readers_max() + 1
    p = Preview("p", "csv", [], [(dt.date(2024, 1, 2), decimal.Decimal("1.5"), float("nan"))])
    assert p.to_json()["rows"] == [["2024-01-02", "1.5", None]]


def readers_max() -> int:
    from engine.preview.table import MAX_CELL_CHARS

    return MAX_CELL_CHARS


def test_csv_rows_wider_than_the_first_read_block(tmp_path):
    path = tmp_path / "wide.csv"
    wide = "w" * 300_000  # wider than the first (64 KiB) block: read again with bigger ones
    path.write_text(f"a,b\n1,{wide}\n2,x\n")
    preview = read_preview(path)
    assert [r[0] for r in preview.rows] == [1, 2] and len(preview.rows[0][1]) == 300_000


def test_spark_json_and_text_folders(tmp_path):
    folder = tmp_path / "json_out"
    for day in (1, 2):
        part = folder / f"day={day}"
        part.mkdir(parents=True)
        lines = "".join(json.dumps({"id": day * 10 + i, "tag": f"t{i}"}) + "\n" for i in range(3))
        (part / "part-00000-9a.json").write_text(lines)
    (folder / "_SUCCESS").write_bytes(b"")
    preview = read_preview(folder)  # no declared format: the part files' suffix says JSON
    assert preview.format == "json" and names(preview) == ["id", "tag", "day"]
    assert preview.rows[3] == (20, "t0", 2) and preview.row_count == 6
    text = tmp_path / "text_out"
    text.mkdir()
    (text / "part-00000").write_text("first line\nsecond line\n")
    (text / "part-00001").write_text("third line\n")
    preview = read_preview(text, {"type": "text"})
    assert preview.rows == [("first line",), ("second line",), ("third line",)]
