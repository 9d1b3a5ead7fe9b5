"""engine/ never imports Qt: import every engine module in a fresh interpreter and look."""

from __future__ import annotations

import json
import subprocess
import sys

IMPORT_ALL = r"""
import importlib, json, pkgutil, sys
import engine

failed = {}
imported = []
for info in pkgutil.walk_packages(engine.__path__, "engine."):
    if info.name.endswith(".__main__"):
        continue  # `python -m` entry points run when imported
    try:
        importlib.import_module(info.name)
        imported.append(info.name)
    except Exception as exc:  # reported, so a broken module cannot hide a Qt import
        failed[info.name] = f"{type(exc).__name__}: {exc}"
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6"))
print(json.dumps({"imported": imported, "failed": failed, "qt": qt}))
"""


def test_importing_every_engine_module_loads_no_qt():
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (
        "engine.pipeline.model" in result["imported"]
        and "engine.planning.validate" in result["imported"]
    )
    assert result["failed"] == {}
    assert result["qt"] == [], f"engine imported Qt: {result['qt']}"
