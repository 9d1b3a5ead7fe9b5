"""Export to a POSIX sh script: the steps in order with spark-submit and python, `set -eu`.

The script is meant to be read: one block per step, paths built from a few variables that
say where the project, the outputs and the datastore are (each can be set from outside).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from engine.export.common import ExportContext, ExportResult, check
from engine.export.local_plan import (
    CODE,
    DATASET,
    DATASTORE,
    LITERAL,
    OUTPUTS,
    PARAM,
    PROJECT,
    Loc,
    LocalPlan,
    StepPlan,
    Word,
    plan_local,
)
from engine.pipeline.model import Pipeline

ROOT_VARIABLES = {
    PROJECT: "PROJECT_DIR",
    OUTPUTS: "OUTPUT_DIR",
    DATASTORE: "DATASTORE_DIR",
    CODE: "HERE",
}
_SAFE_RE = re.compile(r"^[A-Za-z0-9_@%+=:,./\-]+$")
_DOUBLE_QUOTE_SAFE_RE = re.compile(r'^[^"$`\\!]*$')

PRELUDE = r"""
# json_string VALUE: VALUE as a JSON string, for the step context files
json_string() {
  printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

# fresh_output PATH: PATH does not exist, its folder does (a step creates its own outputs)
fresh_output() {
  rm -rf "$1"
  mkdir -p "$(dirname "$1")"
}

# copy_input SOURCE COPY: a private copy of an input (mode: download)
copy_input() {
  fresh_output "$2"
  cp -R "$1" "$2"
}

# publish OUTPUT DESTINATION: a completed output, copied to its destination in the datastore
publish() {
  fresh_output "$2"
  cp -R "$1" "$2"
}
"""


def export_shell(
    pipeline: Pipeline, out_dir: str | os.PathLike, computes: dict[str, str] | None = None
) -> ExportResult:
    check(pipeline)
    ctx = ExportContext(pipeline, "shell", out_dir)
    masters = {**(ctx.settings().get("computes") or {}), **(computes or {})}
    plan = plan_local(ctx, masters)
    for env, requirements in plan.requirements.items():
        if requirements:
            ctx.write(f"requirements-{env}.txt", "\n".join(requirements) + "\n")
    ctx.result.main_file = ctx.write("run.sh", render(ctx, plan), executable=True)
    return ctx.result


def render(ctx: ExportContext, plan: LocalPlan) -> str:
    p = ctx.pipeline
    lines = [
        "#!/bin/sh",
        f"# Pipeline {p.name}: exported by Pipeloom from {os.path.basename(p.path or p.name)}.",
    ]
    if p.description:  # every line a comment: a newline must not start a command
        lines += [f"# {line}" for line in p.description.split("\n")]
    lines += [
        "#",
        "# Runs the steps in order with spark-submit and python; stops at the first failure.",
        "# Settings (environment variables; default in brackets):",
        f"#   PROJECT_DIR    dataset paths are relative to it [{_one_line(str(ctx.base_dir))}]",
        "#   OUTPUT_DIR     step outputs, input copies and step contexts [<this folder>/outputs]",
        "#   DATASTORE_DIR  where outputs with a destination are published [$OUTPUT_DIR/datastore]",
        "#   SPARK_SUBMIT   [spark-submit]    PYTHON [python3]    PYSPARK_PYTHON [$PYTHON]",
    ]
    for name, (variable, default) in plan.parameters.items():
        lines.append(f"#   {variable:<14} parameter {name} [{_one_line(_scalar(default))}]")
    for key, variable in plan.datasets.items():
        lines.append(f"#   {variable:<14} path of registered dataset {key} (required)")
    lines += [
        "set -eu",
        "",
        'HERE=$(cd "$(dirname "$0")" && pwd)',
        f"PROJECT_DIR=${{PROJECT_DIR:-{_quote(str(ctx.base_dir))}}}",
        'OUTPUT_DIR=${OUTPUT_DIR:-"$HERE/outputs"}',
        'DATASTORE_DIR=${DATASTORE_DIR:-"$OUTPUT_DIR/datastore"}',
        "SPARK_SUBMIT=${SPARK_SUBMIT:-spark-submit}",
        "PYTHON=${PYTHON:-python3}",
        "PYSPARK_PYTHON=${PYSPARK_PYTHON:-$PYTHON}",
        "export PYSPARK_PYTHON",
    ]
    for variable, default in plan.parameters.values():
        lines.append(f"{variable}=${{{variable}:-{_quote(_scalar(default))}}}")
    for key, variable in plan.datasets.items():
        lines.append(f'{variable}=${{{variable}:?"set {variable} to the path of dataset {key}"}}')
    if plan.helper_dir:
        lines.append(
            "# Pipeloom's step helper (engine.step), for steps that read their step context"
        )
        lines.append(f'PYTHONPATH="$HERE/{plan.helper_dir}${{PYTHONPATH:+:$PYTHONPATH}}"')
        lines.append("export PYTHONPATH")
    lines.append(PRELUDE)
    lines.append('mkdir -p "$OUTPUT_DIR/.contexts"')
    for i, step in enumerate(plan.steps, 1):
        lines.append("")
        lines += _step_block(ctx, plan, step, i, len(plan.steps))
    lines += ["", 'echo "pipeloom: all steps completed; outputs in $OUTPUT_DIR" >&2', ""]
    return "\n".join(lines)


def _step_block(
    ctx: ExportContext, plan: LocalPlan, step: StepPlan, i: int, total: int
) -> list[str]:
    kind = "Spark step" if step.spark else "script step"
    compute = step.node.params.get("compute")
    lines = [f"# -- step {i}/{total}: {step.name} ({kind} on {compute}) --"]
    if step.node.description:
        lines += [f"# {line}" for line in step.node.description.split("\n")]
    lines.append(f"echo {_quote(f'pipeloom: step {i}/{total}: {step.name}')} >&2")
    for source, copy in step.downloads:
        lines.append(f"copy_input {_word([source], plan)} {_word([copy], plan)}")
    for _, loc in step.outputs:
        lines.append(f"fresh_output {_word([loc], plan)}")
    context = _word([step.context_file], plan)
    lines.append(f"cat > {context} <<PIPELOOM_CONTEXT")
    lines.append(_context_json(ctx, step.context, plan))
    lines.append("PIPELOOM_CONTEXT")
    command = _pair_options(_command(step, plan))
    lines.append("(")
    lines.append(f"  cd {_word([Loc(CODE, step.code)], plan)}")
    lines.append(f"  PIPELOOM_STEP_CONTEXT={context} \\")
    lines += (
        [f"  {command[0]} \\"]
        + [f"    {part} \\" for part in command[1:-1]]
        + [f"    {command[-1]}"]
    )
    lines.append(")")
    for _, copy in step.downloads:  # as in a Pipeloom run: the private copy goes with the step
        lines.append(f"rm -rf {_word([copy], plan)}")
    for output, destination in step.publish:
        lines.append(f"publish {_word([output], plan)} {_word([destination], plan)}")
    return lines


def _pair_options(parts: list[str]) -> list[str]:
    """`--flag value` on one line, for reading."""
    paired: list[str] = []
    for part in parts:
        if (
            paired
            and paired[-1].startswith("-")
            and " " not in paired[-1]
            and not part.startswith("-")
        ):
            paired[-1] += f" {part}"
        else:
            paired.append(part)
    return paired


def _command(step: StepPlan, plan: LocalPlan) -> list[str]:
    python = _quote(step.python) if step.python else '"$PYTHON"'
    args = [_word(a, plan) for a in step.arguments]
    if not step.spark:
        return [python, _quote(step.entry), *args] if args else [python, _quote(step.entry)]
    if step.connect:
        return [f"SPARK_REMOTE={_quote(step.connect)} {python}", _quote(step.entry), *args]
    parts = ['"$SPARK_SUBMIT"', f"--master {_quote(step.master)}", f"--name {_quote(step.name)}"]
    parts += [f"--conf {_quote(f'{k}={_scalar(v)}')}" for k, v in step.conf.items()]
    for flag, values in (
        ("--py-files", step.py_files),
        ("--jars", step.jars),
        ("--files", step.files),
    ):
        if values:
            parts.append(f"{flag} {_quote(','.join(values))}")
    return parts + [_quote(step.entry), *args]


def _context_json(ctx: ExportContext, data: Any, plan: LocalPlan) -> str:
    """The step context as JSON inside an unquoted here-document (paths expand at run time)."""
    slots: list[str] = []
    parameters = ctx.pipeline.parameters

    def replace(value: Any) -> Any:
        if (
            isinstance(value, Loc)
            and value.root == PARAM
            and parameters[value.rel].type != "string"
        ):
            slots.append(f"${{{plan.parameters[value.rel][0]}}}")  # a number or boolean: as is
            return f"\x00{len(slots) - 1}\x00"
        if isinstance(value, Loc):
            slots.append(f"$(json_string {_word([value], plan)})")
            return f"\x00{len(slots) - 1}\x00"
        if isinstance(value, dict):
            return {k: replace(v) for k, v in value.items()}
        if isinstance(value, list):
            return [replace(v) for v in value]
        return value

    text = json.dumps(replace(data), indent=2)
    # what the here-document would expand in the literal JSON: \, $ and `
    text = text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")
    return re.sub(r'"\\\\u0000(\d+)\\\\u0000"', lambda m: slots[int(m.group(1))], text)


def _word(word: Word, plan: LocalPlan) -> str:
    """One shell word: literal parts quoted, root folders and parameters as variables."""
    pieces: list[tuple[bool, str]] = []  # (is_variable, text)
    for part in word:
        if isinstance(part, str):
            pieces.append((False, part))
        elif part.root == PARAM:
            pieces.append((True, f"${{{plan.parameters[part.rel][0]}}}"))
        elif part.root == LITERAL:
            pieces.append((False, part.rel))
        elif part.root == DATASET:
            pieces.append((True, f"${{{part.rel}}}"))
        else:
            pieces.append((True, f"${{{ROOT_VARIABLES[part.root]}}}"))
            if part.rel:
                pieces.append((False, "/" + part.rel))
    if not pieces:
        return "''"
    if not any(v for v, _ in pieces):
        return _quote("".join(t for _, t in pieces))
    if all(v or _DOUBLE_QUOTE_SAFE_RE.match(t) for v, t in pieces):
        return '"' + "".join(t for _, t in pieces) + '"'
    return "".join(f'"{t}"' if v else _quote(t) for v, t in pieces)


def _one_line(text: str) -> str:
    """`text` for a one-line comment: its newlines shown as \\n."""
    return text.replace("\n", "\\n")


def _quote(text: str) -> str:
    if text and _SAFE_RE.match(text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)
