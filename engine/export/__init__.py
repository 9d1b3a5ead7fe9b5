"""Exports: the same pipeline as files that production schedulers read.

`export(pipeline, target, out_dir, ...)` writes an Azure ML v2 pipeline job (azureml), an
Airflow DAG (airflow) or a POSIX sh script (shell) and returns an ExportResult listing the
files written and, as warnings, everything the target cannot express.
`import_azureml(path)` reads an Azure ML v2 pipeline job back into a Pipeline.
"""

from __future__ import annotations

import os

from engine.export.common import TARGETS, ExportResult
from engine.pipeline.model import Pipeline

__all__ = ["TARGETS", "ExportResult", "export", "import_azureml"]


def export(
    pipeline: Pipeline,
    target: str,
    out_dir: str | os.PathLike,
    force_rerun: bool = False,
    computes: dict[str, str] | None = None,
) -> ExportResult:
    """Write `pipeline` for `target` into `out_dir` (created when missing).

    computes maps a compute name to what it becomes in the target: an Azure ML compute name
    or INSTANCE_TYPE@RUNTIME, an Airflow Spark connection id, a spark-submit master.
    force_rerun applies to Azure ML (settings.force_rerun); the others always run every step.
    """
    if target == "azureml":
        from engine.export.azureml import export_azureml

        return export_azureml(pipeline, out_dir, force_rerun=force_rerun, computes=computes)
    if target == "airflow":
        from engine.export.airflow import export_airflow

        return export_airflow(pipeline, out_dir, computes=computes)
    if target == "shell":
        from engine.export.shell import export_shell

        return export_shell(pipeline, out_dir, computes=computes)
    raise ValueError(f"unknown export target {target!r} (known: {', '.join(TARGETS)})")


def import_azureml(path: str | os.PathLike, **kwargs) -> Pipeline:
    from engine.export.azureml_import import import_azureml as read

    return read(path, **kwargs)
