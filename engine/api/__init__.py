"""A Python API mirroring the Azure ML SDK v1 pipeline classes, so seed code ports with few edits.

    titanic = Dataset.Tabular.from_delimited_files("data/Titanic.csv")
    prepared = OutputFileDatasetConfig(destination="test").read_parquet_files()
    prep = SparkStep(name="dataprep", file="dataprep.py", source_directory="code",
                     arguments=["--input", titanic.as_named_input("tabular_input"),
                                "--output_dir", prepared],
                     outputs=[prepared], compute_target="link1-spark01")
    Pipeline(steps=[prep], name="titanic").save("pipeline.yaml")

The objects only describe; `Pipeline.to_model()` turns them into the one engine.pipeline.model.Pipeline
(the same one the YAML loader builds), and `save` writes the pipeline file. Inputs, outputs and
parameters placed in `arguments` become `{inputs.X}`, `{outputs.Y}`, `{parameters.Z}`.

Modules: ``steps`` (parameters, environments, computes, steps), ``data`` (datasets, inputs,
outputs), ``pipeline`` (Pipeline), ``build`` (these objects -> the model) and ``run``
(``submit``: a background run with the seed's PipelineRun surface). A front end: it may import
every other layer of the engine.
"""

from engine.api.data import (
    Dataset,
    DatasetConsumptionConfig,
    HDFSOutputDatasetConfig,
    OutputFileDatasetConfig,
    OutputInputConfig,
)
from engine.api.pipeline import Pipeline
from engine.api.steps import (
    CondaDependencies,
    CpuPool,
    Environment,
    PipelineParameter,
    RunConfiguration,
    ScriptStep,
    SparkCompute,
    SparkStep,
)

__all__ = [
    "CondaDependencies",
    "CpuPool",
    "Dataset",
    "DatasetConsumptionConfig",
    "Environment",
    "HDFSOutputDatasetConfig",
    "OutputFileDatasetConfig",
    "OutputInputConfig",
    "Pipeline",
    "PipelineParameter",
    "RunConfiguration",
    "ScriptStep",
    "SparkCompute",
    "SparkStep",
]
