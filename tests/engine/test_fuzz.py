"""Fuzzing `pipeloom validate` in-process with mutated and random pipeline files: every case
ends with exit 0 or 2 and a message, never a traceback, an internal error or a hang."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main

TITANIC = Path(__file__).resolve().parent.parent.parent / "projects" / "titanic"
BASE = (TITANIC / "pipeline.yaml").read_text()
LINES = BASE.splitlines(keepends=True)
# fragments that stress the loader: YAML syntax, anchors, tags, YAML 1.1 scalars, templates
JUNK = [
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "!!python/object/apply:os.system ['touch pipeloom-canary-created'] ",
    "!custom ",
    "<<: ",
    "? ",
    "|\n",
    "\t",
    "on",
    "012",
    "0x1F",
    "1e3",
    "~",
    "yes",
    '"',
    "'",
    "#",
    "\x00",
    "\ufeff",
    "{inputs.",
    "{outputs.x}",
    "../../",
    "7 gigs",
    "dataset:",
    "local[",
    "\n  ",
]


@st.composite
def mutated(draw) -> bytes:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "junk", "indent", "truncate"]))
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "swap" and len(line) > 2:
            j = draw(st.integers(0, len(line) - 2))
            lines[i] = line[:j] + line[j + 1] + line[j] + line[j + 2 :]
        elif op == "junk":
            j = draw(st.integers(0, len(line)))
            lines[i] = line[:j] + draw(st.sampled_from(JUNK)) + line[j:]
        elif op == "indent":
            lines[i] = draw(st.sampled_from(["", " ", "   ", "\t"])) + line.lstrip(" ")
        elif op == "truncate":
            lines = lines[: i + 1]
    return "".join(lines).encode("utf-8", "surrogatepass")


random_files = st.one_of(
    mutated(),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=400),
    st.lists(st.sampled_from(JUNK + [ln.strip() for ln in LINES]), max_size=30).map(
        lambda parts: " ".join(parts).encode("utf-8", "surrogatepass")
    ),
)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("fuzz") / "titanic"
    shutil.copytree(TITANIC, dest, ignore=shutil.ignore_patterns(".pipeloom", "__pycache__"))
    return dest


@pytest.mark.timeout(300)
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=random_files)
def test_validate_never_crashes(project, content):
    path = project / "pipeline.yaml"
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    output = out.getvalue() + err.getvalue()
    assert code in (0, 2), output
    assert "Traceback" not in output and "internal error" not in output, output
    assert err.getvalue().strip(), "every run ends with a summary line"
    if code == 2:
        assert str(path) in output
    assert not (project / "pipeloom-canary-created").exists()
    assert not (Path.cwd() / "pipeloom-canary-created").exists()
