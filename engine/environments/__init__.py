"""Step environments, really built: a cached virtual environment per environment spec.

`interpreter_for(env, base_dir, log)` is what a run calls before a step starts: it returns the
interpreter the step runs with, building the environment first when no complete build of its
spec exists (spec.py: the key; cache.py: the folders, locks and pruning; build.py: uv or venv +
pip; indexes.py: the user's package sources; check.py: verifying a build). Pure Python, no Qt;
imports only engine.pipeline.model and engine.problems from the rest of the engine.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.environments import cache
from engine.environments.build import BuildCanceled, EnvironmentBuildError, Outcome, ensure_built
from engine.environments.spec import EnvSpec, spec_of
from engine.pipeline.model import Environment

__all__ = [
    "BuildCanceled",
    "EnvState",
    "EnvironmentBuildError",
    "EnvSpec",
    "Outcome",
    "ensure_built",
    "interpreter_for",
    "planned_python",
    "spec_of",
    "state_of",
]


def interpreter_for(
    env: Environment | None,
    base_dir: Path,
    log: Callable[[str], None] = lambda _t: None,
    canceled: Callable[[], bool] = lambda: False,
) -> str:
    """The interpreter a step of `env` runs with, built now when needed (raises PipelineError,
    EnvironmentBuildError for a failed build, naming the environment, BuildCanceled when
    `canceled()` turned true during the build)."""
    if env is None:
        return sys.executable
    spec = spec_of(env, base_dir)
    if not spec.needs_build:
        return spec.base_python
    outcome = ensure_built(spec, log, canceled)
    log(outcome.summary(env.name))
    return outcome.python


def planned_python(env: Environment | None, base_dir: Path) -> str:
    """The interpreter a step of `env` will run with, known before it is built (for starting
    its Spark server early); raises PipelineError like spec_of."""
    if env is None:
        return sys.executable
    spec = spec_of(env, base_dir)
    if not spec.needs_build:
        return spec.base_python
    return str(cache.python_of(cache.env_dir(spec.key)))


@dataclass
class EnvState:
    """What `pipeloom envs` and the designer show for one environment of a pipeline."""

    name: str
    spec: EnvSpec | None
    built: cache.Built | None
    problem: str | None = None  # why its spec cannot be read

    @property
    def needs_build(self) -> bool:
        return self.spec is not None and self.spec.needs_build

    @property
    def state(self) -> str:
        if self.problem:
            return "error"
        if not self.needs_build:
            return "no packages"
        return "built" if self.built else "not built"

    @property
    def path(self) -> str:
        if self.built is not None:
            return str(self.built.path)
        if self.spec is not None and self.needs_build:
            return str(cache.env_dir(self.spec.key))
        return self.spec.base_python if self.spec else ""


def state_of(env: Environment, base_dir: Path) -> EnvState:
    from engine.problems import PipelineError

    try:
        spec = spec_of(env, base_dir)
    except PipelineError as e:
        return EnvState(env.name, None, None, str(e.problems[0].message))
    built = cache.read_built(spec.key) if spec.needs_build else None
    return EnvState(env.name, spec, built)
