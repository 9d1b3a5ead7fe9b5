"""The helper a step imports: ``from engine.step import context, read_tabular``.

`context()` is the running step's StepContext (inputs, outputs, parameters). `read_tabular`
reads a tabular input with its declared format, into pandas, or into Spark when given a
SparkSession. Plain paths in the arguments keep scripts runnable outside Pipeloom.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from engine.stepcontext import InputInfo, StepContext, load_context

_context: StepContext | None = None


def context() -> StepContext:
    global _context
    if _context is None:
        _context = load_context()
    return _context


def read_tabular(name: str, spark: Any = None, **options: Any):
    """Input `name` as a DataFrame: pandas by default, Spark when `spark` (a SparkSession) is given.

    Extra keyword options override the declared format's (e.g. ``header=False``).
    """
    info = context().inputs.get(name)
    if info is None:
        known = ", ".join(context().inputs) or "none"
        raise KeyError(f"this step has no input {name!r} (its inputs: {known})")
    return read_input(info, spark, **options)


def read_input(info: InputInfo, spark: Any = None, **options: Any):
    fmt = dict(info.format or {})
    fmt.update(options)
    kind = fmt.pop("type", "csv")
    if spark is not None:
        return _spark_reader(spark, kind, fmt).load(info.path)
    return _read_pandas(info.path, kind, fmt)


def _spark_reader(spark: Any, kind: str, fmt: dict[str, Any]):
    reader = spark.read.format(kind)
    if kind == "csv":
        if "header" in fmt:
            reader = reader.option("header", str(bool(fmt.pop("header"))).lower())
        if "delimiter" in fmt:
            reader = reader.option("sep", fmt.pop("delimiter"))
        reader = reader.option("inferSchema", str(fmt.pop("infer_schema", True)).lower())
    for key, value in fmt.items():
        reader = reader.option(key, value if isinstance(value, str) else str(value).lower())
    return reader


def _parts(path: str, suffixes: tuple[str, ...]) -> list[str]:
    """The data files of a folder written by Spark (part-*), or the file itself."""
    if os.path.isdir(path):
        files = sorted(
            f
            for f in glob.glob(os.path.join(path, "**", "*"), recursive=True)
            if os.path.isfile(f) and not os.path.basename(f).startswith(("_", "."))
        )
        typed = [
            f for f in files if f.endswith(suffixes) or os.path.basename(f).startswith("part-")
        ]
        files = typed or files
        if not files:
            raise FileNotFoundError(f"no data files in folder {path}")
        return files
    return [path]


def _read_pandas(path: str, kind: str, fmt: dict[str, Any]):
    import pandas as pd

    encoding = fmt.get("encoding")
    if kind == "csv":
        header = fmt.get("header", True)
        sep = fmt.get("delimiter", ",")
        frames = [
            pd.read_csv(f, sep=sep, header=0 if header else None, encoding=encoding)
            for f in _parts(path, (".csv",))
        ]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if kind == "parquet":
        return pd.read_parquet(path)
    if kind == "json":
        frames = [pd.read_json(f, lines=True, encoding=encoding) for f in _parts(path, (".json",))]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if kind == "orc":
        return pd.read_orc(path)
    if kind == "text":
        lines: list[str] = []
        for f in _parts(path, ()):
            with open(f, encoding=encoding or "utf-8") as handle:
                lines += handle.read().splitlines()
        return pd.DataFrame({"value": lines})
    raise ValueError(f"cannot read format {kind!r} into pandas")
