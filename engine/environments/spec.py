"""What an environment is made of, and the key its built virtual environment is cached under.

The key hashes the pip list, the requirements file's content and the base interpreter (its path
and exact version): the same spec in two pipelines shares one build; any edit builds anew.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.pipeline.model import Environment
from engine.problems import PipelineError

LAYOUT = 1  # bump when the way environments are built changes: old builds are then not reused

_versions: dict[tuple[str, float], str] = {}
_versions_lock = threading.Lock()


@dataclass(frozen=True)
class EnvSpec:
    """One environment as the builder sees it."""

    name: str
    pip: tuple[str, ...]  # requirement specifiers, as written
    requirements_file: Path | None  # absolute
    requirements_text: str | None  # its content when the spec was made
    base_python: str  # the interpreter the environment is made from
    base_version: str  # its sys.version, e.g. "3.11.7 (main, ...) [GCC ...]"

    @property
    def needs_build(self) -> bool:
        """An environment without packages is its base interpreter as is: nothing to build."""
        return bool(self.pip) or self.requirements_file is not None

    @property
    def key(self) -> str:
        data = {
            "layout": LAYOUT,
            "pip": list(self.pip),
            "requirements": self.requirements_text,
            "python": self.base_python,
            "version": self.base_version,
        }
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8"))
        return digest.hexdigest()[:20]

    def requirements(self) -> list[str]:
        """The pip list plus the requirements file's requirement lines (options dropped)."""
        reqs = list(self.pip)
        for line in (self.requirements_text or "").splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                reqs.append(line)
        return reqs

    def describe(self) -> str:
        parts = list(self.pip)
        if self.requirements_file is not None:
            parts.append(f"-r {self.requirements_file.name}")
        return " ".join(parts) or "no packages"


def spec_of(env: Environment, base_dir: Path) -> EnvSpec:
    """The spec of `env`, whose requirements file is relative to `base_dir` (the pipeline's
    folder); raises PipelineError when that file or the base interpreter cannot be read."""
    pip = tuple(r.strip() for r in env.pip if r and r.strip())
    req_path = req_text = None
    if env.requirements_file:
        req_path = (base_dir / env.requirements_file).resolve()
        try:
            req_text = req_path.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as e:
            why = getattr(e, "strerror", None) or str(e)
            raise PipelineError(
                f"environment {env.name!r}: cannot read requirements file {req_path}: {why}"
            ) from None
    base = env.python or sys.executable
    return EnvSpec(env.name, pip, req_path, req_text, base, python_version(base, env.name))


def python_version(python: str, env_name: str = "") -> str:
    """sys.version of `python`, asked once per interpreter file (and again when it changes)."""
    if python == sys.executable:
        return sys.version
    try:
        stamp = os.stat(python).st_mtime
    except OSError as e:
        raise PipelineError(
            f"environment {env_name!r}: python {python} cannot be used: {e.strerror}"
        ) from None
    with _versions_lock:
        known = _versions.get((python, stamp))
    if known is not None:
        return known
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PipelineError(f"environment {env_name!r}: cannot run python {python}: {e}") from None
    if out.returncode != 0:
        raise PipelineError(
            f"environment {env_name!r}: python {python} failed: {out.stderr.strip()[-300:]}"
        )
    version = out.stdout.strip()
    with _versions_lock:
        _versions[(python, stamp)] = version
    return version
