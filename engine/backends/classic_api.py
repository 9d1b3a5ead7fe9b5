"""Does a step's code use Spark's classic API (which Spark Connect cannot run)?

A cheap static scan (ast, no imports) of the entry file and the snapshot's other modules, so
`backend: auto` can pick spark-submit for RDD/SparkContext code and Connect for the rest.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

# attribute or name uses that exist only on the classic (JVM-backed) API
CLASSIC_ATTRIBUTES = {
    "sparkContext": "sparkContext",
    "rdd": ".rdd",
    "parallelize": "parallelize (RDD)",
    "textFile": "textFile (RDD)",
    "wholeTextFiles": "wholeTextFiles (RDD)",
    "_jvm": "the JVM gateway (_jvm)",
    "_jsc": "the JVM gateway (_jsc)",
    "_jsparkSession": "the JVM gateway (_jsparkSession)",
}
CLASSIC_NAMES = {"SparkContext": "SparkContext", "StreamingContext": "StreamingContext"}
MAX_FILES = 300  # a source folder bigger than this is scanned only partly (entry first)
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class ClassicUse:
    path: Path
    line: int
    what: str

    def describe(self, root: Path) -> str:
        try:
            shown = self.path.relative_to(root)
        except ValueError:
            shown = self.path
        return f"{shown} line {self.line} uses {self.what}"


def _is_builder_master(node: ast.Call) -> bool:
    """`SparkSession.builder.master(...)` (possibly after other builder calls)."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "master"):
        return False
    target = func.value
    while True:
        if isinstance(target, ast.Attribute):
            if target.attr == "builder":
                return True
            target = target.value
        elif isinstance(target, ast.Call):
            target = target.func
        else:
            return False


def scan_source(source: str, path: Path) -> ClassicUse | None:
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError):
        return None  # the step will report its own syntax error when it runs
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in CLASSIC_ATTRIBUTES:
            return ClassicUse(path, node.lineno, CLASSIC_ATTRIBUTES[node.attr])
        if isinstance(node, ast.Name) and node.id in CLASSIC_NAMES:
            return ClassicUse(path, node.lineno, CLASSIC_NAMES[node.id])
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in CLASSIC_NAMES:
                    return ClassicUse(path, node.lineno, CLASSIC_NAMES[alias.name])
        if isinstance(node, ast.Call) and _is_builder_master(node):
            return ClassicUse(path, node.lineno, "builder.master(...)")
    return None


def find_classic_use(entry: Path, code_dir: Path) -> ClassicUse | None:
    """The first classic-API use in the entry file, else in the code folder's other modules."""
    files = [entry] + sorted(
        p
        for p in code_dir.rglob("*.py")
        if p != entry and not any(part.startswith(".") for part in p.relative_to(code_dir).parts)
    )
    budget = MAX_BYTES
    for path in files[:MAX_FILES]:
        try:
            source = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        budget -= len(source)
        if budget < 0:
            break
        found = scan_source(source, path)
        if found:
            return found
    return None
