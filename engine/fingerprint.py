"""Fingerprints: what a step's result depends on, hashed, so unchanged steps are reused.

Data and code are hashed by content. A file's digest is cached in the run store under its
(size, mtime) so an unchanged file is not read again; a change of either re-hashes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Protocol

from .snapshot import source_files

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
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Hasher:
    """Content digests of files, through a (size, mtime) cache; collects new cache entries."""

    def __init__(self, cache: DigestCache | None = None):
        self.cache = cache or NoCache()
        self._new: list[tuple[str, int, int, str]] = []
        self._memo: dict[tuple[str, int, int], str] = {}

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

    def code(self, source_dir: Path) -> str:
        """Fingerprint of a source directory's counted files (ignore rules and caches excluded)."""
        root = source_dir.resolve()
        return hash_json(["code", self.files(root, source_files(root))])

    def flush(self) -> None:
        """Store the digests computed since the last flush."""
        new, self._new = self._new, []
        self.cache.cache_digests(new)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def output_fingerprint(step_fingerprint: str, output: str) -> str:
    """An output is identified by the step that makes it: same step fingerprint, same data."""
    return hash_json(["output", step_fingerprint, output])
