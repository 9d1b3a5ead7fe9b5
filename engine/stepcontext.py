"""The step context file: what a running step is given (inputs, outputs, parameters).

Written by the runner as JSON; its path is in the environment variable PIPELOOM_STEP_CONTEXT.
This module has no dependencies beyond the standard library: a step imports it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ENV_VAR = "PIPELOOM_STEP_CONTEXT"


@dataclass
class InputInfo:
    name: str
    path: str  # absolute path, or the URI as given
    kind: str  # tabular | file
    format: dict[str, Any]
    mode: str  # direct | mount | download
    is_file: bool
    is_folder: bool
    is_uri: bool = False


@dataclass
class OutputInfo:
    name: str
    path: str  # absolute path that does not exist yet; the step creates it
    kind: str
    format: dict[str, Any]


@dataclass
class StepContext:
    run_id: str
    step: str
    inputs: dict[str, InputInfo] = field(default_factory=dict)
    outputs: dict[str, OutputInfo] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> StepContext:
        data = json.loads(text)
        return cls(
            run_id=data["run_id"],
            step=data["step"],
            inputs={k: InputInfo(**v) for k, v in data.get("inputs", {}).items()},
            outputs={k: OutputInfo(**v) for k, v in data.get("outputs", {}).items()},
            parameters=data.get("parameters", {}),
        )

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, path)


def load_context(path: str | os.PathLike | None = None) -> StepContext:
    """The context of the running step (from PIPELOOM_STEP_CONTEXT unless `path` is given)."""
    location = path or os.environ.get(ENV_VAR)
    if not location:
        raise RuntimeError(
            f"{ENV_VAR} is not set: this script is not running as a Pipeloom step "
            "(pass paths as arguments to run it on its own)"
        )
    return StepContext.from_json(Path(location).read_text(encoding="utf-8"))
