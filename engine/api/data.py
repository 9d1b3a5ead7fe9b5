"""Datasets, step inputs and step outputs of the seed-style API (engine.api re-exports them).

`Dataset.Tabular.from_delimited_files(...)`, `Dataset.File.from_files(...)` and
`Dataset.get_by_name(...)` describe data; `.as_named_input(name)` and `.as_download()` /
`.as_mount()` / `.as_hdfs()` say how a step reads it; `OutputFileDatasetConfig` is a folder a
step writes, optionally registered (`register_on_complete`) and published (`destination`).
"""

from __future__ import annotations

import copy
import os
import posixpath
import re
from typing import Any

from engine.pipeline import model, registry
from engine.problems import PipelineError

_NOT_NAME_RE = re.compile(r"[^A-Za-z0-9_\-]+")


def _node_name(text: str, fallback: str) -> str:
    """A valid node/port name made from free text (a file stem, a --flag)."""
    name = _NOT_NAME_RE.sub("_", text).strip("_-")
    if not name:
        return fallback
    return name if model.valid_name(name) else f"_{name}"


def _path_of(path: Any) -> str:
    """The seed passes `[(datastore, "file.csv")]`; Pipeloom paths are relative to the file."""
    if isinstance(path, list | tuple) and len(path) == 1 and isinstance(path[0], list | tuple):
        path = path[0]
    if isinstance(path, list):
        if len(path) != 1:
            raise PipelineError(f"a dataset has exactly one path; got {len(path)}: {path!r}")
        path = path[0]
    if isinstance(path, tuple):
        if len(path) != 2:
            raise PipelineError(f"expected (datastore, path); got {path!r}")
        path = path[1]
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise PipelineError(f"a dataset path must be a non-empty string; got {path!r}")
    text = os.fspath(path)
    if "://" in text:
        return text
    return posixpath.normpath(text.replace(os.sep, "/"))


def _relative_dir(path: str | os.PathLike | None) -> str | None:
    if path is None:
        return None
    return posixpath.normpath(os.fspath(path).replace(os.sep, "/"))


# -- datasets ---------------------------------------------------------------------------------


class Dataset:
    """A dataset: a path read as a table (Tabular) or as files (File), or a registered version.

    Create with `Dataset.Tabular.from_delimited_files`, `Dataset.Tabular.from_parquet_files`,
    `Dataset.File.from_files` or `Dataset.get_by_name`. Datasets on the same path (or the same
    registered version) become one dataset node; a File view of a tabular node is an input
    with `as: file`.
    """

    Tabular: _TabularFactory
    File: _FileFactory

    def __init__(
        self,
        kind: str,
        path: str | None = None,
        registered: str | None = None,
        format: dict[str, Any] | None = None,
        name: str | None = None,
    ):
        if kind not in registry.KINDS:
            raise PipelineError(f"dataset kind must be one of {', '.join(registry.KINDS)}")
        if (path is None) == (registered is None):
            raise PipelineError("a dataset has either a path or a registered dataset reference")
        self.kind = kind
        self.path = path
        self.registered = registered  # "dataset:NAME" or "dataset:NAME@VERSION"
        self.format = dict(format or {})
        self.name = name

    @staticmethod
    def get_by_name(
        *args: Any, name: Any = None, version: Any = None, kind: str = "tabular"
    ) -> Dataset:
        """A registered dataset (`dataset:NAME@VERSION`; no version or "latest" = the newest).

        `get_by_name("x", 2)` or the seed's `get_by_name(ws, name="x", version=2)`.
        """
        if args and not isinstance(args[0], str):
            args = args[1:]  # the seed passes its workspace first
        if len(args) > 2:
            raise TypeError("get_by_name takes a name and a version")
        positional = dict(zip(("name", "version"), args, strict=False))
        if name is not None and "name" in positional:
            raise TypeError("get_by_name got the name twice")
        name = positional.get("name", name)
        version = positional.get("version", version)
        if not isinstance(name, str) or not model.valid_name(name):
            raise PipelineError(f"not a dataset name: {name!r}")
        ref = f"dataset:{name}"
        if version not in (None, "latest"):
            ref += f"@{version}"
        return Dataset(kind, registered=ref, name=name)

    def key(self) -> tuple:
        """Datasets with the same key share one node."""
        return ("path", self.path) if self.path is not None else ("registered", self.registered)

    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self, name=name)

    def as_download(self) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self).as_download()

    def as_mount(self) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self).as_mount()

    def as_hdfs(self) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(self).as_hdfs()

    def __repr__(self) -> str:
        where = self.path if self.path is not None else self.registered
        return f"<Dataset {self.kind} {where}>"


class _TabularFactory:
    @staticmethod
    def from_delimited_files(
        path: Any,
        header: bool = True,
        separator: str = ",",
        encoding: str | None = None,
    ) -> Dataset:
        fmt: dict[str, Any] = {"type": "csv", "header": bool(header), "delimiter": separator}
        if encoding is not None:
            fmt["encoding"] = encoding
        return Dataset("tabular", path=_path_of(path), format=fmt)

    @staticmethod
    def from_parquet_files(path: Any) -> Dataset:
        return Dataset("tabular", path=_path_of(path), format={"type": "parquet"})

    @staticmethod
    def from_json_lines_files(path: Any) -> Dataset:
        return Dataset("tabular", path=_path_of(path), format={"type": "json"})


class _FileFactory:
    @staticmethod
    def from_files(path: Any) -> Dataset:
        return Dataset("file", path=_path_of(path))


Dataset.Tabular = _TabularFactory()
Dataset.File = _FileFactory()


class _InputConfig:
    """Something a step reads: a named input port with a mode (direct/mount/download)."""

    def __init__(self, name: str | None = None, mode: str | None = None):
        if name is not None and not model.valid_name(name):
            raise PipelineError(f"not a valid input name: {name!r}")
        self.name = name
        self.mode = mode

    def _with_mode(self, mode: str):
        dup = copy.copy(self)
        dup.mode = mode
        return dup

    def as_download(self):
        """A private copy in the step's working folder."""
        return self._with_mode("download")

    def as_mount(self):
        """The original path, checked for changes after the step."""
        return self._with_mode("mount")

    def as_hdfs(self):
        """The path/URI as is (mode direct): what Spark steps read."""
        return self._with_mode("direct")

    as_direct = as_hdfs


class DatasetConsumptionConfig(_InputConfig):
    """A dataset read by a step under an input name (the seed's `as_named_input`)."""

    def __init__(self, dataset: Dataset, name: str | None = None, mode: str | None = None):
        super().__init__(name, mode)
        self.dataset = dataset

    def __repr__(self) -> str:
        return f"<input {self.name or '?'} of {self.dataset!r} mode={self.mode}>"


# -- outputs ----------------------------------------------------------------------------------


class OutputFileDatasetConfig:
    """A step's output folder; optionally registered as a dataset and published at a path.

    `destination` is a datastore path (or the seed's `(datastore, path)`); the name defaults
    to the `--flag` before it in the step's arguments.
    """

    def __init__(self, name: str | None = None, destination: Any = None):
        if name is not None and not model.valid_name(name):
            raise PipelineError(f"not a valid output name: {name!r}")
        if isinstance(destination, tuple):
            destination = destination[1] if len(destination) == 2 else destination
        if destination is not None and not isinstance(destination, str):
            raise PipelineError(f"an output destination is a datastore path; got {destination!r}")
        self.name = name
        self.destination = destination
        self.kind = "file"
        self.format: dict[str, Any] = {}
        self.register_as: str | None = None
        self.producer: object | None = None  # the step (engine.api.steps) that writes it

    def register_on_complete(self, name: str) -> OutputFileDatasetConfig:
        """Add a new version of dataset `name` when the step completes."""
        if not model.valid_name(name):
            raise PipelineError(f"not a valid dataset name: {name!r}")
        self.register_as = name
        return self

    def read_parquet_files(self) -> OutputFileDatasetConfig:
        """Declare the folder a table of Parquet files (a tabular output)."""
        self.kind, self.format = "tabular", {"type": "parquet"}
        return self

    def read_delimited_files(
        self, header: bool = True, separator: str = ","
    ) -> OutputFileDatasetConfig:
        """Declare the folder a table of CSV files (a tabular output)."""
        self.kind = "tabular"
        self.format = {"type": "csv", "header": bool(header), "delimiter": separator}
        return self

    def as_input(self, name: str | None = None) -> OutputInputConfig:
        """This output read by a later step, under the input name `name`."""
        return OutputInputConfig(self, name)

    def as_download(self) -> OutputInputConfig:
        return self.as_input().as_download()

    def as_mount(self) -> OutputInputConfig:
        return self.as_input().as_mount()

    def __repr__(self) -> str:
        return f"<output {self.name or '?'} kind={self.kind}>"


class HDFSOutputDatasetConfig(OutputFileDatasetConfig):
    """The seed's Spark output config; the same as OutputFileDatasetConfig here."""


class OutputInputConfig(_InputConfig):
    """An earlier step's output read by a step (the seed's `output.as_input(name)`)."""

    def __init__(self, output: OutputFileDatasetConfig, name: str | None = None):
        super().__init__(name)
        self.output = output

    def __repr__(self) -> str:
        return f"<input {self.name or '?'} of {self.output!r} mode={self.mode}>"
