"""Check an environment's pip requirements against the interpreter that will run the step."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.pipeline.model import Environment
from engine.problems import PipelineError

# runs inside the target interpreter: prints {requirement: problem} for unmet ones
_CHECK_SCRIPT = r"""
import json, sys
from importlib import metadata
try:
    from packaging.requirements import Requirement
except ImportError:
    Requirement = None
missing = {}
for text in json.loads(sys.argv[1]):
    name = text
    if Requirement is not None:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = req.name
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        missing[text] = "not installed"
        continue
    if Requirement is not None and req.specifier and not req.specifier.contains(version, prereleases=True):
        missing[text] = "installed " + version
print(json.dumps(missing))
"""


def requirements(env: Environment, base_dir: Path) -> list[str]:
    """The environment's pip list plus its requirements file's lines (options/comments dropped)."""
    reqs = [r.strip() for r in env.pip if r and r.strip()]
    if env.requirements_file:
        path = (base_dir / env.requirements_file).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise PipelineError(
                f"environment {env.name!r}: cannot read requirements file {path}: {e.strerror}"
            ) from None
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                reqs.append(line)
    return reqs


def missing_requirements(reqs: list[str], python: str) -> dict[str, str]:
    """{requirement: what is wrong} for the requirements `python` does not satisfy."""
    if not reqs:
        return {}
    try:
        out = subprocess.run(
            [python, "-c", _CHECK_SCRIPT, json.dumps(reqs)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError as e:
        raise PipelineError(f"cannot run the interpreter {python}: {e.strerror}") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise PipelineError(f"cannot check requirements with {python}: {last}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_environment(env: Environment | None, base_dir: Path) -> str:
    """The interpreter to use; raises PipelineError listing what is missing from it."""
    python = (env.python if env and env.python else None) or sys.executable
    if env is None:
        return python
    missing = missing_requirements(requirements(env, base_dir), python)
    if missing:
        listed = "; ".join(f"{req} ({why})" for req, why in missing.items())
        raise PipelineError(
            f"environment {env.name!r} needs packages that {python} does not have: {listed}. "
            f"Install them (e.g. {python} -m pip install "
            + " ".join(f"'{r}'" for r in missing)
            + ")"
        )
    return python
