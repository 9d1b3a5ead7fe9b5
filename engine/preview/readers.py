"""Read the first rows of a file or folder without reading it whole.

One file: CSV/TSV through pyarrow's streaming CSV reader (quoted newlines allowed), Parquet
and ORC by their first row group/stripe (the row count comes from the footer), JSON lines
and text by their first lines. A folder is read as Spark writes one: part files (`_SUCCESS`,
`_committed_*`, `.crc` and other `_`/`.` names skipped) under any number of `k=v/` partition
folders, through a pyarrow dataset that stops after the first rows. A `kind: file` dataset
is shown as its list of files. Anything unreadable raises PreviewError with a message.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from engine.preview.table import DEFAULT_ROWS, Column, Preview, PreviewError

SMALL_BYTES = 8 * 1024 * 1024  # text files up to this size are counted without being asked
COUNT_FILES = 100  # Parquet/ORC folders with at most this many files are counted from footers
JSON_DOCUMENT_BYTES = 64 * 1024 * 1024  # a JSON document (not lines) is parsed whole up to this
SNIFF_BYTES = 8192
TABULAR_FORMATS = ("csv", "parquet", "json", "text", "orc")
_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "text",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".orc": "orc",
}


def read_preview(
    path: str | Path,
    fmt: dict[str, Any] | None = None,
    rows: int = DEFAULT_ROWS,
    count: bool | None = None,
    kind: str = "tabular",
) -> Preview:
    """The first `rows` rows of the file or folder at `path`.

    `fmt` is a pipeline format mapping (type, header, delimiter, encoding); its type is
    guessed from the data when missing. `count`: True counts the rows even when that reads
    everything, False never counts, None counts when it is cheap.
    """
    text = str(path)
    if "://" in text and not text.startswith("file://"):
        raise PreviewError(f"{text}: only data on this machine can be previewed")
    path = Path(text.removeprefix("file://"))
    if not path.exists():
        raise PreviewError(f"{path} does not exist")
    rows = max(0, int(rows))
    fmt = dict(fmt or {})
    if kind == "file" or fmt.get("type") == "binary":
        return _file_listing(path, rows)
    try:
        if path.is_dir():
            return _read_folder(path, fmt, rows, count)
        return _read_file(path, fmt, rows, count)
    except PreviewError:
        raise
    except (pa.ArrowException, ValueError, UnicodeError) as exc:
        raise PreviewError(f"{path}: cannot be read as {_what(fmt)}: {_first_line(exc)}") from None
    except OSError as exc:
        raise PreviewError(f"{path}: {exc.strerror or exc}") from None


def detect_format(path: str | Path, declared: str | None = None) -> str:
    """The format to read `path` with: the declared one, else guessed from names and bytes."""
    if declared in TABULAR_FORMATS:
        return declared
    path = Path(path)
    first = path
    if path.is_dir():
        files = data_files(path)
        if not files:
            return "parquet"
        first = files[0]
    by_suffix = _suffix_format(first)
    if by_suffix:
        return by_suffix
    head = _head(first)
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:3] == b"ORC":
        return "orc"
    if b"\0" in head:
        raise PreviewError(f"{first} is binary data, not a table (CSV, Parquet, JSON lines)")
    if head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return "csv"


def data_files(folder: Path) -> list[Path]:
    """The data files of a folder as Spark writes it, in order, partition folders included."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        found += [
            Path(root) / f
            for f in sorted(files)
            if not f.startswith(("_", ".")) and not f.endswith(".crc")
        ]
    return found


# -- single files -----------------------------------------------------------------------


def _read_file(path: Path, fmt: dict, rows: int, count: bool | None) -> Preview:
    kind = detect_format(path, fmt.get("type"))
    if kind == "parquet":
        return _parquet_file(path, rows)
    if kind == "orc":
        return _orc_file(path, rows)
    _refuse_binary(path, fmt)
    small = path.stat().st_size <= SMALL_BYTES
    want_count = count if count is not None else small
    if kind == "json":
        return _json_file(path, rows, want_count)
    if kind == "text":
        return _text_file(path, rows, want_count)
    return _csv_file(path, fmt, rows, want_count)


def _parquet_file(path: Path, rows: int) -> Preview:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise PreviewError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None
    schema = parquet.schema_arrow
    table = _head_of(parquet.iter_batches(batch_size=max(rows, 1)), schema, rows)
    return _preview(path, "parquet", table, parquet.metadata.num_rows)


def _orc_file(path: Path, rows: int) -> Preview:
    from pyarrow import orc

    try:
        source = orc.ORCFile(str(path))
    except (pa.ArrowException, OSError) as exc:
        raise PreviewError(f"{path}: not a readable ORC file ({_first_line(exc)})") from None
    batches = (source.read_stripe(i) for i in range(source.nstripes))
    return _preview(path, "orc", _head_of(batches, source.schema, rows), source.nrows)


PREVIEW_BLOCKS = (1 << 16, 1 << 20, 1 << 24, 1 << 26)  # grown when a row does not fit in one


def _csv_options(path: Path, fmt: dict, block_size: int = 1 << 20, threads: bool = True):
    import pyarrow.csv as pacsv

    delimiter = fmt.get("delimiter") or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")
    if len(delimiter) != 1:
        raise PreviewError(f"{path}: the CSV delimiter {delimiter!r} is not one character")
    header = fmt.get("header")
    read = pacsv.ReadOptions(
        block_size=block_size,
        use_threads=threads,
        encoding=fmt.get("encoding") or "utf8",
        autogenerate_column_names=header is False,
    )
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    return read, parse


def _csv_file(path: Path, fmt: dict, rows: int, count: bool) -> Preview:
    if path.stat().st_size == 0:
        return Preview(str(path), "csv", [], [], row_count=0, notes=["the file is empty"])
    for block in PREVIEW_BLOCKS:
        # small blocks, one thread: the first rows are parsed, not the first megabytes
        read, parse = _csv_options(path, fmt, block, threads=False)
        try:
            table, notes = _csv_head(path, read, parse, rows)
            break
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or block == PREVIEW_BLOCKS[-1]:
                raise
    if table is None:
        return Preview(str(path), "csv", [], [], row_count=0, notes=["the file is empty"])
    total = None
    if count:
        # one thread and small blocks: pyarrow parses a block holding the GIL, and the GUI
        # thread must get it back often while a big file is counted
        read, parse = _csv_options(path, fmt, block, threads=False)
        total = _count_csv(path, read, parse, table.column_names[:1])
    if is_false(fmt):
        table = table.rename_columns([f"_c{i}" for i in range(table.num_columns)])
    preview = _preview(path, "csv", table, total)
    preview.notes += notes
    return preview


def _csv_head(path: Path, read, parse, rows: int) -> tuple[pa.Table | None, list[str]]:
    import pyarrow.csv as pacsv

    try:
        reader = pacsv.open_csv(path, read_options=read, parse_options=parse)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return None, []
        raise
    schema = reader.schema
    try:
        return _head_of(reader, schema, rows), []
    except pa.ArrowInvalid as exc:
        if "straddl" in str(exc):
            raise
        # a value after the first block does not fit the type guessed from that block:
        # read the first rows again as text
        as_text = pacsv.ConvertOptions(column_types={n: pa.string() for n in schema.names})
        reader = pacsv.open_csv(
            path, read_options=read, parse_options=parse, convert_options=as_text
        )
        notes = ["columns shown as text: their values do not all have one type"]
        return _head_of(reader, reader.schema, rows), notes


def is_false(fmt: dict) -> bool:
    return fmt.get("header") is False


def _count_csv(path: Path, read, parse, first: list[str]) -> int:
    import pyarrow.csv as pacsv

    only = pacsv.ConvertOptions(include_columns=first, column_types={n: pa.string() for n in first})
    reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=only)
    return sum(batch.num_rows for batch in reader)


def _json_file(path: Path, rows: int, count: bool) -> Preview:
    import pyarrow.json as pajson

    head = _head(path).lstrip()
    if head[:1] == b"[":  # one JSON document holding a list of records
        if path.stat().st_size > JSON_DOCUMENT_BYTES:
            raise PreviewError(
                f"{path}: a JSON array this large cannot be previewed; write JSON lines instead"
            )
        records = json.loads(path.read_bytes())
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise PreviewError(f"{path}: JSON that is not a list of records")
        table = pa.Table.from_pylist(records[:rows]) if records[:rows] else pa.table({})
        return _preview(path, "json", table, len(records))
    lines: list[bytes] = []
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                lines.append(line if line.endswith(b"\n") else line + b"\n")
                if len(lines) >= rows:
                    break
    if not lines:
        return Preview(str(path), "json", [], [], row_count=0, notes=["the file is empty"])
    table = pajson.read_json(io.BytesIO(b"".join(lines)))
    total = _count_lines(path, nonblank=True) if count else None
    return _preview(path, "json", table, total)


def _text_file(path: Path, rows: int, count: bool) -> Preview:
    values = []
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        for line in f:
            if len(values) >= rows:
                break
            values.append(line.rstrip("\r\n"))
    total = _count_lines(path) if count else None
    return _preview(path, "text", pa.table({"value": pa.array(values, pa.string())}), total)


def _count_lines(path: Path, nonblank: bool = False) -> int:
    total = 0
    with open(path, "rb") as f:
        if not nonblank:
            last = b""
            while block := f.read(1 << 20):
                total += block.count(b"\n")
                last = block
            return total + (1 if last and not last.endswith(b"\n") else 0)
        return sum(1 for line in f if line.strip())


# -- folders ----------------------------------------------------------------------------


def _read_folder(folder: Path, fmt: dict, rows: int, count: bool | None) -> Preview:
    import pyarrow.dataset as ds

    files = data_files(folder)
    if not files:
        return Preview(
            str(folder),
            fmt.get("type") or "files",
            [],
            [],
            row_count=0,
            files=0,
            notes=["the folder holds no data files"],
        )
    kind = detect_format(files[0], fmt.get("type"))
    if kind == "text":
        return _text_folder(folder, files, rows)
    if kind in ("csv", "json"):
        _refuse_binary(files[0], fmt)
    if kind == "csv":
        read, parse = _csv_options(files[0], fmt)
        file_format: Any = ds.CsvFileFormat(parse_options=parse, read_options=read)
    elif kind == "json":
        file_format = ds.JsonFileFormat()
    else:
        file_format = kind

    def dataset(some: list[Path]):
        return ds.dataset(
            [str(f) for f in some],
            format=file_format,
            partitioning=ds.partitioning(flavor="hive"),
            partition_base_dir=str(folder),
            exclude_invalid_files=False,
        )

    # the first file usually holds the first rows: open a dataset of as few files as give them
    taken = 1
    while True:
        head = dataset(files[:taken])
        table = head.head(rows, batch_readahead=1, fragment_readahead=1, use_threads=False)
        if table.num_rows >= rows or taken >= len(files):
            break
        taken *= 8
    total = None
    size = sum(f.stat().st_size for f in files) if kind in ("csv", "json") else 0
    if count or (count is None and kind in ("parquet", "orc") and len(files) <= COUNT_FILES):
        total = dataset(files).count_rows(use_threads=False)
    elif count is None and kind in ("csv", "json") and size <= SMALL_BYTES:
        total = dataset(files).count_rows(use_threads=False)
    if kind == "csv" and is_false(fmt):
        in_file = set(ds.dataset(str(files[0]), format=file_format).schema.names)
        table = table.rename_columns(
            [f"_c{i}" if n in in_file else n for i, n in enumerate(table.column_names)]
        )
    preview = _preview(folder, kind, table, total)
    preview.files = len(files)
    return preview


def _text_folder(folder: Path, files: list[Path], rows: int) -> Preview:
    values: list[str] = []
    for file in files:
        if len(values) >= rows:
            break
        values += [r[0] for r in _text_file(file, rows - len(values), False).rows]
    table = pa.table({"value": pa.array(values, pa.string())})
    preview = _preview(folder, "text", table, None)
    preview.files = len(files)
    return preview


def _file_listing(path: Path, rows: int) -> Preview:
    """A `kind: file` dataset: its files with sizes and times (the files are not read)."""
    import datetime as dt

    files = (
        [path]
        if path.is_file()
        else [Path(root) / f for root, dirs, names in sorted(os.walk(path)) for f in sorted(names)]
    )
    shown = []
    for f in files[:rows]:
        stat = f.stat()
        rel = f.name if f == path else str(f.relative_to(path))
        shown.append((rel, stat.st_size, dt.datetime.fromtimestamp(stat.st_mtime)))
    columns = [Column("file", "string"), Column("size", "int64"), Column("modified", "timestamp")]
    return Preview(str(path), "files", columns, shown, row_count=len(files), files=len(files))


# -- helpers ----------------------------------------------------------------------------


def _head_of(batches, schema: pa.Schema, rows: int) -> pa.Table:
    """The first `rows` rows of a stream of record batches (the rest is never read)."""
    taken, have = [], 0
    for batch in batches:
        if have >= rows:
            break
        if batch.num_rows:
            taken.append(batch.slice(0, rows - have))
            have += taken[-1].num_rows
    if not taken:
        return schema.empty_table()
    return pa.Table.from_batches(taken)


def _preview(path: Path, kind: str, table: pa.Table, total: int | None) -> Preview:
    columns = [Column(f.name, str(f.type)) for f in table.schema]
    values = []
    for column in table.columns:
        try:
            values.append(column.to_pylist())
        except (pa.ArrowException, ValueError, OverflowError):  # e.g. dates Python cannot hold
            values.append(column.cast(pa.string()).to_pylist())
    rows = list(zip(*values, strict=True)) if values else []
    return Preview(str(path), kind, columns, rows, row_count=total)


def _suffix_format(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    for suffix in reversed(suffixes):  # part-0000.snappy.parquet, data.csv.gz
        if suffix in _SUFFIXES:
            return _SUFFIXES[suffix]
    return None


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(SNIFF_BYTES)


def _refuse_binary(path: Path, fmt: dict) -> None:
    encoding = (fmt.get("encoding") or "utf-8").lower().replace("-", "")
    if encoding.startswith(("utf16", "utf32")):
        return
    head = _head(path)
    if head[:4] == b"PAR1" or b"\0" in head:
        raise PreviewError(f"{path} is binary data, not {_what(fmt)}; check the dataset's format")


def _what(fmt: dict) -> str:
    kind = fmt.get("type")
    return {"csv": "CSV", "parquet": "Parquet", "json": "JSON lines", "orc": "ORC"}.get(
        kind, kind or "a table"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
