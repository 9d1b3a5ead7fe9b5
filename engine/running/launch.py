"""Everything a step process is given: inputs placed per mode, fresh output paths, the context
file, expanded arguments, the environment, and the interpreter (its environment built)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.backends.base import StepLaunch
from engine.environments import interpreter_for
from engine.pipeline.computes import is_ray
from engine.pipeline.model import TEMPLATE_RE
from engine.planning.fingerprint import Hasher, is_uri
from engine.planning.plan import Plan, StepPlan
from engine.problems import PipelineError
from engine.stepcontext import ENV_VAR, InputInfo, OutputInfo, StepContext
from engine.storage.datastore import copy_into
from engine.storage.store import RunStore

ENGINE_PARENT = str(Path(__file__).resolve().parents[2])  # the folder holding engine/
DOWNLOADS = "inputs"  # the step's private copies of `mode: download` inputs, in its workdir


def discard_downloads(workdir: Path) -> None:
    """Delete a step's private input copies once it has ended (the originals stay)."""
    shutil.rmtree(workdir / DOWNLOADS, ignore_errors=True)


class StepLaunches:
    """Builds the StepLaunch of each step of one run (thread-safe)."""

    def __init__(self, plan: Plan, run_id: str, store: RunStore, project_dir: Path):
        self.plan = plan
        self.run_id = run_id
        self.store = store
        self.project_dir = project_dir

    def build(
        self,
        step: StepPlan,
        workdir: Path,
        code: Path,
        done: dict[str, dict[str, str]],
        log: Callable[[str], None] = lambda _text: None,
        canceled: Callable[[], bool] = lambda: False,
    ) -> tuple[StepLaunch, dict[str, tuple[str, str, bool]]]:
        """The launch of `step`; `done` holds the outputs of the steps it reads from. Its
        environment is built first when needed, the build's output going to `log` (and
        stopped when `canceled()` turns true).

        Returns it with the mounted inputs' (location, fingerprint before the step, whether
        the data is a dataset whose digests are worth caching in the store).
        """
        plan, run_id = self.plan, self.run_id
        workdir.mkdir(parents=True, exist_ok=True)
        # a cluster's workers install the environment themselves (a Ray runtime environment)
        python = (
            sys.executable
            if is_ray(step.compute)
            else interpreter_for(step.environment, self.project_dir, log, canceled)
        )
        hasher = Hasher(self.store)
        fresh = Hasher()  # outputs of this run's steps: new files, nothing to find in a cache
        inputs: dict[str, InputInfo] = {}
        mounted: dict[str, tuple[str, str, bool]] = {}
        for inp in step.inputs:
            location = inp.location
            if inp.source_is_step and location is None:
                location = done[inp.source_node][inp.source_output]
            assert location is not None
            uri = is_uri(location)
            if inp.mode == "download" and not uri:
                location = str(copy_into(Path(location), workdir / DOWNLOADS / inp.name))
            elif inp.mode == "mount" and not uri:
                digests = fresh if inp.source_is_step else hasher
                mounted[inp.name] = (location, digests.data(location), not inp.source_is_step)
            p = Path(location)
            inputs[inp.name] = InputInfo(
                name=inp.name,
                path=location,
                kind=inp.kind,
                format=inp.format,
                mode=inp.mode,
                is_file=not uri and p.is_file(),
                is_folder=not uri and p.is_dir(),
                is_uri=uri,
            )
        hasher.flush()
        outputs = {
            o.name: OutputInfo(
                o.name,
                str(plan.datastore.temp_output_path(run_id, step.name, o.name)),
                o.kind,
                o.format,
            )
            for o in step.outputs
        }
        context = StepContext(run_id, step.name, inputs, outputs, dict(step.parameters))
        context_file = workdir / "context.json"
        context.write(context_file)
        values = {
            "inputs": {k: v.path for k, v in inputs.items()},
            "outputs": {k: v.path for k, v in outputs.items()},
            "parameters": {k: _param_text(v) for k, v in plan.parameters.items()},
        }
        args = [
            TEMPLATE_RE.sub(lambda m: values[m.group(1)][m.group(2)], str(a))
            for a in (step.node.params.get("arguments") or [])
        ]
        env = dict(os.environ)
        env.update(
            {
                ENV_VAR: str(context_file),
                "PYTHONUNBUFFERED": "1",
                "PIPELOOM_RUN_ID": run_id,
                "PIPELOOM_STEP": step.name,
            }
        )
        if python != sys.executable:  # another interpreter still finds `engine.step`
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (env.get("PYTHONPATH"), ENGINE_PARENT) if p
            )
        entry = code / step.entry.relative_to(step.source_dir)
        launch = StepLaunch(
            run_id=run_id,
            step=step.name,
            node=step.node,
            compute=step.compute,
            environment=step.environment,
            python=python,
            workdir=workdir,
            code_dir=code,
            entry=entry,
            args=args,
            env=env,
            context_file=context_file,
            project_dir=self.project_dir,
        )
        return launch, mounted

    def check_mounts(self, mounted: dict[str, tuple[str, str, bool]]) -> None:
        hasher, fresh = Hasher(self.store), Hasher()
        changed = []
        for name, (location, before, cached) in mounted.items():
            try:
                after = (hasher if cached else fresh).data(location)
            except FileNotFoundError:
                after = None
            if after != before:
                changed.append(f"{name} ({location})")
        hasher.flush()
        if changed:
            raise PipelineError(
                f"the step changed its mounted input(s) {', '.join(changed)}: mount gives the "
                "original data, which a step must not modify; use mode: download for a private copy"
            )


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
