"""An environment packed for executors on other machines: its own packages as one zip, which
Spark puts on the executors' Python path (Spark Connect artifacts, spark-submit --py-files).

Only what the environment installed itself goes in (the base's packages are the cluster's
business); pure-Python code imports from a zip, compiled extensions do not, so those are named
for the user to install on the cluster.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from engine.environments.build import BASE_PTH
from engine.environments.cache import Built

PACKED = "pipeloom-packages.zip"  # inside the build's folder: pruned with it
_COMPILED = (".so", ".pyd", ".dylib")


def site_packages(built: Built) -> Path:
    found = sorted((built.path / "lib").glob("python*/site-packages"))
    if not found:
        raise FileNotFoundError(f"no site-packages in {built.path}")
    return found[0]


def packed_packages(built: Built) -> tuple[Path, list[str]]:
    """The zip of the build's own packages (made once, atomically) and the top-level names in
    it that hold compiled code."""
    site = site_packages(built)
    target = built.path / PACKED
    compiled: set[str] = set()
    for dirpath, _dirs, files in os.walk(site):
        if any(f.endswith(_COMPILED) for f in files):
            compiled.add(Path(dirpath).relative_to(site).parts[0] if dirpath != str(site) else "")
    compiled.discard("")
    if not target.exists():
        temp = target.with_name(f".{PACKED}.{os.getpid()}.tmp")
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as z:
            for dirpath, dirs, files in os.walk(site):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for name in sorted(files):
                    if name == BASE_PTH or name.endswith(".pyc"):
                        continue
                    path = Path(dirpath) / name
                    z.write(path, path.relative_to(site).as_posix())
        os.replace(temp, target)
    return target, sorted(compiled)
