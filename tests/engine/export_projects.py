"""Projects the export tests export: written to a temp folder as real files.

`fan_project` is script steps only (fast to run anywhere): a CSV dataset and a folder
dataset, a step with two outputs (one published, one registered), a step whose name is not
an Azure ML name, a fan-in step with every input mode, parameters and allow_reuse: false.
Each step runs `code/step.py`, which reads every input through Pipeloom's step helper,
checks that the paths in its arguments are the ones in its context, and writes a digest.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.fileformat import yamlio

PROJECTS = Path(__file__).resolve().parents[2] / "projects"

STEP_SCRIPT = r'''
"""Reads each input (file or folder) via the step context; writes what it read to each output."""
import argparse
import json
import os
import sys

from engine.step import context

parser = argparse.ArgumentParser()
parser.add_argument("--in", dest="inputs", nargs=2, action="append", default=[], metavar=("NAME", "PATH"))
parser.add_argument("--out", dest="outputs", nargs=2, action="append", default=[], metavar=("NAME", "PATH"))
parser.add_argument("--label", default="")
parser.add_argument("--factor", type=float, default=1.0)
parser.add_argument("--fail", action="store_true")
args = parser.parse_args()
ctx = context()
for name, path in args.inputs:  # the arguments and the context agree
    assert ctx.inputs[name].path == path, (name, ctx.inputs[name].path, path)
for name, path in args.outputs:
    assert ctx.outputs[name].path == path, (name, ctx.outputs[name].path, path)
    assert not os.path.exists(path), f"output {name} exists before the step ran"
if args.fail:
    print("failing on purpose", file=sys.stderr)
    sys.exit(3)
lines = []
for name, info in sorted(ctx.inputs.items()):
    if info.is_folder:
        for root, _, files in sorted(os.walk(info.path)):
            for f in sorted(files):
                with open(os.path.join(root, f)) as fh:
                    lines.append(f"{name}/{f}: {fh.read().strip()}")
    else:
        with open(info.path) as fh:
            lines.append(f"{name}: {fh.read().strip()}")
lines.append(f"{ctx.step} label={args.label} factor={args.factor * 2}")
for name, info in ctx.outputs.items():
    os.makedirs(info.path)
    with open(os.path.join(info.path, "part-0.txt"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
with open(os.environ["PIPELOOM_STEP_CONTEXT"]) as fh:
    print("context", json.dumps(sorted(json.load(fh)["inputs"])))
print(f"step {ctx.step} done")
'''

FAN_PIPELINE = """\
pipeloom: 1
name: fan
description: script steps that split, clean and merge
computes:
  cpus: {type: cpu-pool, workers: 2}
environments:
  tools: {pip: ["numpy>=1.26"]}
parameters:
  label: {type: string, default: hello}
  factor: {type: number, default: 1.5}
nodes:
  raw:
    type: dataset
    kind: tabular
    path: data/raw.csv
    format: {type: csv, header: true}
  docs:
    type: dataset
    kind: file
    path: data/docs
  split:
    type: script-step
    compute: cpus
    source_directory: code
    script: step.py
    inputs:
      raw: {from: raw, mode: mount}
    outputs:
      left: {kind: file, destination: published/left}
      right: {kind: file, register_as: right_side}
    arguments: [--in, raw, "{inputs.raw}", --out, left, "{outputs.left}", --out, right, "{outputs.right}"]
  left-clean:
    type: script-step
    compute: cpus
    environment: tools
    source_directory: code
    script: step.py
    inputs:
      left: {from: split.left, mode: download}
    outputs:
      cleaned: {kind: file}
    arguments: [--in, left, "{inputs.left}", --out, cleaned, "{outputs.cleaned}", --label, "{parameters.label}"]
  merge:
    type: script-step
    compute: cpus
    source_directory: code
    script: step.py
    inputs:
      cleaned: {from: left-clean.cleaned, mode: download}
      right: {from: split.right, mode: direct}
      docs: {from: docs, mode: mount}
    outputs:
      merged: {kind: file}
    arguments: [--in, cleaned, "{inputs.cleaned}", --in, right, "{inputs.right}", --in, docs, "{inputs.docs}", --out, merged, "{outputs.merged}", "--factor={parameters.factor}"]
    allow_reuse: false
"""


def fan_project(root: Path, pipeline_text: str = FAN_PIPELINE) -> Path:
    """Write the fan project under `root`; returns its pipeline file."""
    (root / "code").mkdir(parents=True)
    (root / "code" / "step.py").write_text(STEP_SCRIPT)
    (root / "data" / "docs").mkdir(parents=True)
    (root / "data" / "raw.csv").write_text("id,value\n1,a\n2,b\n")
    (root / "data" / "docs" / "readme.txt").write_text("some notes\n")
    (root / "data" / "docs" / "more.txt").write_text("more notes\n")
    path = root / "pipeline.yaml"
    path.write_text(pipeline_text)
    return path


def titanic_project(root: Path) -> Path:
    """A private copy of the titanic example (so runs never write into the repository)."""
    target = root / "titanic"
    shutil.copytree(
        PROJECTS / "titanic", target, ignore=shutil.ignore_patterns(".pipeloom", "__pycache__")
    )
    return target / "pipeline.yaml"


def load(path: Path):
    return yamlio.load(path)


def python_without_pipeloom() -> str:
    """The interpreter the test venv was made from: Pipeloom is not installed there, so a
    step that imports `engine.step` only runs with the helper copy the export ships."""
    import subprocess
    import sys

    python = str(Path(sys.base_prefix) / "bin" / "python3")
    probe = subprocess.run([python, "-c", "import engine"], capture_output=True, cwd="/")
    assert probe.returncode != 0, f"{python} can import engine: the test would prove nothing"
    return python


def pipeloom_outputs(path: Path) -> dict[str, dict[str, Path]]:
    """Run the pipeline file with Pipeloom's own runner; {step: {output: folder}}."""
    from engine.api.run import submit

    run = submit(yamlio.load(path), experiment="export-tests")
    status = run.wait_for_completion(show_output=False, timeout=900)
    steps = {s.name: s for s in run.get_steps()}
    assert status == "Completed", {
        n: (s.get_status(), s.get_log()[-3000:]) for n, s in steps.items()
    }
    return {name: {o: Path(p) for o, p in s.outputs.items()} for name, s in steps.items()}


def text_content(folder: Path) -> list[str]:
    """Every line of every file under `folder`, sorted (file names may differ between runs)."""
    lines: list[str] = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith((".", "_")):
            lines.extend(path.read_text().splitlines())
    return sorted(lines)
