"""Fingerprints: content hashing through the (size, mtime) cache, ignore rules, snapshots."""

from __future__ import annotations

import os

from engine.planning.fingerprint import Hasher, is_uri
from engine.storage.snapshot import IgnoreRules, source_files, take_snapshot
from engine.storage.store import RunStore


class CountingStore:
    """A real RunStore that counts how often a file's digest had to be computed."""

    def __init__(self, path):
        self.store = RunStore(path)
        self.misses = 0

    def cached_digest(self, path, size, mtime_ns):
        found = self.store.cached_digest(path, size, mtime_ns)
        self.misses += found is None
        return found

    def cache_digests(self, entries):
        self.store.cache_digests(entries)


def test_data_fingerprint_follows_content_and_uses_the_cache(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    cache = CountingStore(tmp_path / ".pipeloom")
    first = Hasher(cache)
    fp1 = first.data(str(data))
    first.flush()
    second = Hasher(cache)
    assert second.data(str(data)) == fp1
    assert cache.misses == 1  # the second hasher found the digest in the store
    data.write_text("a,b\n1,3\n")  # same size, new content and mtime
    assert Hasher(cache).data(str(data)) != fp1
    st = data.stat()
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched only
    assert Hasher(cache).data(str(data)) == Hasher().data(str(data))


def test_folder_fingerprint_covers_names_and_contents(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "part-0").write_text("x")
    fp = Hasher().data(str(folder))
    (folder / "part-1").write_text("y")
    fp2 = Hasher().data(str(folder))
    assert fp2 != fp
    (folder / "part-1").rename(folder / "part-2")
    assert Hasher().data(str(folder)) not in (fp, fp2)


def test_uris_are_fingerprinted_by_their_text():
    assert is_uri("abfss://c@acct.dfs.core.windows.net/x") and not is_uri("file:///tmp/x")
    assert Hasher().data("s3://bucket/a") != Hasher().data("s3://bucket/b")


def test_ignore_rules_follow_gitignore_syntax():
    rules = IgnoreRules(
        ["# comment", "*.log", "build/", "/top.txt", "docs/**/*.tmp", "!keep.log", ""]
    )
    assert rules.ignored("x.log", False) and rules.ignored("a/b/x.log", False)
    assert not rules.ignored("keep.log", False)
    assert rules.ignored("build", True) and not rules.ignored("build", False)
    assert rules.ignored("top.txt", False) and not rules.ignored("sub/top.txt", False)
    assert rules.ignored("docs/a/b/c.tmp", False) and rules.ignored("docs/c.tmp", False)
    assert not rules.ignored("other/c.tmp", False)


def test_source_files_skip_caches_and_ignored_files_and_snapshot_copies_them(tmp_path):
    src = tmp_path / "code"
    (src / "pkg" / "__pycache__").mkdir(parents=True)
    (src / ".git").mkdir()
    (src / "main.py").write_text("print(1)\n")
    (src / "pkg" / "util.py").write_text("X = 1\n")
    (src / "pkg" / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"\0")
    (src / ".git" / "HEAD").write_text("ref")
    (src / "notes.tmp").write_text("scratch")
    (src / ".gitignore").write_text("*.tmp\n")
    assert source_files(src) == [".gitignore", "main.py", "pkg/util.py"]
    code_fp = Hasher().code(src)
    (src / "other.tmp").write_text("ignored")
    (src / "pkg" / "__pycache__" / "x.pyc").write_bytes(b"\1")
    assert Hasher().code(src) == code_fp
    (src / "pkg" / "util.py").write_text("X = 2\n")
    assert Hasher().code(src) != code_fp

    copied = take_snapshot(src, tmp_path / "snap")
    assert copied == [".gitignore", "main.py", "pkg/util.py"]
    assert (tmp_path / "snap" / "pkg" / "util.py").read_text() == "X = 2\n"
    assert not (tmp_path / "snap" / "notes.tmp").exists()


def test_local_imports_follow_absolute_relative_and_package_imports(tmp_path):
    from engine.planning.fingerprint import local_imports

    (tmp_path / "pkg").mkdir()
    (tmp_path / "main.py").write_text("import util\nfrom pkg import tools\nimport os\n")
    (tmp_path / "util.py").write_text("from pkg.deep import x\n")
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tools.py").write_text("from . import helpers\n")
    (tmp_path / "pkg" / "helpers.py").write_text("")
    (tmp_path / "pkg" / "deep.py").write_text("")
    (tmp_path / "other.py").write_text("")
    assert local_imports(tmp_path / "main.py", tmp_path) == {
        "util.py",
        "pkg/__init__.py",
        "pkg/tools.py",
        "pkg/helpers.py",
        "pkg/deep.py",
    }
