"""Previews of data: the first rows of a dataset node, a step's output or a registered dataset.

`readers` turns a file or folder (CSV/TSV, Parquet, JSON lines, text, Spark's part-file
folders with `k=v/` partitions) into a `Preview` without reading it whole (pyarrow's
streaming readers and datasets); `locate` finds where a node's, an output's or a registered
version's data is, through the run store. Qt-free: the CLI and the designer both use it. It
imports only the engine's model, store and datastore modules and pyarrow.
"""

from __future__ import annotations

from engine.preview.locate import DataLocation, locate_dataset, locate_target, open_store
from engine.preview.readers import detect_format, read_preview
from engine.preview.table import DEFAULT_ROWS, Column, Preview, PreviewError, cell_text

__all__ = [
    "DEFAULT_ROWS",
    "Column",
    "DataLocation",
    "Preview",
    "PreviewError",
    "cell_text",
    "detect_format",
    "locate_dataset",
    "locate_target",
    "open_store",
    "read_preview",
]
