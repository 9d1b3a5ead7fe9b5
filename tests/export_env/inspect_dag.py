"""Run inside the Airflow venv: load a DAG file with Airflow's DagBag, print it as JSON.

python inspect_dag.py DAG_FILE    (AIRFLOW_HOME should point at a scratch folder)
"""

import json
import sys

try:  # Airflow 3
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow 2
    from airflow.models.dagbag import DagBag

FIELDS = {
    "SparkSubmitOperator": {
        "conn_id": "_conn_id",
        "application": "application",
        "application_args": "application_args",
        "conf": "conf",
        "py_files": "py_files",
        "files": "files",
        "jars": "jars",
        "driver_memory": "_driver_memory",
        "executor_cores": "_executor_cores",
        "executor_memory": "_executor_memory",
        "num_executors": "_num_executors",
        "env_vars": "env_vars",
        "name": "name",
    },
    "BashOperator": {"bash_command": "bash_command", "env": "env", "append_env": "append_env"},
}


def describe(task):
    kind = type(task).__name__
    info = {"operator": kind, "upstream": sorted(task.upstream_task_ids)}
    for key, attr in FIELDS.get(kind, {}).items():
        info[key] = getattr(task, attr, None)
    for hook in ("pre_execute", "post_execute"):
        fn = getattr(task, f"_{hook}_hook", None)
        info[hook] = getattr(fn, "__name__", None)
    return info


def main(path):
    try:
        bag = DagBag(dag_folder=path, include_examples=False, safe_mode=False)
    except TypeError:  # Airflow 3 has no include_examples
        bag = DagBag(dag_folder=path, safe_mode=False)
    result = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
    for dag_id, dag in bag.dags.items():
        result["dags"][dag_id] = {
            "schedule": repr(getattr(dag, "schedule", None)),
            "max_active_runs": dag.max_active_runs,
            "params": {k: dag.params[k] for k in dag.params},
            "tasks": {t.task_id: describe(t) for t in dag.tasks},
        }
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
