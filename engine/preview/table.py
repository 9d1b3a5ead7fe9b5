"""What a preview holds: columns with their types, the first rows, and the row count if known."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from dataclasses import dataclass, field
from typing import Any

DEFAULT_ROWS = 200
MAX_CELL_CHARS = 2000  # one huge value must not make a table unusable


class PreviewError(Exception):
    """Data that cannot be previewed (missing, unreadable, binary): a message for the user."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Arrow's name for it: int64, double, string, timestamp[us], ...


@dataclass
class Preview:
    """The first rows of some data. `row_count` is None when counting would read it all."""

    path: str
    format: str  # csv | parquet | json | text | orc | files
    columns: list[Column]
    rows: list[tuple[Any, ...]]
    row_count: int | None = None
    files: int = 1  # data files read or listed (a Spark folder holds many)
    notes: list[str] = field(default_factory=list)  # e.g. "stopped at a malformed line"

    @property
    def truncated(self) -> bool:
        return self.row_count is None or self.row_count > len(self.rows)

    def summary(self) -> str:
        """`891 rows · 12 columns · csv` (or `first 200 rows`), for a status line."""
        if self.row_count is not None:
            rows = f"{self.row_count:,} row{'s' * (self.row_count != 1)}"
            if self.row_count > len(self.rows):
                rows += f" (showing {len(self.rows):,})"
        else:
            rows = f"first {len(self.rows):,} rows"
        parts = [rows, f"{len(self.columns)} column{'s' * (len(self.columns) != 1)}", self.format]
        if self.files > 1:
            parts.append(f"{self.files:,} files")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
            "rows": [[json_value(v) for v in row] for row in self.rows],
            "row_count": self.row_count,
            "files": self.files,
            "notes": list(self.notes),
        }


def cell_text(value: Any) -> str:
    """How a value is shown in a table cell: one line, shortened, nulls empty."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        head = bytes(value[:32]).hex(" ")
        return f"<{len(value)} bytes: {head}{' …' if len(value) > 32 else ''}>"
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str, ensure_ascii=False)
    else:
        text = str(value)
    text = text.replace("\r\n", "↵").replace("\n", "↵").replace("\r", "↵").replace("\t", " ")
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"


def json_value(value: Any) -> Any:
    """A value JSON can hold (dates as ISO text, decimals and bytes as text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | dt.timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)
