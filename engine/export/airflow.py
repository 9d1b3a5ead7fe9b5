"""Export to an Airflow DAG file (Airflow 2.9+ and 3.x): one task per step.

Spark steps become SparkSubmitOperator tasks (master from the Spark connection), script
steps BashOperator tasks; dependencies follow the wires. Every path is built from DAG params
(project_dir, code_dir, output_dir, datastore_dir) so the same file runs on any worker. Each
task's pre_execute hook writes the step context file that Pipeloom's step helper reads,
copies `download` inputs and clears stale outputs; post_execute publishes destinations and
removes the input copies.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Any

from engine.export.common import ExportContext, ExportResult, check, identifier, safe_file_name
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

ROOT_PARAMS = {
    PROJECT: "project_dir",
    OUTPUTS: "output_dir",
    DATASTORE: "datastore_dir",
    CODE: "code_dir",
}
DEFAULT_CONN_ID = "spark_default"

HEADER = '''\
"""{title}

Exported by Pipeloom from {source}. One task per step; a task's pre_execute hook writes the
step context file (PIPELOOM_STEP_CONTEXT) that Pipeloom's step helper reads, copies inputs
with mode download and clears stale outputs; post_execute publishes outputs to their
destination and removes the input copies. Paths come from the DAG params (set them when triggering a run):
  project_dir    dataset paths are relative to it
  code_dir       the folder holding the exported code (default: this file's folder)
  output_dir     step outputs, input copies and step contexts
  datastore_dir  where outputs with a destination are published
  python         the Python that runs script steps
"""

from __future__ import annotations

import json
import os
import re
import shutil

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2.9+
    from airflow import DAG
try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2.x without the standard provider
    from airflow.operators.bash import BashOperator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

HERE = os.path.dirname(os.path.abspath(__file__))
'''

HOOKS = '''

_PARAM_RE = re.compile(r"\\{\\{ params\\.(\\w+) \\}\\}")


def _render(value, params):
    """A path (or context value) with its {{ params.X }} filled in, as Airflow renders templates."""
    if isinstance(value, dict):
        return {key: _render(item, params) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, params) for item in value]
    if not isinstance(value, str):
        return value
    whole = _PARAM_RE.fullmatch(value)
    if whole:  # a parameter on its own keeps its type (numbers stay numbers)
        return params[whole.group(1)]
    return _PARAM_RE.sub(lambda m: str(params[m.group(1)]), value)


def squote(value):
    """A rendered value inside a single-quoted shell word: its own quotes cannot end it."""
    return str(value).replace("'", "'\\"'\\"'")


def _fresh(path):
    """`path` does not exist and its folder does (a step creates its own outputs)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)


def _copy(source, target):
    _fresh(target)
    if os.path.isdir(source):
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)


def prepare_step(context):
    """pre_execute: input copies, fresh outputs and the step context file."""
    step = STEPS[context["task"].task_id]
    params = context["params"]
    for name in REQUIRED_PARAMS:
        if not params.get(name):
            raise ValueError(f"set the DAG param {name!r}: {REQUIRED_PARAMS[name]}")
    for source, target in step["downloads"]:
        _copy(_render(source, params), _render(target, params))
    for output in step["outputs"]:
        _fresh(_render(output, params))
    path = _render(step["context_file"], params)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    document = _render(step["context"], params)
    document["run_id"] = context["run_id"]
    with open(path + ".tmp", "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
    os.replace(path + ".tmp", path)


def publish_outputs(context, result=None):
    """post_execute: completed outputs copied to their destination; the private input copies
    (mode: download) removed, as in a Pipeloom run."""
    step = STEPS[context["task"].task_id]
    for output, destination in step["publish"]:
        _copy(_render(output, context["params"]), _render(destination, context["params"]))
    for _source, target in step["downloads"]:
        target = _render(target, context["params"])
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.lexists(target):
            os.remove(target)
'''


def export_airflow(
    pipeline: Pipeline, out_dir: str | os.PathLike, computes: dict[str, str] | None = None
) -> ExportResult:
    check(pipeline)
    ctx = ExportContext(pipeline, "airflow", out_dir)
    plan = plan_local(ctx, {})  # --compute maps computes to connection ids here, not masters
    for env, requirements in plan.requirements.items():
        if requirements:
            ctx.write(f"requirements-{env}.txt", "\n".join(requirements) + "\n")
    file_name = f"{safe_file_name(pipeline.name)}_dag.py"
    ctx.result.main_file = ctx.write(file_name, DagWriter(ctx, plan, computes or {}).render())
    return ctx.result


class DagWriter:
    def __init__(self, ctx: ExportContext, plan: LocalPlan, computes: dict[str, str]):
        self.ctx = ctx
        self.plan = plan
        settings = ctx.settings()
        self.default_conn = settings.get("spark_conn_id")
        self.conn_ids: dict[str, str] = dict(settings.get("computes") or {})
        self.conn_ids.update(computes)
        taken = {*ROOT_PARAMS.values(), "python"}
        self.param_names = {name: identifier(name, taken) for name in ctx.pipeline.parameters}
        self.dataset_params = {
            var: identifier(var.lower(), taken) for var in plan.datasets.values()
        }
        self.variables: dict[str, str] = {}

    def render(self) -> str:
        p = self.ctx.pipeline
        title = f"Pipeline {p.name}: {p.description}" if p.description else f"Pipeline {p.name}"
        source = os.path.basename(p.path or p.name)
        # backslashes doubled and triple quotes changed: the title stays inside the docstring
        title = title.replace("\\", "\\\\").replace('"""', "'''")
        parts = [HEADER.format(title=title, source=source)]
        parts.append(f"STEPS = {_literal(self._step_data())}")
        required = {
            param: f"path of registered dataset {key}"
            for key, var in self.plan.datasets.items()
            for param in [self.dataset_params[var]]
        }
        parts.append(f"REQUIRED_PARAMS = {_literal(required)}")
        parts.append(HOOKS)
        parts.append(self._dag())
        return "\n".join(parts)

    def _step_data(self) -> dict[str, Any]:
        data = {}
        for step in self.plan.steps:
            data[step.name] = {
                "downloads": [[self._path(s), self._path(t)] for s, t in step.downloads],
                "outputs": [self._path(loc) for _, loc in step.outputs],
                "publish": [[self._path(s), self._path(t)] for s, t in step.publish],
                "context_file": self._path(step.context_file),
                "context": self._context(step.context),
            }
        return data

    def _context(self, value: Any) -> Any:
        if isinstance(value, Loc):
            return self._path(value)
        if isinstance(value, dict):
            return {k: self._context(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._context(v) for v in value]
        return value

    def _dag(self) -> str:
        p = self.ctx.pipeline
        params: dict[str, Any] = {
            "project_dir": str(self.ctx.base_dir),
            "code_dir": "__HERE__",
            "output_dir": "__OUTPUTS__",
            "datastore_dir": "__DATASTORE__",
            "python": "python3",
        }
        for name, param in p.parameters.items():
            params[self.param_names[name]] = param.default
        for var in self.dataset_params.values():
            params[var] = ""
        params_text = _literal(params, 4)
        params_text = params_text.replace("'__HERE__'", "HERE")
        params_text = params_text.replace("'__OUTPUTS__'", 'os.path.join(HERE, "outputs")')
        params_text = params_text.replace(
            "'__DATASTORE__'", 'os.path.join(HERE, "outputs", "datastore")'
        )
        dag_id = re.sub(r"[^A-Za-z0-9_.\-]", "_", p.name)
        lines = [
            "",
            "with DAG(",
            f"    dag_id={dag_id!r},",
            f"    description={(p.description or f'Pipeloom pipeline {p.name}')!r},",
            "    schedule=None,",
            "    catchup=False,",
            "    max_active_runs=1,  # runs share output_dir",
            '    tags=["pipeloom"],',
            f"    params={params_text},",
            '    user_defined_filters={"squote": squote},',
            ") as dag:",
        ]
        taken: set[str] = {"dag", "HERE", "STEPS", "REQUIRED_PARAMS", "squote"}
        for step in self.plan.steps:
            self.variables[step.name] = identifier(step.name, taken)
            lines.append("")
            lines += ["    " + line for line in self._task(step)]
        edges = self._edges()
        if edges:
            lines.append("")
            lines += [f"    {self.variables[a]} >> {self.variables[b]}" for a, b in edges]
        return "\n".join(lines) + "\n"

    def _edges(self) -> list[tuple[str, str]]:
        steps = {s.name for s in self.plan.steps}
        edges: list[tuple[str, str]] = []
        for edge in self.ctx.pipeline.edges():
            pair = (edge.source, edge.target)
            if edge.source in steps and edge.target in steps and pair not in edges:
                edges.append(pair)
        return edges

    def _task(self, step: StepPlan) -> list[str]:
        var = self.variables[step.name]
        context_file = self._path(step.context_file)
        hooks = ["pre_execute=prepare_step,"]
        if step.publish or step.downloads:
            hooks.append("post_execute=publish_outputs,")
        if step.spark and not step.connect:
            args = self._spark_args(step, context_file)
            return [f"{var} = SparkSubmitOperator(", *(f"    {a}" for a in args + hooks), ")"]
        args = self._bash_args(step, context_file)
        return [f"{var} = BashOperator(", *(f"    {a}" for a in args + hooks), ")"]

    def _spark_args(self, step: StepPlan, context_file: str) -> list[str]:
        node = step.node
        compute = node.params.get("compute")
        conn_id = self.conn_ids.get(compute) or self.default_conn
        if not conn_id:
            conn_id = DEFAULT_CONN_ID
            self.ctx.warn(
                node.name,
                "compute",
                f"no Spark connection for compute {compute!r} (export.airflow.spark_conn_id or "
                f"--compute {compute}=CONN_ID): {DEFAULT_CONN_ID} used",
            )
        master = step.master or "local[*]"
        self.ctx.warn(
            node.name,
            "compute",
            f"the Spark master comes from Airflow connection {conn_id!r}: give it the master "
            f"of compute {compute!r} ({master})",
        )
        code = f"{{{{ params.code_dir }}}}/{_jinja_text(step.code)}"
        conf = dict(step.conf)
        named = {
            "driver_memory": conf.pop("spark.driver.memory", None),
            "executor_cores": conf.pop("spark.executor.cores", None),
            "executor_memory": conf.pop("spark.executor.memory", None),
            "num_executors": conf.pop("spark.executor.instances", None),
        }
        args = [
            f"task_id={step.name!r},",
            *self._doc(step),
            f"conn_id={conn_id!r},",
            f"name={step.name!r},",
            f"application={code + '/' + _jinja_text(step.entry)!r},",
        ]
        if conf:
            conf = {k: _jinja_text(_text(v)) for k, v in conf.items()}
            args.append(f"conf={_literal(conf, 8)},")
        for key in ("py_files", "files", "jars"):
            values = getattr(step, key)
            if values:
                joined = ",".join(f"{code}/{_jinja_text(v)}" for v in values)
                args.append(f"{key}={joined!r},")
        for key, value in named.items():
            if value is not None:
                value = str(value) if "memory" in key else int(value)
                args.append(f"{key}={value!r},")
        words = [self._word(w, template=True) for w in step.arguments]
        args.append(f"application_args={_literal(words, 8)},")
        env = {
            "PIPELOOM_STEP_CONTEXT": self._path(step.context_file, template=True),
            **self._helper_path(),
        }
        if step.python:
            env["PYSPARK_PYTHON"] = step.python
        args.append(f"env_vars={_literal(env, 8)},")
        return args

    def _bash_args(self, step: StepPlan, context_file: str) -> list[str]:
        # quoted for the shell first, then escaped for Jinja: the order keeps both intact
        python = (
            _jinja_text(shlex.quote(step.python))
            if step.python
            else "'{{ params.python | squote }}'"
        )
        command = [
            python,
            _jinja_text(shlex.quote(step.entry)),
            *(shlex.quote(self._word(w, template=True, shell=True)) for w in step.arguments),
        ]
        if step.connect:
            command.insert(0, _jinja_text(f"SPARK_REMOTE={shlex.quote(step.connect)}"))
        code = f"{{{{ params.code_dir | squote }}}}/{_jinja_text(step.code)}"
        bash = f"cd {shlex.quote(code)} && {' '.join(command)}"
        context = self._path(step.context_file, template=True)
        # a trailing space keeps Airflow from reading a command ending in .sh as a template file
        if bash.endswith((".sh", ".bash")):
            bash += " "
        return [
            f"task_id={step.name!r},",
            *self._doc(step),
            f"bash_command={bash!r},",
            f"env={_literal({'PIPELOOM_STEP_CONTEXT': context, **self._helper_path()}, 8)},",
            "append_env=True,",
        ]

    def _doc(self, step: StepPlan) -> list[str]:
        description = step.node.description
        return [f"doc_md={description!r},"] if description else []

    def _helper_path(self) -> dict[str, str]:
        """PYTHONPATH with the copied step helper, when a step uses it."""
        if not self.plan.helper_dir:
            return {}
        return {"PYTHONPATH": f"{{{{ params.code_dir }}}}/{self.plan.helper_dir}"}

    def _path(self, loc: Loc, template: bool = False) -> str:
        return self._word([loc], template)

    def _word(self, word: Word, template: bool = False, shell: bool = False) -> str:
        """A word with its params as `{{ params.X }}`.

        template: for a field Airflow renders with Jinja, literal text is escaped so a `{{` in
        an argument stays text. shell: inside a single-quoted shell word, each param's value
        has its single quotes escaped when rendered (a value cannot end the quoting).
        """
        text = ""
        lit = _jinja_text if template else str
        pipe = " | squote" if shell else ""
        for part in word:
            if isinstance(part, str):
                text += lit(part)
            elif part.root == PARAM:
                text += f"{{{{ params.{self.param_names[part.rel]}{pipe} }}}}"
            elif part.root == LITERAL:
                text += lit(part.rel)
            elif part.root == DATASET:
                text += f"{{{{ params.{self.dataset_params[part.rel]}{pipe} }}}}"
            else:
                text += f"{{{{ params.{ROOT_PARAMS[part.root]}{pipe} }}}}"
                if part.rel:
                    text += lit("/" + part.rel)
        return text


def _jinja_text(text: str) -> str:
    """`text` as it must appear in a Jinja template to render as itself."""
    return re.sub(r"\{(?=[{%#])", '{{ "{" }}', text)


def _literal(value: Any, indent: int = 0) -> str:
    """A Python literal, one item per line when it does not fit on one (readable, diffable)."""
    flat = repr(value)
    if not isinstance(value, dict | list) or len(flat) + indent <= 96:
        return flat
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(value, dict):
        items = [f"{inner}{k!r}: {_literal(v, indent + 4)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    items = [f"{inner}{_literal(v, indent + 4)}," for v in value]
    return "[\n" + "\n".join(items) + f"\n{pad}]"


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
