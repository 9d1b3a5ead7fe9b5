"""A small project of script steps in a temp folder, built as an engine.pipeline.model.Pipeline.

Every step runs `code/step.py`, which reads all its inputs (files or folders), prints a line,
optionally sleeps, fails or starts a child process, and writes each output as a folder.
"""

from __future__ import annotations

from pathlib import Path

from engine.pipeline.model import Compute, Environment, InputPort, Node, OutputPort, Pipeline, Ref
from engine.planning.plan import PlanOptions
from engine.running.runner import Runner

STEP_SCRIPT = r"""
import argparse, os, subprocess, sys, time
from engine.step import context

parser = argparse.ArgumentParser()
parser.add_argument("--sleep", type=float, default=0)
parser.add_argument("--fail", action="store_true")
parser.add_argument("--child", help="start a child process that writes its pid here, then wait")
parser.add_argument("--touch-input", help="append to this input (to break a mount)")
parser.add_argument("--tag", default="")
args, _ = parser.parse_known_args()
ctx = context()
text = ""
for name, info in sorted(ctx.inputs.items()):
    if info.is_folder:
        for f in sorted(os.listdir(info.path)):
            text += open(os.path.join(info.path, f)).read()
    else:
        text += open(info.path).read()
print(f"step {ctx.step} read {len(text)} chars", flush=True)
if args.touch_input:
    info = ctx.inputs[args.touch_input]
    target = info.path if info.is_file else os.path.join(info.path, "extra.txt")
    with open(target, "a") as f:
        f.write("changed\n")
if args.child:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(args.child, "w") as f:
        f.write(str(child.pid))
    print("MARKER child started", flush=True)
for name, out in ctx.outputs.items():
    os.makedirs(out.path)
    with open(os.path.join(out.path, "part-0.txt"), "w") as f:
        f.write(text + f"{ctx.step}{args.tag}\n")
time.sleep(args.sleep)
if args.fail:
    print("about to fail", file=sys.stderr, flush=True)
    sys.exit(3)
print(f"step {ctx.step} done", flush=True)
"""


class ScriptProject:
    def __init__(self, root: Path, workers: int = 2):
        self.root = root
        (root / "code").mkdir(parents=True, exist_ok=True)
        (root / "data").mkdir(exist_ok=True)
        (root / "code" / "step.py").write_text(STEP_SCRIPT)
        self.pipeline = Pipeline("proj")
        self.pipeline.path = str(root / "pipeline.yaml")
        self.pipeline.computes["pool"] = Compute("pool", "cpu-pool", workers=workers)

    def data(self, rel: str, text: str) -> Path:
        path = self.root / "data" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def dataset(self, name: str, rel: str, kind: str = "file") -> None:
        self.pipeline.nodes[name] = Node(name, "dataset", {"kind": kind, "path": f"data/{rel}"})

    def step(
        self,
        name: str,
        inputs: dict[str, str] | None = None,
        outputs: tuple[str, ...] = ("out",),
        args: list[str] | None = None,
        modes: dict[str, str] | None = None,
        script: str = "step.py",
        **params,
    ) -> Node:
        ports = [
            InputPort(k, Ref.parse(v), kind="file", mode=(modes or {}).get(k))
            for k, v in (inputs or {}).items()
        ]
        node = Node(
            name,
            "script-step",
            {
                "source_directory": "code",
                "script": script,
                "compute": "pool",
                "arguments": list(args or []),
                **params,
            },
            inputs=ports,
            outputs=[OutputPort(o, kind="file") for o in outputs],
        )
        self.pipeline.nodes[name] = node
        return node

    def environment(self, name: str, pip: list[str]) -> None:
        self.pipeline.environments[name] = Environment(name, pip=pip)

    def runner(self, **options) -> Runner:
        return Runner(self.pipeline, PlanOptions(**options))

    def run(self, **options):
        runner = self.runner(**options)
        summary = runner.run()
        runner.store.close()
        return summary, runner


def statuses(summary) -> dict[str, str]:
    return {s.step: str(s.status) for s in summary.steps}
