"""The seed-style `Pipeline`: steps as one pipeline, turned into the engine model, saved, run."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Sequence
from typing import Any

from engine.api.data import (
    _relative_dir,
)
from engine.api.steps import PipelineParameter, _Step
from engine.pipeline import model
from engine.problems import PipelineError

# -- pipeline ---------------------------------------------------------------------------------


class Pipeline:
    """Steps (and, through their inputs, the steps and datasets they read) as one pipeline.

    Steps that produce an output some listed step reads are included even when not listed
    (the seed's resolve_closure). `parameters` adds pipeline parameters that no argument uses.
    """

    def __init__(
        self,
        steps: Sequence[_Step],
        name: str = "pipeline",
        description: str | None = None,
        parameters: Iterable[PipelineParameter] | None = None,
        datastore: str | None = ".pipeloom/datastore",
        default_source_directory: str | os.PathLike | None = None,
        export: dict[str, Any] | None = None,
    ):
        if not steps:
            raise PipelineError("a pipeline needs at least one step")
        self.steps = list(steps)
        self.name = name
        self.description = description
        self.parameters = list(parameters or [])
        self.datastore = datastore
        self.default_source_directory = _relative_dir(default_source_directory)
        self.export = copy.deepcopy(export or {})
        self.path: str | None = None  # the file it was last saved to (locates the project)

    def to_model(self) -> model.Pipeline:
        """The engine model of this pipeline (datasets as nodes, laid out left to right)."""
        from engine.api.build import build_model  # it reads the classes of this module

        pipeline = build_model(self)
        pipeline.path = self.path
        return pipeline

    def validate(self, base_dir: str | os.PathLike | None = None) -> list:
        """Every problem of the pipeline (engine.problems.Problem), as the seed's validate().

        Paths are checked against `base_dir` (default: the folder it was saved to, if any)."""
        from engine.planning.validate import validate

        return validate(self.to_model(), base_dir=base_dir)

    def save(self, path: str | os.PathLike) -> model.Pipeline:
        """Write the pipeline file (canonical form); returns the saved model."""
        from engine.fileformat import yamlio

        self.path = os.path.abspath(path)
        pipeline = self.to_model()
        yamlio.save(pipeline, self.path)
        return pipeline

    def submit(
        self,
        experiment: str | None = None,
        regenerate_outputs: bool = False,
        parameters: dict[str, Any] | None = None,
        path: str | os.PathLike | None = None,
    ):
        """Start a run in the background (the seed's Experiment.submit); returns a PipelineRun.

        `path`: the pipeline file that locates the project (default ./<name>.yaml, not written).
        """
        from engine.api.run import submit

        return submit(self.to_model(), experiment, regenerate_outputs, parameters, path=path)
