"""Fingerprints: what a step's result depends on, hashed, so unchanged steps are reused.

Data and code are hashed by content. A file's digest is cached in the run store under its
(size, mtime) so an unchanged file is not read again; a change of either re-hashes it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Protocol

from engine.storage.snapshot import source_files

CHUNK = 1 << 20


class DigestCache(Protocol):
    def cached_digest(self, path: str, size: int, mtime_ns: int) -> str | None: ...

    def cache_digests(self, entries: list[tuple[str, int, int, str]]) -> None: ...


class NoCache:
    def cached_digest(self, path: str, size: int, mtime_ns: int) -> str | None:
        return None

    def cache_digests(self, entries: list[tuple[str, int, int, str]]) -> None:
        pass


def is_uri(location: str) -> bool:
    """`s3://...`, `abfss://...`, `hdfs://...` are URIs; `file://` and plain paths are local."""
    scheme, sep, _ = location.partition("://")
    return bool(sep) and scheme.lower() != "file" and scheme.isidentifier()


def hash_json(value: Any) -> str:
    """sha256 of the canonical JSON of `value` (sorted keys, no spaces, str() of the rest)."""
    return hashlib.sha256(_CANONICAL_JSON.encode(value).encode()).hexdigest()


# one encoder for every hash: json.dumps with options builds a new one per call
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


class Hasher:
    """Content digests of files, through a (size, mtime) cache; collects new cache entries."""

    def __init__(self, cache: DigestCache | None = None):
        self.cache = cache or NoCache()
        self._new: list[tuple[str, int, int, str]] = []
        self._memo: dict[tuple[str, int, int], str] = {}
        self._listings: dict[Path, list[str]] = {}  # source_files per folder, once per hasher

    def file(self, path: Path) -> str:
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        digest = self._memo.get(key)
        if digest is None:
            digest = self.cache.cached_digest(*key)
            if digest is None:
                digest = _sha256_file(path)
                self._new.append((*key, digest))
            self._memo[key] = digest
        return digest

    def files(self, root: Path, rels: list[str]) -> str:
        h = hashlib.sha256()
        for rel in rels:
            h.update(rel.encode() + b"\0" + self.file(root / rel).encode() + b"\n")
        return h.hexdigest()

    def data(self, location: str) -> str:
        """Fingerprint of a dataset: content of a local file/folder, the text of a URI."""
        if is_uri(location):
            return hash_json(["uri", location])
        path = Path(location.removeprefix("file://")).resolve()
        if path.is_file():
            return hash_json(["file", self.file(path)])
        if not path.is_dir():
            raise FileNotFoundError(str(path))
        rels = []
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, path)
            for name in filenames:
                rels.append(os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/"))
        return hash_json(["folder", self.files(path, sorted(rels))])

    def code(self, source_dir: Path, exclude: set[str] = frozenset()) -> str:
        """Fingerprint of a source directory's counted files (ignore rules and caches excluded).

        `exclude`: relative paths left out (other steps' entry files this step does not import).
        """
        root = source_dir.resolve()
        listed = self._listings.get(root)
        if listed is None:
            listed = self._listings[root] = source_files(root)
        rels = [r for r in listed if r not in exclude]
        return hash_json(["code", self.files(root, rels)])

    def flush(self) -> None:
        """Store the digests computed since the last flush."""
        new, self._new = self._new, []
        self.cache.cache_digests(new)


def local_imports(entry: Path, root: Path) -> set[str]:
    """Relative paths of the modules under `root` that `entry` imports, transitively (static).

    The plan uses it only to leave another step's entry file out of a step's code fingerprint;
    every other file of the folder always counts. Dynamic imports (importlib) are not seen.
    """
    root = root.resolve()
    found: set[str] = set()
    todo = [entry.resolve()]
    while todo:
        path = todo.pop()
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        package = path.parent
        for node in ast.walk(tree):
            names: list[tuple[Path, list[str]]] = []
            if isinstance(node, ast.Import):
                names = [(root, a.name.split(".")) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = root
                if node.level:
                    base = package
                    for _ in range(node.level - 1):
                        base = base.parent
                parts = node.module.split(".") if node.module else []
                names = [(base, parts)] + [(base, [*parts, a.name]) for a in node.names]
            for base, parts in names:
                for candidate in _module_files(base, parts):
                    try:
                        rel = candidate.resolve().relative_to(root).as_posix()
                    except ValueError:
                        continue
                    if rel not in found:
                        found.add(rel)
                        todo.append(candidate)
    return found


def _module_files(base: Path, parts: list[str]) -> list[Path]:
    """module.py or package/__init__.py for each prefix of a dotted name under `base`."""
    files = []
    for i in range(1, len(parts) + 1):
        target = base.joinpath(*parts[:i])
        for candidate in (target.with_suffix(".py"), target / "__init__.py"):
            if candidate.is_file():
                files.append(candidate)
    return files


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def output_fingerprint(step_fingerprint: str, output: str) -> str:
    """An output is identified by the step that makes it: same step fingerprint, same data."""
    return hashlib.sha256(f"output\0{step_fingerprint}\0{output}".encode()).hexdigest()
