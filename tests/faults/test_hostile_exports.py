"""Scenario 7: exports of hostile but valid pipelines. Arguments, parameter defaults, paths,
folder and file names and descriptions full of shell and template syntax (`$(...)`,
backticks, quotes, newlines, `{{ }}`) run nothing but the step: the shell export is run by
`sh`, the Airflow DAG's commands are rendered by Jinja (what Airflow renders them with) and run
by bash. `pipeloom import` of hostile Azure ML YAML exits 2 with a message."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from faultkit import pipeloom

# file names cannot hold a "/": they reach the canary folder through $CANARY_DIR
CODE = "co de $(touch ${{CANARY_DIR}}C1) `x`"
SCRIPT = "step `touch ${{CANARY_DIR}}C2` '1'.py"
DATA = "in $(touch ${{CANARY_DIR}}C3) `touch ${{CANARY_DIR}}C4`.txt"

MARKER_STEP = """\
import json, os, sys
out = os.environ.get("ARGS_OUT")
if out:
    with open(out, "w") as f:
        json.dump(sys.argv[1:], f)
if os.path.exists(os.environ.get("PIPELOOM_STEP_CONTEXT", "")):
    from engine.step import context
    os.makedirs(list(context().outputs.values())[0].path)
"""

PIPELINE = """\
pipeloom: 1
name: hostile
description: {description}
computes:
  pool: {{type: cpu-pool, workers: 1}}
parameters:
  p: {{type: string, default: {default}}}
nodes:
  raw: {{type: dataset, kind: file, path: {data}}}
  step:
    type: script-step
    description: {step_description}
    compute: pool
    source_directory: {code}
    script: {script}
    inputs: {{inp: {{from: raw, as: file}}}}
    outputs: {{out: {{kind: file, destination: {destination}}}}}
    arguments: {arguments}
"""

# what each argument must arrive as (after the literal ones: the parameter, the input path)
LITERAL_ARGS = [
    "$(touch {canary}/A1)",
    "`touch {canary}/A2`",
    "'; touch {canary}/A3; '",
    "a\nb; touch {canary}/A4",
    '"; touch {canary}/A5; "',
    "{{{{ 7*7 }}}}",
    "{{% raw %}}",
    "{{# c #}}{{{{",
    "${{HOME}}",
    "\\",
    "%",
    "!",
]


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    """(project folder, canary folder, the literal arguments, the parameter's value)."""
    canary = tmp_path / "canary"
    canary.mkdir()
    monkeypatch.setenv("CANARY_DIR", f"{canary}/")  # every command below inherits it
    project = tmp_path / "project"
    code = project / CODE.format(canary=canary)
    code.mkdir(parents=True)
    (code / SCRIPT.format(canary=canary)).write_text(MARKER_STEP)
    (project / "data").mkdir()
    (project / "data" / DATA.format(canary=canary)).write_text("hi\n")
    literal = [a.format(canary=canary) for a in LITERAL_ARGS]
    default = f"$(touch {canary}/P1) `touch {canary}/P2` '\"; touch {canary}/P3 '"
    text = PIPELINE.format(
        description=json.dumps(f"a\nb \"\"\" ''' \\N $(touch {canary}/D1)\n'"),
        step_description=json.dumps(f'x"""\n$(touch {canary}/D2)'),
        default=json.dumps(default),
        data=json.dumps("data/" + DATA.format(canary=canary)),
        code=json.dumps(CODE.format(canary=canary)),
        script=json.dumps(SCRIPT.format(canary=canary)),
        destination=json.dumps("pub $(touch ${CANARY_DIR}O1)/x"),
        arguments=json.dumps([*literal, "{parameters.p}", "{inputs.inp}"]),
    )
    (project / "pipeline.yaml").write_text(text)
    checked = pipeloom("validate", "pipeline.yaml", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return project, canary, literal, default


def check_args(args_file: Path, literal: list[str], default: str, data_path: str) -> None:
    args = json.loads(args_file.read_text())
    assert args[: len(literal)] == literal
    assert args[len(literal)] == default
    assert args[-1].endswith("/data/" + data_path)


def test_a_pipeloom_run_passes_every_argument_as_is(hostile, tmp_path):
    project, canary, literal, default = hostile
    env = {**os.environ, "ARGS_OUT": str(tmp_path / "args.json")}
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", "pipeline.yaml"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    check_args(tmp_path / "args.json", literal, default, DATA.format(canary=canary))
    assert sorted(os.listdir(canary)) == []


def test_the_shell_export_runs_only_the_step(hostile, tmp_path):
    project, canary, literal, default = hostile
    out = tmp_path / "shell"
    exported = pipeloom("export", "pipeline.yaml", "--to", "shell", "-o", str(out), cwd=project)
    assert exported.returncode == 0, exported.stderr
    env = {**os.environ, "PYTHON": sys.executable, "ARGS_OUT": str(tmp_path / "args.json")}
    ran = subprocess.run(
        ["sh", str(out / "run.sh")], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "not found" not in ran.stderr
    assert sorted(os.listdir(canary)) == []
    check_args(tmp_path / "args.json", literal, default, DATA.format(canary=canary))
    published = out / "outputs" / "datastore" / "pub $(touch ${CANARY_DIR}O1)" / "x"
    assert published.is_dir()


def dag_calls(source: str) -> tuple[dict, str]:
    """The BashOperator's keyword arguments (literals) and the DAG file's squote function."""
    tree = ast.parse(source)  # the DAG file is valid Python, whatever the descriptions held
    bash = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "BashOperator"
    )
    kwargs = {
        k.arg: ast.literal_eval(k.value)
        for k in bash.keywords
        if k.arg in ("bash_command", "env", "task_id")
    }
    squote = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "squote"
    )
    return kwargs, ast.unparse(squote)


def test_the_airflow_dag_commands_run_only_the_step(hostile, tmp_path):
    import jinja2.sandbox

    project, canary, literal, default = hostile
    out = tmp_path / "airflow"
    exported = pipeloom("export", "pipeline.yaml", "--to", "airflow", "-o", str(out), cwd=project)
    assert exported.returncode == 0, exported.stderr
    source = (out / "hostile_dag.py").read_text()
    kwargs, squote_source = dag_calls(source)
    namespace: dict = {}
    exec(squote_source, namespace)  # the DAG's own filter, as Airflow would call it
    env = jinja2.sandbox.SandboxedEnvironment()  # what Airflow renders templated fields with
    env.filters["squote"] = namespace["squote"]
    params = {
        "project_dir": str(project),
        "code_dir": str(out),
        "output_dir": str(tmp_path / "outputs"),
        "datastore_dir": str(tmp_path / "datastore"),
        "python": sys.executable,
        "p": default,
    }
    command = env.from_string(kwargs["bash_command"]).render(params=params)
    task_env = {k: env.from_string(v).render(params=params) for k, v in kwargs["env"].items()}
    task_env.pop("PIPELOOM_STEP_CONTEXT")  # written by the DAG's pre_execute hook in Airflow
    ran = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        env={**os.environ, **task_env, "ARGS_OUT": str(tmp_path / "args.json")},
    )
    assert ran.returncode == 0, command + "\n" + ran.stderr
    assert sorted(os.listdir(canary)) == []
    check_args(tmp_path / "args.json", literal, default, DATA.format(canary=canary))
    # a parameter value given when the DAG is triggered is quoted as well
    params["p"] = f"it's $(touch {canary}/T1)"
    command = env.from_string(kwargs["bash_command"]).render(params=params)
    env_vars = {**os.environ, **task_env, "ARGS_OUT": str(tmp_path / "args2.json")}
    assert subprocess.run(["bash", "-c", command], env=env_vars).returncode == 0
    assert json.loads((tmp_path / "args2.json").read_text())[len(literal)] == params["p"]
    assert sorted(os.listdir(canary)) == []


def alias_bomb() -> str:
    lines = ["type: pipeline", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    lines.append("jobs: {j: {type: command, command: python x.py, inputs: *a11}}")
    return "\n".join(lines) + "\n"


HOSTILE_AZUREML = {
    "python_tag.yml": "type: pipeline\njobs: !!python/object/apply:os.system ['touch {canary}/Y1']\n",
    "custom_tag.yml": "type: pipeline\njobs:\n  a: !custom {x: 1}\n",
    "alias_bomb.yml": alias_bomb(),
    "deep.yml": "type: pipeline\njobs: " + "[" * 5000 + "]" * 5000 + "\n",
    "binary.yml": "\x00\x01\x02binary",
}


@pytest.mark.parametrize("name", [*HOSTILE_AZUREML, "huge.yml"])
def test_import_of_hostile_azureml_yaml_exits_2(tmp_path, name):
    canary = tmp_path / "canary"
    canary.mkdir()
    path = tmp_path / name
    if name == "huge.yml":  # 40 MB of valid jobs: refused by size, not parsed for minutes
        job = "  j{}: {{type: command, command: python x.py, code: .}}\n"
        with open(path, "w") as f:
            f.write("type: pipeline\njobs:\n")
            for i in range(700_000):
                f.write(job.format(i))
    else:
        path.write_text(HOSTILE_AZUREML[name].replace("{canary}", str(canary)))
    result = pipeloom("import", str(path), "-o", str(tmp_path / "out.yaml"), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and name in result.stderr
    assert not (tmp_path / "out.yaml").exists()
    assert sorted(os.listdir(canary)) == []
