"""Run inside the Airflow venv: run a DAG file once with dag.test(), print task states as JSON.

    python run_dag.py DAG_FILE [RUN_CONF_JSON]
AIRFLOW_HOME (with a migrated database) and AIRFLOW__CORE__DAGS_FOLDER (the DAG's folder)
must be set; connections come from AIRFLOW_CONN_* variables.
"""

import json
import runpy
import sys


def main(path, conf):
    dag = runpy.run_path(path)["dag"]
    run = dag.test(run_conf=conf)
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print("PIPELOOM-RESULT " + json.dumps({"state": str(run.state), "tasks": states}))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else None)
