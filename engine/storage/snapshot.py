"""Which files of a source directory count (ignore rules) and the copy a step runs on."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

ALWAYS_SKIPPED_DIRS = frozenset({"__pycache__", ".pipeloom", ".git", ".hg", ".svn"})
ALWAYS_SKIPPED_SUFFIXES = (".pyc", ".pyo")
IGNORE_FILES = (".gitignore", ".pipeloomignore")


class IgnoreRules:
    """The patterns of a folder's .gitignore and .pipeloomignore (gitignore syntax, root files)."""

    def __init__(self, lines: list[str]):
        self._rules: list[tuple[re.Pattern, bool, bool]] = []  # (regex, negated, dir_only)
        for raw in lines:
            line = raw.rstrip("\n").rstrip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            if negated:
                line = line[1:]
            if line.startswith("\\"):
                line = line[1:]
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            if not line:
                continue
            anchored = "/" in line
            line = line.lstrip("/")
            body = _glob_to_regex(line)
            prefix = "" if anchored else "(?:.*/)?"
            self._rules.append((re.compile(f"^{prefix}{body}$"), negated, dir_only))

    @classmethod
    def for_directory(cls, root: Path) -> IgnoreRules:
        lines: list[str] = []
        for name in IGNORE_FILES:
            f = root / name
            if f.is_file():
                lines += f.read_text(encoding="utf-8", errors="replace").splitlines()
        return cls(lines)

    def ignored(self, rel: str, is_dir: bool) -> bool:
        result = False
        for regex, negated, dir_only in self._rules:
            if dir_only and not is_dir:
                continue
            if regex.match(rel):
                result = not negated
        return result


def _glob_to_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                cls = pattern[i + 1 : end].replace("\\", "\\\\")
                if cls.startswith("!"):
                    cls = "^" + cls[1:]
                out.append(f"[{cls}]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def source_files(root: Path) -> list[str]:
    """Relative POSIX paths of the files that make up `root`'s code, sorted."""
    root = Path(root)
    rules = IgnoreRules.for_directory(root)
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in ALWAYS_SKIPPED_DIRS and not rules.ignored(rel_dir + d, is_dir=True)
        )
        for name in filenames:
            rel = rel_dir + name
            if name.endswith(ALWAYS_SKIPPED_SUFFIXES) or rules.ignored(rel, is_dir=False):
                continue
            found.append(rel)
    return sorted(found)


def take_snapshot(root: Path, dest: Path) -> list[str]:
    """Copy the counted files of `root` into `dest` (created); returns what was copied."""
    files = source_files(root)
    dest.mkdir(parents=True, exist_ok=True)
    made: set[Path] = {dest}
    for rel in files:
        target = dest / rel
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        shutil.copy2(root / rel, target)
    return files
