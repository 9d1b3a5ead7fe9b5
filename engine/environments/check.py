"""An environment's pip requirements, and which of them an interpreter does not satisfy (used to
verify a freshly built environment before anything trusts it)."""

from __future__ import annotations

import json
import subprocess

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
