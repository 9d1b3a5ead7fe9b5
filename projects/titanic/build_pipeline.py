"""The seed notebook's pipeline written with Pipeloom's Python API; it saves pipeline.yaml.

Ported from the Azure ML SDK v1 SynapseSparkStep example with these edits: imports from
engine.api; no Workspace (paths are relative to the pipeline file, so `DATASTORE` only
stands in for `ws.get_default_datastore()`); SynapseSparkStep -> SparkStep and
PythonScriptStep -> ScriptStep; laptop-sized Spark resources; `.read_parquet_files()` on the
Spark output so it is a table; and a `model` output for the trained weights.

    python build_pipeline.py [OUTPUT_YAML]     # default: pipeline.yaml beside this script
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.api import (
    Dataset,
    Environment,
    HDFSOutputDatasetConfig,
    OutputFileDatasetConfig,
    Pipeline,
    PipelineParameter,
    RunConfiguration,
    ScriptStep,
    SparkStep,
)

DATASTORE = "workspaceblobstore"


def build() -> Pipeline:
    """The seed notebook's pipeline, ported: the same calls, laptop-sized Spark resources."""
    titanic_tabular_dataset = Dataset.Tabular.from_delimited_files(
        path=[(DATASTORE, "data/Titanic.csv")]
    )
    titanic_file_dataset = Dataset.File.from_files(path=[(DATASTORE, "data/Titanic.csv")])

    input1 = titanic_tabular_dataset.as_named_input("tabular_input")
    input2 = titanic_file_dataset.as_named_input("file_input").as_hdfs()
    output = (
        HDFSOutputDatasetConfig(destination=(DATASTORE, "test"))
        .read_parquet_files()
        .register_on_complete(name="registered_dataset")
    )
    sample_fraction = PipelineParameter(name="sample_fraction", default_value=1.0)

    step_1 = SparkStep(
        name="dataprep",
        file="dataprep.py",
        source_directory="./code",
        inputs=[input1, input2],
        outputs=[output],
        arguments=[
            "--tabular_input",
            input1,
            "--file_input",
            input2,
            "--output_dir",
            output,
            "--fraction",
            sample_fraction,
        ],
        compute_target="link1-spark01",
        driver_memory="1g",
        driver_cores=1,
        executor_memory="1g",
        executor_cores=1,
        num_executors=1,
        conf={"spark.sql.shuffle.partitions": 4},
    )

    train_env = Environment(name="trainenv")
    for package in ("numpy>=1.26", "pandas>=2.2", "pyarrow>=15"):
        train_env.python.conda_dependencies.add_pip_package(package)
    run_config = RunConfiguration()
    run_config.environment = train_env

    step2_input = output.as_input("step2_input").as_download()
    model = OutputFileDatasetConfig(name="model")
    step_2 = ScriptStep(
        script_name="train.py",
        arguments=[step2_input, "--model_dir", model],
        inputs=[step2_input],
        outputs=[model],
        compute_target="cpucluster",
        source_directory="./code",
        allow_reuse=False,
        runconfig=run_config,
    )

    return Pipeline(
        steps=[step_1, step_2],
        name="titanic",
        description="Spark data prep on a Spark pool, then training on a CPU pool",
        export={
            "azureml": {
                "computes": {
                    "link1-spark01": {
                        "instance_type": "standard_e4s_v3",
                        "runtime_version": "3.4",
                    },
                    "cpucluster": "cpucluster",
                }
            },
            "airflow": {"spark_conn_id": "spark_default"},
        },
    )


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else Path(__file__).with_name("pipeline.yaml")
    build().save(target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
